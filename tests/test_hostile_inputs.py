"""Hostile evidence files: data that ends early, bombs under the pixel limit, absurd shapes,
more data than declared, missing optional codecs (issue 22, items 1, 2 and 7)."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics_core.errors import EvidenceError
from forensics_core.evidence import load_evidence
from tests.evidence_fixtures import jpeg_bytes, noise_rgb, smooth_rgb


def _png_bytes(array: np.ndarray, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **params)
    return buffer.getvalue()


def _with_png_height(data: bytes, height: int) -> bytes:
    """The PNG with its IHDR height changed and the IHDR CRC recomputed (so that it is valid)."""
    out = bytearray(data)
    struct.pack_into(">I", out, 20, height)
    struct.pack_into(">I", out, 29, zlib.crc32(bytes(out[12:29])))
    return bytes(out)


def _with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    out = bytearray(data)
    sof = out.find(b"\xff\xc0")
    struct.pack_into(">HH", out, sof + 5, height, width)
    return bytes(out)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---- item 1: data that ends early is refused, saying how many rows are missing ---------------
def test_png_with_enlarged_height_and_fixed_crc_is_refused(tmp_path: Path) -> None:
    data = _with_png_height(_png_bytes(noise_rgb(96, 128)), 960)
    with pytest.raises(EvidenceError, match="864 of its 960 rows are missing from the file"):
        load_evidence(_write(tmp_path, "tall.png", data))


def test_interlaced_png_with_enlarged_height_is_refused(tmp_path: Path) -> None:
    data = _with_png_height(_png_bytes(noise_rgb(96, 128), interlace=1), 400)
    with pytest.raises(EvidenceError, match="rows are missing"):
        load_evidence(_write(tmp_path, "tall.png", data))


def test_jpeg_with_enlarged_size_field_is_refused(tmp_path: Path) -> None:
    data = _with_jpeg_size(jpeg_bytes(noise_rgb(96, 128), quality=90), 1280, 960)
    with pytest.raises(EvidenceError, match=r"(\d+) of its 960 rows are missing") as info:
        load_evidence(_write(tmp_path, "big.jpg", data))
    missing = int(str(info.value).split(":")[1].split()[0])
    assert 860 <= missing <= 960  # at most 96 rows' worth of data is in the file


def test_progressive_jpeg_with_enlarged_size_field_is_refused(tmp_path: Path) -> None:
    data = bytearray(jpeg_bytes(noise_rgb(96, 128), quality=90, progressive=True))
    sof = data.find(b"\xff\xc2")
    struct.pack_into(">H", data, sof + 5, 500)
    with pytest.raises(EvidenceError, match="of its 500 rows are missing"):
        load_evidence(_write(tmp_path, "big.jpg", bytes(data)))


def test_gif_whose_data_ends_early_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(64, 64)).quantize(64).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    descriptor = data.rfind(b"\x2c\x00\x00\x00\x00")  # image descriptor at (0, 0)
    struct.pack_into("<H", data, 8, 200)  # logical screen height
    struct.pack_into("<H", data, descriptor + 7, 200)  # image height
    with pytest.raises(EvidenceError, match="rows are missing|truncated"):
        load_evidence(_write(tmp_path, "tall.gif", bytes(data)))


def test_complete_pictures_still_load(tmp_path: Path) -> None:
    """The checks must not refuse good files, including flat mid-grey and black pictures."""
    grey = np.full((64, 80, 3), 128, np.uint8)
    black = np.zeros((64, 80, 3), np.uint8)
    files = {
        "grey.jpg": jpeg_bytes(grey, quality=90),
        "grey-progressive.jpg": jpeg_bytes(grey, quality=90, progressive=True),
        "black.png": _png_bytes(black),
        "black-interlaced.png": _png_bytes(black, interlace=1),
        "noise.png": _png_bytes(noise_rgb(64, 80)),
    }
    buffer = io.BytesIO()
    Image.fromarray(black).quantize(4).save(buffer, "GIF")
    files["black.gif"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(black).convert("1").save(buffer, "BMP")
    files["black-1bit.bmp"] = buffer.getvalue()
    for name, data in files.items():
        evidence = load_evidence(_write(tmp_path, name, data))
        assert (evidence.height, evidence.width) == (64, 80), name
        assert not any("missing" in note for note in evidence.notes), name


# ---- more data than the header declares: loaded, with a note --------------------------------
def test_png_with_reduced_height_loads_with_a_note(tmp_path: Path) -> None:
    data = _with_png_height(_png_bytes(noise_rgb(96, 128)), 50)
    evidence = load_evidence(_write(tmp_path, "short.png", data))
    assert evidence.height == 50
    assert any("more than its header" in note or "more image data" in note for note in evidence.notes)


def test_bmp_with_reduced_height_loads_with_a_note(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(48, 64)).save(buffer, "BMP")
    data = bytearray(buffer.getvalue())
    struct.pack_into("<i", data, 22, 20)
    evidence = load_evidence(_write(tmp_path, "short.bmp", bytes(data)))
    assert evidence.height == 20
    assert any("bytes of image data more than" in note for note in evidence.notes)


def test_jpeg_with_reduced_height_loads_with_the_decoders_complaint(tmp_path: Path) -> None:
    data = _with_jpeg_size(jpeg_bytes(noise_rgb(96, 128), quality=90), 128, 40)
    evidence = load_evidence(_write(tmp_path, "short.jpg", data))
    assert evidence.height == 40
    assert any("extraneous bytes" in note for note in evidence.notes)


# ---- item 2: bombs under the pixel limit are refused before decoding ---------------------------
@pytest.mark.parametrize("width, height", [(14000, 14000), (20000, 9999)])
def test_small_jpeg_declaring_a_huge_picture_is_refused_before_decoding(tmp_path: Path, width: int,
                                                                        height: int) -> None:
    data = _with_jpeg_size(jpeg_bytes(smooth_rgb(32, 32), quality=50), width, height)
    assert len(data) < 4096 and width * height < 200_000_000
    started = time.perf_counter()
    with pytest.raises(EvidenceError, match="need at least"):
        load_evidence(_write(tmp_path, "bomb.jpg", data))
    assert time.perf_counter() - started < 5  # no 200-megapixel decode happened


def test_gif_declaring_a_huge_picture_is_refused_before_decoding(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(48, 64)).quantize(64).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    struct.pack_into("<HH", data, 6, 23822, 6244)
    descriptor = data.rfind(b"\x2c\x00\x00\x00\x00")
    struct.pack_into("<HH", data, descriptor + 5, 23822, 6244)
    with pytest.raises(EvidenceError, match="need at least"):
        load_evidence(_write(tmp_path, "bomb.gif", bytes(data)))


def test_one_row_strip_is_refused_as_an_absurd_shape(tmp_path: Path) -> None:
    from tests.evidence_fixtures import png_with_header

    data = png_with_header(67_108_865, 1)
    with pytest.raises(EvidenceError, match="aspect ratio of 67,108,865:1"):
        load_evidence(_write(tmp_path, "strip.png", data))


def test_zlib_bomb_png_loads_with_a_compression_note(tmp_path: Path) -> None:
    """Complete data that expands a thousandfold is a valid (blank) picture: loaded, flagged."""
    data = _png_bytes(np.zeros((1500, 1500, 3), np.uint8))
    assert len(data) < 20_000
    evidence = load_evidence(_write(tmp_path, "blank.png", data))
    assert evidence.height == 1500
    assert any("times smaller than its decoded pixels" in note for note in evidence.notes)


def test_unusual_but_plausible_shape_is_noted(tmp_path: Path) -> None:
    evidence = load_evidence(_write(tmp_path, "pano.png", _png_bytes(noise_rgb(8, 400))))
    assert any("aspect ratio 50:1" in note for note in evidence.notes)


# ---- item 7: a missing optional codec is named, not reported as damage --------------------------
def test_missing_optional_codec_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, noise_rgb(32, 40, dtype=np.uint16), photometric="rgb")
    path = _write(tmp_path, "sixteen.tif", buffer.getvalue())

    def needs_imagecodecs(*_args: object, **_kwargs: object) -> np.ndarray:
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", needs_imagecodecs)
    with pytest.raises(EvidenceError) as info:
        load_evidence(path)
    message = str(info.value)
    assert "'imagecodecs'" in message and "pip install imagecodecs" in message
    assert "COMPRESSION.LZW" in message
    assert "corrupt" not in message and "truncated" not in message


def _tiff_with_length(data: bytes, length: int) -> bytes:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        offset = tif.pages[0].tags[257].valueoffset
        kind = tif.pages[0].tags[257].dtype
    out = bytearray(data)
    struct.pack_into("<H" if kind == 3 else "<I", out, offset, length)
    return bytes(out)


def test_tiff_with_enlarged_length_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(48, 64)).save(buffer, "TIFF")
    with pytest.raises(EvidenceError, match="48 of its 96 rows are missing"):
        load_evidence(_write(tmp_path, "tall.tif", _tiff_with_length(buffer.getvalue(), 96)))


def test_dng_with_reduced_length_loads_with_a_note(tmp_path: Path) -> None:
    from tests.evidence_fixtures import write_dng

    data = _tiff_with_length(write_dng(tmp_path / "seed.dng", 48, 64).read_bytes(), 24)
    evidence = load_evidence(_write(tmp_path, "short.dng", data))
    assert evidence.height == 24
    assert any("bytes of image data more than" in note for note in evidence.notes)


def test_gif_frame_smaller_than_its_canvas_is_noted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(48, 64)).quantize(64).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    descriptor = data.rfind(b"\x2c\x00\x00\x00\x00")
    struct.pack_into("<H", data, descriptor + 1, 16)  # the frame starts 16 pixels to the right
    evidence = load_evidence(_write(tmp_path, "shifted.gif", bytes(data)))
    assert evidence.width == 80
    assert any("not image data" in note for note in evidence.notes)


def test_gif_canvas_larger_than_its_frame_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(48, 64)).quantize(64).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    struct.pack_into("<HH", data, 6, 80, 48)  # canvas wider than the frame: 16 columns never drawn
    with pytest.raises(EvidenceError, match="48 of its 48 rows are missing from the file or incomplete"):
        load_evidence(_write(tmp_path, "wide.gif", bytes(data)))
