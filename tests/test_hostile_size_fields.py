"""Size fields altered so that a file declares fewer (or other) pixels than its data holds: the
picture loads with a note the examiner sees; legitimate files from several writers get no such
note (issue 22, item 1)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from forensics_core.evidence import load_evidence
from forensics_core.synth.data import find_data_root
from tests.evidence_fixtures import noise_rgb, smooth_rgb

# Every note on data beyond the declared size says one of these.
_SIZE_NOTE_MARKS = ("altered", "never read")


def _size_notes(notes: tuple[str, ...]) -> list[str]:
    return [note for note in notes if any(mark in note for mark in _SIZE_NOTE_MARKS)]


def _photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with camera-like noise: what lossy codecs spend their bits on."""
    rng = np.random.default_rng(seed)
    base = smooth_rgb(height, width).astype(np.float32)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _pil(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _cv2(array: np.ndarray, suffix: str, *params: int) -> bytes:
    ok, encoded = cv2.imencode(suffix, array[..., ::-1], list(params))
    assert ok
    return encoded.tobytes()


def _legitimate_files(height: int, width: int) -> dict[str, bytes]:
    """The same picture as written by Pillow, OpenCV and tifffile in the formats the checks cover."""
    rgb = _photo(height, width)
    image = Image.fromarray(rgb)
    bilevel = image.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    files = {f"webp-q{q}.webp": _pil(image, "WEBP", quality=q) for q in (5, 50, 90, 100)}
    files["webp-method0.webp"] = _pil(image, "WEBP", quality=75, method=0)
    files["webp-lossless.webp"] = _pil(image, "WEBP", lossless=True)
    files["webp-opencv.webp"] = _cv2(rgb, ".webp", cv2.IMWRITE_WEBP_QUALITY, 80)
    files["bmp-24.bmp"] = _pil(image, "BMP")
    files["bmp-8-palette.bmp"] = _pil(image.quantize(200), "BMP")
    files["bmp-4-palette.bmp"] = _pil(image.quantize(16), "BMP")
    files["bmp-1.bmp"] = _pil(bilevel, "BMP")
    files["bmp-grey.bmp"] = _pil(image.convert("L"), "BMP")
    files["bmp-opencv.bmp"] = _cv2(rgb, ".bmp")
    files["png-1.png"] = _pil(bilevel, "PNG")
    files["png-2-palette.png"] = _pil(image.quantize(4), "PNG", bits=2)
    files["png-4-palette.png"] = _pil(image.quantize(16), "PNG", bits=4)
    ok, encoded = cv2.imencode(".png", np.asarray(bilevel, np.uint8) * 255, [cv2.IMWRITE_PNG_BILEVEL, 1])
    assert ok
    files["png-opencv-1.png"] = encoded.tobytes()
    for name, params in {"tiff-strips": {"rowsperstrip": 8}, "tiff-deflate": {"rowsperstrip": 5,
                                                                              "compression": "zlib"}}.items():
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, rgb, photometric="rgb", **params)
        files[f"{name}.tif"] = buffer.getvalue()
    files["tiff-pillow.tif"] = _pil(image, "TIFF")
    files["tiff-packbits.tif"] = _pil(image, "TIFF", compression="packbits")
    if _heif_encoder():
        files["heif.heic"] = _pil(image, "HEIF", quality=80)
        files["heif-444.heic"] = _pil(image, "HEIF", quality=50, chroma=444)
    return files


def _heif_encoder() -> bool:
    """True when pillow-heif can write HEIF here (libheif with an HEVC encoder)."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _pil(Image.new("RGB", (16, 16)), "HEIF")
    except Exception:  # noqa: BLE001 - no encoder in this build
        return False
    return True


@pytest.mark.parametrize("height, width", [(48, 64), (37, 53), (121, 97), (16, 17)])
def test_legitimate_files_get_no_size_note(tmp_path: Path, height: int, width: int) -> None:
    for name, data in _legitimate_files(height, width).items():
        path = tmp_path / name
        path.write_bytes(data)
        evidence = load_evidence(path)
        assert (evidence.height, evidence.width) == (height, width), name
        assert not _size_notes(evidence.notes), (name, evidence.notes)


@pytest.mark.slow
def test_shared_photographs_and_their_webp_and_bmp_copies_get_no_size_note(tmp_path: Path) -> None:
    root = find_data_root()
    if root is None:
        pytest.skip("shared data not found: set TAMPER_DATA_DIR or put it at ../shared/data beside the checkout")
    images = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".bmp",
                                                                       ".webp", ".gif"))
    assert images
    for path in images:
        assert not _size_notes(load_evidence(path).notes), path
    for index, path in enumerate(sorted((root / "pristine").rglob("*.png"))[::8]):
        image = Image.open(path).convert("RGB")
        image = image.crop((0, 0, image.width - index % 5, image.height - index % 3))  # odd sizes too
        for name, data in {"copy.webp": _pil(image, "WEBP", quality=40 + 7 * (index % 8)),
                           "copy.bmp": _pil(image, "BMP"),
                           "copy-1bit.png": _pil(image.convert("1"), "PNG")}.items():
            copy = tmp_path / name
            copy.write_bytes(data)
            assert not _size_notes(load_evidence(copy).notes), (path, name)


# ---- altered size fields: loaded with a note ------------------------------------------------
def _vp8_with_size(data: bytes, width: int, height: int) -> bytes:
    """A simple lossy WebP with the VP8 key frame's width and height changed (RFC 6386, 9.1)."""
    out = bytearray(data)
    start = out.find(b"\x9d\x01\x2a")
    struct.pack_into("<HH", out, start + 3, width, height)
    return bytes(out)


