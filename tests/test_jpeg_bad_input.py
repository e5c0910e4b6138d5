"""JPEG files of every coding the standard allows, and broken ones: analysed, or refused with a message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics_core.detectors import get_detector
from forensics_core.errors import EvidenceError, ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.features.jpeg import read_luma_coefficients
from tests.jpeg_fixtures import textured_photo

JPEG_DETECTORS = ("ela", "jpeg-ghost", "double-jpeg", "jpeg-grid")


def _pil(tmp_path: Path, name: str, mode: str = "RGB", **options) -> Path:
    path = tmp_path / f"{name}.jpg"
    Image.fromarray(textured_photo(11, 96, 128)).convert(mode).save(path, "JPEG", quality=80, **options)
    return path


def _restart_markers(tmp_path: Path) -> Path:
    import cv2

    path = tmp_path / "restart.jpg"
    bgr = cv2.cvtColor(textured_photo(11, 96, 128), cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 80, cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
    assert b"\xff\xd0" in path.read_bytes()  # an RST0 marker
    return path


def _arithmetic(tmp_path: Path) -> Path:
    import jpeglib

    path = tmp_path / "arithmetic.jpg"
    with jpeglib.version("turbo210"):
        jpeglib.from_spatial(textured_photo(11, 96, 128)).write_spatial(str(path), qt=80, flags=["+ARITH_CODE"])
    assert b"\xff\xc9" in path.read_bytes()  # SOF9: extended sequential, arithmetic coding
    return path


MAKERS = {
    "baseline 4:2:0": lambda p: _pil(p, "s420", subsampling=2),
    "baseline 4:4:4": lambda p: _pil(p, "s444", subsampling=0),
    "progressive": lambda p: _pil(p, "progressive", progressive=True),
    "greyscale": lambda p: _pil(p, "grey", mode="L"),
    "restart markers": _restart_markers,
    "arithmetic coding": _arithmetic,
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
@pytest.mark.parametrize("detector_id", JPEG_DETECTORS)
def test_every_jpeg_coding_is_analysed(tmp_path, kind, detector_id):
    evidence = load_evidence(MAKERS[kind](tmp_path))
    result = get_detector(detector_id).run(evidence)
    assert result.heatmap.shape == (96, 128) and np.isfinite(result.score)


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_coefficients_are_read_from_every_coding(tmp_path, kind):
    luma = read_luma_coefficients(MAKERS[kind](tmp_path))
    assert luma.coefficients.shape[:2] == (12, 16) and luma.quant_table[0, 0] == 6  # IJG quality 80


@pytest.mark.parametrize("detector_id", JPEG_DETECTORS)
def test_cmyk_jpeg_is_analysed_or_refused_clearly(tmp_path, detector_id):
    evidence = load_evidence(_pil(tmp_path, "cmyk", mode="CMYK"))
    try:
        result = get_detector(detector_id).run(evidence)
    except ForensicsError as exc:
        assert detector_id == "double-jpeg" and "CMYK" in str(exc) and "luminance" in str(exc)
    else:
        assert result.heatmap.shape == (96, 128)


def test_truncated_scan_is_refused_with_a_message(tmp_path):
    whole = _pil(tmp_path, "whole").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(EvidenceError, match="truncated"):
        load_evidence(cut)
    with pytest.raises(EvidenceError, match="truncated"):
        read_luma_coefficients(cut)


def test_garbage_after_the_header_is_refused_with_a_message(tmp_path):
    path = tmp_path / "garbage.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + np.random.default_rng(0).bytes(4000) + b"\xff\xda\xff\xd9")
    with pytest.raises(EvidenceError, match="cannot be decoded"):
        read_luma_coefficients(path)


def test_not_a_jpeg_and_missing_file_are_refused(tmp_path):
    png = tmp_path / "x.png"
    Image.fromarray(textured_photo(1, 32, 32)).save(png)
    with pytest.raises(EvidenceError, match="not a JPEG"):
        read_luma_coefficients(png)
    with pytest.raises(EvidenceError, match="Cannot read"):
        read_luma_coefficients(tmp_path / "missing.jpg")


@pytest.mark.parametrize("detector_id", JPEG_DETECTORS)
def test_tiny_and_sixteen_bit_pictures(tmp_path, detector_id):
    tiny = tmp_path / "tiny.png"
    Image.fromarray(textured_photo(2, 9, 13)).save(tiny)
    deep = tmp_path / "deep.png"
    import cv2

    assert cv2.imwrite(str(deep), textured_photo(3, 64, 72).astype(np.uint16) * 257)
    for path in (tiny, deep):
        evidence = load_evidence(path)
        if detector_id == "double-jpeg":
            with pytest.raises(EvidenceError, match="JPEG"):
                get_detector(detector_id).run(evidence)
        else:
            result = get_detector(detector_id).run(evidence)
            assert result.heatmap.shape == (evidence.height, evidence.width)


def test_cancel_stops_every_jpeg_detector(tmp_path):
    from forensics_core.errors import Cancelled

    evidence = load_evidence(_pil(tmp_path, "base"))
    for detector_id in JPEG_DETECTORS:
        with pytest.raises(Cancelled):
            get_detector(detector_id).run(evidence, cancel=lambda: True)


@pytest.mark.parametrize("size", [(8, 8), (17, 23), (40, 64)])
def test_double_jpeg_reports_nothing_for_pictures_too_small_to_model(tmp_path, size):
    """Fewer than 64 blocks: no histogram to model (an 8x8 picture once crashed the calibration)."""
    from forensics_core.synth.jpeg_splices import compress_on_grid
    from tests.jpeg_fixtures import write_jpeg

    picture = np.ascontiguousarray(compress_on_grid(textured_photo(0, 64, 64), 60, (3, 5))[: size[0], : size[1]])
    evidence = load_evidence(write_jpeg(tmp_path / "tiny.jpg", picture, 95))
    for mode in ("auto", "aligned", "non-aligned"):
        result = get_detector("double-jpeg").run(evidence, {"mode": mode})
        assert result.extra["model"] is None and "fewer than 64" in result.extra["note"]
        assert result.heatmap.shape == size and not result.mask.any()
