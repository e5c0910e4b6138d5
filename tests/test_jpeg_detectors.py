"""Known-answer tests of the training-free JPEG detectors on splices constructed from scratch.

Every case: a picture compressed at q1, a region pasted from another picture (uncompressed,
or compressed on a shifted 8x8 grid), saved at q2. Pixel AUC >= 0.9 is the issue's bar.
"""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core.detectors import get_detector
from forensics_core.errors import EvidenceError
from forensics_core.evidence import load_evidence
from forensics_core.map_series import map_series
from forensics_core.metrics import pixel_auc
from forensics_core.synth.jpeg_splices import compress_on_grid
from tests.jpeg_fixtures import region_mask, splice, textured_photo, write_jpeg, write_png

ALIGNED = {"q1": 70, "donor_quality": None}
SHIFTED = {"q1": 70, "donor_quality": 75, "donor_shift": (5, 3)}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """The constructed evidence files and their masks."""
    folder = tmp_path_factory.mktemp("jpeg_cases")
    made = {}
    for name, recipe, q2 in (("aligned", ALIGNED, 90), ("shifted", SHIFTED, 90), ("aligned_q95", {"q1": 60}, 95),
                             ("shifted_q98", SHIFTED, 98)):
        picture, mask = splice(**recipe)
        made[name] = (load_evidence(write_jpeg(folder / f"{name}.jpg", picture, q2)), mask)
    picture, mask = splice(q1=80, donor_quality=75, donor_shift=(5, 3))
    made["shifted_png"] = (load_evidence(write_png(folder / "shifted.png", picture)), mask)
    picture, mask = splice(q1=75)
    made["aligned_png"] = (load_evidence(write_png(folder / "aligned.png", picture)), mask)
    picture, mask = splice(q1=90, donor_quality=60)
    made["ghost"] = (load_evidence(write_jpeg(folder / "ghost.jpg", picture, 90)), mask)
    for quality in (60, 80, 95):
        made[f"single_{quality}"] = (load_evidence(write_jpeg(folder / f"single_{quality}.jpg",
                                                              textured_photo(7), quality)), None)
    return made


@pytest.mark.parametrize("case", ["aligned", "shifted", "aligned_q95", "shifted_q98"])
def test_double_jpeg_localises_the_pasted_region(cases, case):
    evidence, mask = cases[case]
    result = get_detector("double-jpeg").run(evidence)
    assert pixel_auc(result.heatmap, mask) >= 0.9
    assert (result.mask & mask).sum() > 0.6 * mask.sum()


@pytest.mark.parametrize("case", ["shifted_q98", "shifted_png"])
def test_jpeg_grid_localises_the_paste_with_a_shifted_grid(cases, case):
    """ZERO sees the donor's grid when the last save keeps it: quality 98, or lossless.

    (After a save at quality 90 the last grid covers the donor's, and an aligned paste has the
    main grid by construction; the detector's limitations say so.)
    """
    evidence, mask = cases[case]
    result = get_detector("jpeg-grid").run(evidence)
    assert pixel_auc(result.heatmap, mask) >= 0.9
    assert result.extra["regions"] and result.score > 0.9


@pytest.mark.parametrize(("q1", "q2"), [(60, 90), (75, 98)])
def test_double_jpeg_localises_a_paste_into_a_picture_first_compressed_on_a_shifted_grid(tmp_path, q1, q2):
    """Bianchi & Piva 2012's case: the background was compressed on a grid at (3, 5), cropped, pasted into, saved.

    The file's own coefficients show no double quantisation (aligned model: nothing); the
    non-aligned model finds the first grid, its DC step and the pasted region.
    """
    picture, mask = splice(q1, first_grid=(3, 5))
    evidence = load_evidence(write_jpeg(tmp_path / "cropped_splice.jpg", picture, q2))
    result = get_detector("double-jpeg").run(evidence)
    assert result.extra["model"] == "non-aligned" and result.extra["first_grid"] == {"rows": 3, "columns": 5}
    assert result.extra["nonaligned_evidence_per_1000"] > 10 * max(result.extra["aligned_evidence_per_1000"], 1.0)
    first_steps = {tuple(f["frequency"]): f["q1"] for f in result.extra["double_quantised_frequencies"]}
    # IJG scaling of the DC step 16: 60 -> 80 % -> 13; 75 -> 50 % -> 8.
    assert first_steps[(0, 0)] == {60: 13, 75: 8}[q1]
    assert pixel_auc(result.heatmap, mask) >= 0.9
    assert (result.heatmap[mask] > 0.5).mean() > 0.8 and (result.heatmap[~mask] < 0.5).mean() > 0.6
    aligned_only = get_detector("double-jpeg").run(evidence, {"mode": "aligned"})
    assert aligned_only.extra["model"] is None and aligned_only.score == 0.0