@pytest.mark.parametrize("width, height", [(64, 24), (32, 48), (64, 2), (65, 48), (80, 48)])
def test_lossy_webp_with_altered_frame_size_is_noted(tmp_path: Path, width: int, height: int) -> None:
    data = _vp8_with_size(_pil(Image.fromarray(_photo(48, 64)), "WEBP", quality=80), width, height)
    path = tmp_path / "altered.webp"
    path.write_bytes(data)
    evidence = load_evidence(path)
    assert (evidence.width, evidence.height) == (width, height)
    assert any("never read" in note for note in evidence.notes), evidence.notes


def test_lossy_webp_with_data_appended_to_its_frame_is_noted(tmp_path: Path) -> None:
    """Bytes appended inside the VP8 chunk (its size rewritten) are never read by the decoder."""
    data = _pil(Image.fromarray(_photo(48, 64)), "WEBP", quality=80)
    chunk = data.find(b"VP8 ")
    (length,) = struct.unpack_from("<I", data, chunk + 4)
    extra = bytes(range(40))
    body = data[8:chunk + 4] + struct.pack("<I", length + 40) + data[chunk + 8:chunk + 8 + length] + extra
    path = tmp_path / "appended.webp"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert any("never read" in note for note in load_evidence(path).notes)


@pytest.mark.parametrize("mode, colours", [("RGB", 0), ("P", 16)])
def test_bmp_with_reduced_width_is_noted(tmp_path: Path, mode: str, colours: int) -> None:
    image = Image.fromarray(noise_rgb(48, 64))
    data = bytearray(_pil(image.quantize(colours) if mode == "P" else image, "BMP"))
    struct.pack_into("<i", data, 18, 63)  # one column fewer: its pixels now sit in the row padding
    path = tmp_path / "narrow.bmp"
    path.write_bytes(bytes(data))
    evidence = load_evidence(path)
    assert evidence.width == 63
    assert any("rows hold data after the 63 pixels" in note for note in evidence.notes), evidence.notes


def test_bilevel_png_with_reduced_width_is_noted(tmp_path: Path) -> None:
    import zlib

    bilevel = Image.fromarray((noise_rgb(48, 64)[..., 0] > 127).astype(np.uint8) * 255).convert("1")
    data = bytearray(_pil(bilevel, "PNG"))
    struct.pack_into(">I", data, 16, 61)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "narrow.png"
    path.write_bytes(bytes(data))
    evidence = load_evidence(path)
    assert evidence.width == 61
    assert any("rows hold data after the 61 pixels" in note for note in evidence.notes), evidence.notes


def test_tiff_with_reduced_length_lists_strips_it_no_longer_declares(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, noise_rgb(48, 64, dtype=np.uint16), photometric="rgb", rowsperstrip=8)
    data = bytearray(buffer.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        length_tag = tif.pages[0].tags[257]
        struct.pack_into("<H" if length_tag.dtype == 3 else "<I", data, length_tag.valueoffset, 24)
    path = tmp_path / "short.tif"
    path.write_bytes(bytes(data))
    evidence = load_evidence(path)
    assert evidence.height == 24
    assert any("more than its header's 64 x 24 pixels need" in note for note in evidence.notes), evidence.notes


@pytest.mark.parametrize("field, value", [("height", 24), ("width", 32), ("width", 63), ("width", 2)])
def test_heif_clean_aperture_altered_to_hide_part_of_the_picture_is_noted(tmp_path: Path, field: str,
                                                                          value: int) -> None:
    """libheif codes 64 x 48 as 64 x 64 and crops 16 rows with a clean aperture ('clap') anchored at
    the top-left corner; an altered aperture hides part of the coded picture."""
    if not _heif_encoder():
        pytest.skip("no HEIF encoder (pillow-heif with an HEVC encoder) in this build")
    data = bytearray(_pil(Image.fromarray(_photo(48, 64)), "HEIF", quality=80))
    clap = data.find(b"clap") + 4
    offset = {"width": 0, "height": 8}[field]
    assert struct.unpack_from(">I", data, clap + offset)[0] == {"width": 64, "height": 48}[field]
    struct.pack_into(">I", data, clap + offset, value)
    path = tmp_path / "cropped.heic"
    path.write_bytes(bytes(data))
    evidence = load_evidence(path)
    assert {"width": evidence.width, "height": evidence.height}[field] == value
    assert any("clean aperture" in note for note in evidence.notes), evidence.notes
