"""The evidence panel's JPEG checks: table family, IJG scaling, editing-software warning."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, JpegPresets

from forensics_core.evidence import load_evidence
from forensics_core.evidence.jpeg import (
    IJG_LUMINANCE,
    editing_software_warnings,
    ijg_luminance_quality,
    scaled_table,
    table_family,
)
from forensics_core.evidence.jpeg_tables import compare_tables, matches, matching_sets, photoshop_presets
from forensics_core.evidence.model import JpegInfo


def _info(tables, quality, standard):
    return JpegInfo(quant_tables=tables, quality=quality, standard_tables=standard, subsampling="4:2:0",
                    progressive=False)


def test_ijg_scaled_file_is_named_with_its_quality(tmp_path):
    path = tmp_path / "q83.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path, quality=83)
    family = table_family(load_evidence(path).jpeg)
    assert family.startswith("standard IJG (libjpeg) tables scaled for quality 83")


def test_luminance_only_custom_flat_and_unlike_tables():
    luma = scaled_table(IJG_LUMINANCE, 70)
    assert ijg_luminance_quality(luma) == 70
    assert "luminance table = IJG quality 70" in table_family(_info({0: luma, 1: (3,) * 64}, 72.0, False))
    assert table_family(_info({0: (2,) * 64}, None, False)).startswith("flat tables (every luminance step is 2)")
    custom = tuple(int(v) + (i % 3) for i, v in enumerate(scaled_table(IJG_LUMINANCE, 90)))
    assert table_family(_info({0: custom}, 88.4, False)).startswith("custom tables, not IJG-scaled (closest IJG "
                                                                   "quality about 88)")
    assert table_family(_info({0: tuple(range(1, 65))}, None, False)).startswith("custom tables unlike")


@pytest.mark.parametrize("key, value, warned", [
    ("EXIF:Software", "Adobe Photoshop 24.1 (Windows)", True),
    ("XMP:xmp:CreatorTool", "GIMP 2.10", True),
    ("EXIF:Software", "Ver.1.00", False),
    ("EXIF:Make", "Adobe Photoshop", False),  # not a software field
])
def test_editing_software_warning(key, value, warned):
    warnings = editing_software_warnings([(key, value)])
    assert bool(warnings) is warned
    if warned:
        assert warnings[0].startswith("WARNING:") and value in warnings[0]


def test_evidence_panel_shows_family_and_warning(qtbot, tmp_path):
    from app.evidence_panel import EvidencePanel

    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 24.1 (Windows)"
    path = tmp_path / "edited.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path, quality=80, exif=exif.tobytes())
    panel = EvidencePanel()
    qtbot.addWidget(panel)
    panel.show_evidence(load_evidence(path))
    assert "quality 80" in panel.checks.text() and "Adobe Photoshop" in panel.checks.text()
    panel.show_evidence(None)
    assert panel.checks.text() == ""


# ---- known table sets (Photoshop presets) and the comparison with a reference file ------------


def _save(path, **options):
    picture = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(picture).save(path, "JPEG", **options)
    return path


@pytest.mark.parametrize("preset", sorted(JpegPresets.presets))
def test_photoshop_preset_files_are_named(tmp_path, preset):
    family = table_family(load_evidence(_save(tmp_path / "p.jpg", quality=preset)).jpeg)
    assert f"Adobe Photoshop setting '{preset}'" in family
    assert sum(s.name.endswith(f"'{preset}'") for s in photoshop_presets()) == 1


def test_ijg_file_is_not_called_photoshop(tmp_path):
    family = table_family(load_evidence(_save(tmp_path / "q80.jpg", quality=80)).jpeg)
    assert "Photoshop" not in family


def test_matches_needs_luminance_and_every_chroma_table():
    preset = photoshop_presets()[0]
    luma, chroma = preset.tables[0], preset.tables[1]
    assert matches({0: luma, 1: chroma, 2: chroma}, preset)
    assert matches({0: luma}, preset)  # greyscale
    assert not matches({0: luma, 1: luma}, preset)
    assert not matches({1: chroma}, preset)
    assert matching_sets({0: luma, 1: chroma}) == [preset]


def test_compare_tables_counts_differing_steps():
    base = scaled_table(IJG_LUMINANCE, 90)
    changed = list(base)
    changed[0] += 3
    changed[63] -= 1
    same = compare_tables({0: base, 1: base}, {0: base, 1: base})
    assert same.identical and same.sentence().startswith("identical quantisation tables")
    differ = compare_tables({0: tuple(changed), 1: base}, {0: base, 1: base})
    assert not differ.identical
    assert differ.differing_steps == {0: 2, 1: 0} and differ.largest_difference == 3
    assert "table 0: 2 of 64 steps differ" in differ.sentence() and "table 1" not in differ.sentence()
    grey = compare_tables({0: base}, {0: base, 1: base})
    assert not grey.identical and grey.only_in_reference == (1,) and "only in the reference" in grey.sentence()


def test_tables_command(tmp_path, capsys):
    from forensics_core.cli import main

    evidence = _save(tmp_path / "evidence.jpg", quality="web_high")
    same = _save(tmp_path / "same.jpg", quality="web_high")
    other = _save(tmp_path / "other.jpg", quality=80)
    assert main(["tables", str(evidence), "--reference", str(same), "--reference", str(other)]) == 0
    out = capsys.readouterr().out
    assert load_evidence(evidence).sha256 in out
    assert "against same.jpg" in out and "identical quantisation tables" in out
    assert "against other.jpg" in out and "different quantisation tables" in out
    assert "Adobe Photoshop setting 'web_high'" in out and "Table 0:" in out
    png = tmp_path / "picture.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    assert main(["tables", str(png)]) == 2
    assert main(["tables", str(evidence), "--reference", str(png)]) == 2
    assert "is not a JPEG (PNG)" in capsys.readouterr().err


def test_evidence_panel_compares_with_a_reference(qtbot, tmp_path):
    from app.evidence_panel import EvidencePanel

    panel = EvidencePanel()
    qtbot.addWidget(panel)
    panel.show_evidence(load_evidence(_save(tmp_path / "evidence.jpg", quality=80)))
    assert not panel.compare_button.isHidden()
    panel.compare_with_reference(str(_save(tmp_path / "camera.jpg", quality=92)))
    assert "Against camera.jpg" in panel.comparison.text() and "different quantisation tables" in panel.comparison.text()
    panel.compare_with_reference(str(_save(tmp_path / "same.jpg", quality=80)))
    assert "identical quantisation tables" in panel.comparison.text()
    panel.compare_with_reference(str(tmp_path / "missing.jpg"))
    assert "does not exist" in panel.comparison.text()
    png = tmp_path / "picture.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    panel.compare_with_reference(str(png))
    assert "picture.png is not a JPEG (PNG)" in panel.comparison.text()
    panel.show_evidence(None)
    assert panel.comparison.text() == "" and panel.compare_button.isHidden()


def test_report_names_the_table_family_and_editing_software(tmp_path):
    from forensics_core.case.model import CaseInfo
    from forensics_core.report import build_report_html

    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 24.1 (Windows)"
    evidence = load_evidence(_save(tmp_path / "edited.jpg", quality="web_medium", exif=exif.tobytes()))
    html = build_report_html(evidence, [], [], CaseInfo())
    assert "JPEG quantisation tables" in html and "Adobe Photoshop setting &#x27;web_medium&#x27;" in html
    assert "Editing software" in html and "names image-editing software" in html