@pytest.mark.parametrize(("q1", "q2"), [(90, 70), (90, 90)])
def test_double_jpeg_is_blind_when_the_last_quality_is_not_above_the_first(tmp_path, q1, q2):
    """No model of this family sees these: the last quantisation is as coarse as the first and erases it."""
    for first_grid in ((0, 0), (3, 5)):
        picture, _ = splice(q1, first_grid=first_grid)
        result = get_detector("double-jpeg").run(load_evidence(write_jpeg(tmp_path / "late.jpg", picture, q2)))
        assert result.extra["model"] is None and result.score == 0.0


def test_double_jpeg_recovers_the_first_quantisation_step(cases):
    result = get_detector("double-jpeg").run(cases["aligned"][0])
    frequencies = result.extra["double_quantised_frequencies"]
    assert len(frequencies) >= 5
    # q1 = 70 scales the IJG luminance table by 60 %: (0, 1) has 11 * 0.6 = 7 (rounded), (1, 0) has 12 * 0.6 = 7.
    first_steps = {tuple(f["frequency"]): f["q1"] for f in frequencies}
    assert first_steps.get((0, 1)) == 7 and first_steps.get((1, 0)) == 7
    assert result.score > 0.9 and result.extra["model"] == "aligned"


@pytest.mark.parametrize("quality", [60, 80, 95])
def test_single_compressed_picture_shows_no_double_quantisation_and_no_zero_detection(cases, quality):
    evidence, _ = cases[f"single_{quality}"]
    double = get_detector("double-jpeg").run(evidence)
    assert double.score == 0.0 and not double.mask.any()
    grid = get_detector("jpeg-grid").run(evidence)
    assert grid.extra["regions"] == [] and grid.score == 0.0 and not grid.mask.any()
    assert grid.extra["main_grid"]["x"] == 0 and grid.extra["main_grid"]["y"] == 0


def test_zero_detects_the_shifted_grid_of_a_paste_in_a_png(cases):
    evidence, mask = cases["shifted_png"]
    result = get_detector("jpeg-grid").run(evidence)
    assert result.extra["main_grid"] == {"x": 0, "y": 0, "log10_nfa": result.extra["main_grid"]["log10_nfa"]}
    assert len(result.extra["regions"]) >= 1
    region = min(result.extra["regions"], key=lambda r: r["log10_nfa"])
    # Donor grid origin at row 5, column 3.
    assert (region["grid_x"], region["grid_y"]) == (3, 5) and region["log10_nfa"] < -10
    assert result.score > 0.9
    assert pixel_auc(result.heatmap, mask) >= 0.95
    assert (result.mask & mask).sum() > 0.7 * mask.sum() and (result.mask & ~mask).sum() < 0.1 * mask.sum()


@pytest.mark.parametrize("shift", [(0, 0), (3, 6), (7, 1)])
def test_zero_main_grid_is_the_compression_grid(tmp_path, shift):
    picture = compress_on_grid(textured_photo(3, 256, 320), 85, shift)
    result = get_detector("jpeg-grid").run(load_evidence(write_png(tmp_path / "cropped.png", picture)))
    assert (result.extra["main_grid"]["y"], result.extra["main_grid"]["x"]) == shift
    assert result.extra["main_grid"]["log10_nfa"] < -100


def test_zero_finds_no_grid_in_a_never_compressed_picture(tmp_path):
    result = get_detector("jpeg-grid").run(load_evidence(write_png(tmp_path / "raw.png", textured_photo(4, 256, 320))))
    assert result.extra["main_grid"] is None and result.score == 0.0


def test_jpeg_ghost_finds_the_region_saved_at_a_lower_quality(cases):
    evidence, mask = cases["ghost"]
    result = get_detector("jpeg-ghost").run(evidence)
    assert pixel_auc(result.heatmap, mask) >= 0.9
    assert 55 <= result.extra["best_quality"] <= 65
    series = map_series(result.extra, result.extra_maps)
    assert series is not None and series.values[series.selected] == str(result.extra["best_quality"])
    assert list(series.values) == [str(q) for q in range(50, 96, 5)]
    np.testing.assert_array_equal(result.heatmap, np.clip(result.extra_maps[series.names[series.selected]], 0, 1))


def test_ela_is_the_scaled_difference_to_a_resave(cases):
    from forensics_core.features.jpeg import recompress

    evidence = cases["aligned"][0]
    result = get_detector("ela").run(evidence, {"scale": 10})
    assert result.extra["resave_quality"] == 90  # the evidence's own estimated quality
    expected = np.abs(evidence.pixels.astype(np.float32) - recompress(np.asarray(evidence.pixels), 90)).mean(axis=2)
    np.testing.assert_allclose(result.heatmap, np.clip(expected * 10 / 255, 0, 1), atol=1e-6)


