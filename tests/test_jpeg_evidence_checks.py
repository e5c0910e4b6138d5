"""The evidence panel's JPEG checks: table family, IJG scaling, editing-software warning."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forensics_core.evidence import load_evidence
from forensics_core.evidence.jpeg import (
    IJG_LUMINANCE,
    editing_software_warnings,
    ijg_luminance_quality,
    scaled_table,
    table_family,
)
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