def test_ela_lights_up_a_never_compressed_paste_at_the_background_quality(cases):
    """Krawetz's case: the background was saved at 75, the pasted region never; re-saving at 75 separates them."""
    evidence, mask = cases["aligned_png"]
    assert get_detector("ela").run(evidence).extra["resave_quality"] == 90  # not a JPEG: the fallback
    result = get_detector("ela").run(evidence, {"quality": 75})
    assert pixel_auc(result.heatmap, mask) >= 0.9


def test_double_jpeg_refuses_a_png(cases):
    with pytest.raises(EvidenceError, match="JPEG"):
        get_detector("double-jpeg").run(cases["shifted_png"][0])


@pytest.mark.parametrize("detector_id", ["ela", "jpeg-ghost", "double-jpeg", "jpeg-grid"])
def test_scores_vary_with_the_evidence_and_maps_are_in_range(cases, detector_id):
    detector = get_detector(detector_id)
    scores = set()
    for name in ("aligned", "shifted_q98", "ghost", "single_80"):
        result = detector.run(cases[name][0])
        assert result.heatmap.shape == region_mask((384, 480)).shape
        assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0 and 0.0 <= result.score <= 1.0
        scores.add(round(result.score, 6))
    assert len(scores) >= 2
    assert detector.limitations and detector.reference and "What it shows" in detector.description


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("quality", [60, 75, 90, 98])
def test_single_compressed_photographs_give_no_detection(tmp_path, quality):
    """Real never-compressed photographs saved once: no ZERO region at NFA < 1, no double quantisation."""
    from forensics_core.synth.data import find_data_root, load_photo, photo_split
    from forensics_core.synth.jpeg_splices import encode_jpeg

    if find_data_root() is None:
        pytest.skip("shared data not found: set TAMPER_DATA_DIR or put it at ../shared/data beside the checkout")
    for photo in photo_split(include_large=False).val[::6]:
        path = tmp_path / f"{photo.stem}_{quality}.jpg"
        path.write_bytes(encode_jpeg(load_photo(photo), quality))
        evidence = load_evidence(path)
        assert get_detector("jpeg-grid").run(evidence).extra["regions"] == []
        assert get_detector("double-jpeg").run(evidence).score == 0.0


def test_zero_finds_the_missing_grid_of_an_aligned_paste_saved_losslessly(cases):
    """ZERO's missing-grid pass: the background keeps its q1 = 75 grid, the never-compressed paste has none.

    (Saved as JPEG instead, the last save would give the paste the main grid: no method counting
    DCT zeros can see an aligned paste then; the detector's limitations say so.)
    """
    evidence, mask = cases["aligned_png"]
    result = get_detector("jpeg-grid").run(evidence, {"missing_grid": True})
    assert result.extra["main_grid"]["x"] == 0 and result.extra["main_grid"]["y"] == 0
    assert result.extra["regions"] == [] and len(result.extra["missing_grid_regions"]) == 1
    region = result.extra["missing_grid_regions"][0]
    assert region["log10_nfa"] < -3 and result.score > 0.75
    assert pixel_auc(result.heatmap, mask) >= 0.9
    assert (result.mask & mask).sum() > 0.6 * mask.sum()
    by_default = get_detector("jpeg-grid").run(evidence)  # the pass is off by default
    assert not by_default.extra["missing_grid_searched"] and by_default.score == 0.0


def test_zero_finds_no_missing_grid_in_a_compressed_picture_saved_losslessly(tmp_path):
    picture = compress_on_grid(textured_photo(5), 75, (0, 0))
    result = get_detector("jpeg-grid").run(load_evidence(write_png(tmp_path / "once.png", picture)),
                                           {"missing_grid": True})
    assert result.extra["missing_grid_searched"] and result.extra["missing_grid_regions"] == []
    assert result.score == 0.0 and not result.mask.any()


def test_zero_finds_the_missing_grid_of_a_paste_into_a_cropped_jpeg_saved_losslessly(tmp_path):
    """Main grid (3, 5) from a crop; the never-compressed paste has no grid: a missing-grid region, no foreign one."""
    picture, mask = splice(60, first_grid=(3, 5))
    evidence = load_evidence(write_png(tmp_path / "cropped_paste.png", picture))
    result = get_detector("jpeg-grid").run(evidence, {"missing_grid": True})
    assert (result.extra["main_grid"]["y"], result.extra["main_grid"]["x"]) == (3, 5)
    assert result.extra["regions"] == [] and len(result.extra["missing_grid_regions"]) == 1
    assert result.extra["missing_grid_regions"][0]["log10_nfa"] < -8
    assert pixel_auc(result.heatmap, mask) >= 0.95
    assert (result.mask & mask).sum() > 0.5 * mask.sum() and (result.mask & ~mask).sum() < 0.2 * mask.sum()
