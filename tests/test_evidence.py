"""Tests of forensics_core.evidence: loading, hashing, formats, colour modes, JPEG facts, metadata,
and the refusal of every kind of bad input with a readable EvidenceError."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile, TiffImagePlugin

from forensics_core.errors import EvidenceError
from forensics_core.evidence import (
    DEFAULT_MAX_PIXELS,
    Evidence,
    JpegInfo,
    detect_format,
    estimate_jpeg_quality,
    load_evidence,
    sha256_file,
)
from forensics_core.evidence.jpeg import IJG_CHROMINANCE, IJG_LUMINANCE, scaled_table
from forensics_core.evidence.metadata import flatten_xmp, format_value
from tests.evidence_fixtures import (
    XMP_PACKET,
    jpeg_bytes,
    noise_rgb,
    png_with_header,
    save,
    smooth_rgb,
    write_dng,
)


def mismatch_notes(evidence: Evidence) -> list[str]:
    return [n for n in evidence.notes if "file name ends in" in n]


# --------------------------------------------------------------------------- basic formats


@pytest.mark.parametrize(
    ("fmt", "suffix", "params"),
    [
        ("PNG", ".png", {}),
        ("TIFF", ".tif", {}),
        ("BMP", ".bmp", {}),
        ("WEBP", ".webp", {"lossless": True}),
        ("GIF", ".gif", {}),
    ],
)
def test_lossless_formats_load_exactly(tmp_path: Path, fmt: str, suffix: str, params: dict) -> None:
    array = noise_rgb()
    image = Image.fromarray(array)
    if fmt == "GIF":  # a palette picture: compare against its own RGB rendering
        image = image.quantize(64)
        array = np.asarray(image.convert("RGB"))
    path = save(image, tmp_path / f"img{suffix}", fmt, **params)
    evidence = load_evidence(path)
    assert evidence.format == fmt
    assert evidence.pixels.shape == (48, 64, 3)
    assert evidence.pixels.dtype == np.uint8
    assert evidence.bit_depth == 8
    assert (evidence.height, evidence.width) == (48, 64)
    assert evidence.megapixels == pytest.approx(48 * 64 / 1e6)
    np.testing.assert_array_equal(evidence.pixels, array)
    assert not mismatch_notes(evidence)


def test_jpeg_loads_with_hashes_and_file_facts(tmp_path: Path) -> None:
    data = jpeg_bytes(smooth_rgb(), quality=90)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    evidence = load_evidence(str(path))
    assert evidence.format == "JPEG"
    assert evidence.pixels.shape == (48, 64, 3) and evidence.pixels.dtype == np.uint8
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.md5 == hashlib.md5(data).hexdigest()
    assert evidence.file_size == len(data)
    assert evidence.mtime_ns == path.stat().st_mtime_ns
    assert evidence.path == path.resolve() and evidence.path.is_absolute()
    assert evidence.original_mode == "RGB"
    assert evidence.orientation is None
    assert isinstance(evidence.jpeg, JpegInfo)
    assert sha256_file(path) == evidence.sha256


def test_relative_path_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(Image.fromarray(noise_rgb()), tmp_path / "rel.png", "PNG")
    monkeypatch.chdir(tmp_path)
    evidence = load_evidence("rel.png")
    assert evidence.path == (tmp_path / "rel.png").resolve()


def test_heif_loads(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "photo.heic"
    try:
        Image.fromarray(smooth_rgb()).save(path, "HEIF", quality=90)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no HEIF encoder available in this pillow-heif build: {exc}")
    evidence = load_evidence(path)
    assert evidence.format == "HEIF"
    assert evidence.pixels.shape == (48, 64, 3)
    assert evidence.pixels.dtype == np.uint8 and evidence.bit_depth == 8
    assert np.abs(evidence.pixels.astype(int) - smooth_rgb().astype(int)).mean() < 12


def test_pixels_are_read_only_and_contiguous(tmp_path: Path) -> None:
    evidence = load_evidence(save(Image.fromarray(noise_rgb()), tmp_path / "a.png", "PNG"))
    assert evidence.pixels.flags.c_contiguous
    assert not evidence.pixels.flags.writeable
    with pytest.raises(ValueError):
        evidence.pixels[0, 0, 0] = 1


def test_rgb_float_and_luminance(tmp_path: Path) -> None:
    array = noise_rgb()
    evidence = load_evidence(save(Image.fromarray(array), tmp_path / "a.png", "PNG"))
    rgb = evidence.rgb_float()
    assert rgb.dtype == np.float32 and rgb.shape == (48, 64, 3)
    np.testing.assert_allclose(rgb, array / 255.0, atol=1e-6)
    luma = evidence.luminance()
    assert luma.dtype == np.float32 and luma.shape == (48, 64)
    expected = (0.299 * array[..., 0] + 0.587 * array[..., 1] + 0.114 * array[..., 2]) / 255.0
    np.testing.assert_allclose(luma, expected, atol=1e-5)
    assert 0.0 <= luma.min() and luma.max() <= 1.0


def test_rgb_float_of_16_bit_divides_by_65535(tmp_path: Path) -> None:
    array = noise_rgb(dtype=np.uint16)
    array[0, 0] = (65535, 0, 32768)
    path = tmp_path / "a16.tif"
    tifffile.imwrite(path, array, photometric="rgb")
    rgb = load_evidence(path).rgb_float()
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 32768 / 65535], atol=1e-6)


# --------------------------------------------------------------------------- names vs bytes


def test_png_named_jpg_loads_as_png_with_note(tmp_path: Path) -> None:
    array = noise_rgb()
    path = save(Image.fromarray(array), tmp_path / "disguised.jpg", "PNG")
    evidence = load_evidence(path)
    assert evidence.format == "PNG"
    assert evidence.jpeg is None
    np.testing.assert_array_equal(evidence.pixels, array)
    (note,) = mismatch_notes(evidence)
    assert ".jpg" in note and "PNG" in note


def test_jpeg_named_png_loads_as_jpeg_with_note(tmp_path: Path) -> None:
    path = tmp_path / "disguised.png"
    path.write_bytes(jpeg_bytes(quality=80))
    evidence = load_evidence(path)
    assert evidence.format == "JPEG"
    assert evidence.jpeg is not None and evidence.jpeg.quality == 80
    assert len(mismatch_notes(evidence)) == 1


def test_upper_case_extension_is_not_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(jpeg_bytes())
    evidence = load_evidence(path)
    assert evidence.format == "JPEG"
    assert not mismatch_notes(evidence)


def test_unknown_extension_uses_bytes(tmp_path: Path) -> None:
    path = tmp_path / "evidence_item_17.bin"
    path.write_bytes(jpeg_bytes())
    assert load_evidence(path).format == "JPEG"


@pytest.mark.parametrize(
    ("header", "suffix", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ".jpg", "PNG"),
        (b"GIF89a\x01\x00", "", "GIF"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "", "WEBP"),
        (b"II*\x00\x08\x00\x00\x00\x00\x00", ".tif", "TIFF"),
        (b"MM\x00*\x00\x00\x00\x08\x00\x00", "", "TIFF"),
        (b"II*\x00\x08\x00\x00\x00\x00\x00", ".NEF", "RAW"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", ".tif", "RAW"),
        (b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom", "", "RAW"),
        (b"FUJIFILMCCD-RAW 0201", "", "RAW"),
        (b"IIRO\x08\x00\x00\x00", "", "RAW"),
        (b"IIU\x00\x18\x00\x00\x00", "", "RAW"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf", ".jpg", "HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "", "HEIF"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "", "HEIF"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", ".heic", None),
        (b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "", "BMP"),
        (b"BMW 320i for sale, good condition", ".bmp", None),
        (b"hello world", ".jpg", None),
        (b"", ".png", None),
    ],
)
def test_detect_format(header: bytes, suffix: str, expected: str | None) -> None:
    assert detect_format(header, suffix) == expected


def test_detect_format_finds_dng_tag_whatever_the_name(tmp_path: Path) -> None:
    data = write_dng(tmp_path / "x.tif").read_bytes()
    assert detect_format(data[:65536], ".tif") == "RAW"


# --------------------------------------------------------------------------- colour modes


def test_grey_becomes_rgb_with_note(tmp_path: Path) -> None:
    grey = noise_rgb()[..., 0]
    evidence = load_evidence(save(Image.fromarray(grey, "L"), tmp_path / "g.png", "PNG"))
    assert evidence.original_mode == "L"
    assert evidence.pixels.shape == (48, 64, 3)
    for channel in range(3):
        np.testing.assert_array_equal(evidence.pixels[..., channel], grey)
    assert any("grey converted to RGB" in n for n in evidence.notes)


def test_rgba_drops_alpha_with_note(tmp_path: Path) -> None:
    rgba = np.dstack([noise_rgb(), np.full((48, 64), 7, np.uint8)])
    evidence = load_evidence(save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png", "PNG"))
    assert evidence.original_mode == "RGBA"
    np.testing.assert_array_equal(evidence.pixels, rgba[..., :3])
    assert "alpha channel dropped; it is not analysed" in evidence.notes


def test_grey_alpha_png(tmp_path: Path) -> None:
    la = Image.fromarray(np.dstack([noise_rgb()[..., 0], noise_rgb()[..., 1]]), "LA")
    evidence = load_evidence(save(la, tmp_path / "la.png", "PNG"))
    assert evidence.original_mode == "LA"
    assert "alpha channel dropped; it is not analysed" in evidence.notes
    assert any("grey" in n for n in evidence.notes)


def test_palette_with_transparency(tmp_path: Path) -> None:
    image = Image.fromarray(noise_rgb()).quantize(16)
    image.info["transparency"] = 0
    evidence = load_evidence(save(image, tmp_path / "p.png", "PNG", transparency=0))
    assert evidence.original_mode == "P"
    assert any("palette" in n for n in evidence.notes)
    assert "alpha channel dropped; it is not analysed" in evidence.notes


def test_one_bit_image(tmp_path: Path) -> None:
    bits = noise_rgb()[..., 0] > 127
    evidence = load_evidence(save(Image.fromarray(bits), tmp_path / "b.png", "PNG"))
    assert evidence.original_mode == "1"
    assert set(np.unique(evidence.pixels)) <= {0, 255}
    np.testing.assert_array_equal(evidence.pixels[..., 0] == 255, bits)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    cmyk = Image.fromarray(smooth_rgb()).convert("CMYK")
    evidence = load_evidence(save(cmyk, tmp_path / "c.jpg", "JPEG", quality=95))
    assert evidence.format == "JPEG"
    assert evidence.original_mode == "CMYK"
    assert evidence.pixels.shape == (48, 64, 3) and evidence.pixels.dtype == np.uint8
    assert any("CMYK converted to RGB" in n for n in evidence.notes)
    assert np.abs(evidence.pixels.astype(int) - smooth_rgb().astype(int)).mean() < 8
    assert evidence.jpeg is not None


def test_16_bit_grey_png_keeps_values(tmp_path: Path) -> None:
    grey = noise_rgb(dtype=np.uint16)[..., 0]
    grey[0, :3] = (0, 1, 65535)
    path = tmp_path / "g16.png"
    assert cv2.imwrite(str(path), grey)
    evidence = load_evidence(path)
    assert evidence.bit_depth == 16 and evidence.pixels.dtype == np.uint16
    assert evidence.original_mode.startswith("I;16")
    for channel in range(3):
        np.testing.assert_array_equal(evidence.pixels[..., channel], grey)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_png_keeps_values(tmp_path: Path, channels: int) -> None:
    rgb = noise_rgb(dtype=np.uint16)
    rgb[0, 0] = (65535, 1, 256)
    array = rgb if channels == 3 else np.dstack([rgb, np.full((48, 64), 1234, np.uint16)])
    path = tmp_path / "c16.png"
    assert cv2.imwrite(
        str(path), cv2.cvtColor(array, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    )
    evidence = load_evidence(path)
    assert evidence.format == "PNG"
    assert evidence.bit_depth == 16 and evidence.pixels.dtype == np.uint16
    np.testing.assert_array_equal(evidence.pixels, rgb)
    assert evidence.original_mode == ("RGB;16" if channels == 3 else "RGBA;16")
    assert ("alpha channel dropped; it is not analysed" in evidence.notes) == (channels == 4)


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_16_bit_rgb_tiff_keeps_values(tmp_path: Path, planar: str) -> None:
    rgb = noise_rgb(dtype=np.uint16)
    rgb[-1, -1] = (1, 65535, 257)
    path = tmp_path / "c16.tif"
    data = rgb if planar == "contig" else np.moveaxis(rgb, -1, 0)
    tifffile.imwrite(path, data, photometric="rgb", planarconfig=planar)
    evidence = load_evidence(path)
    assert evidence.format == "TIFF"
    assert evidence.bit_depth == 16 and evidence.pixels.dtype == np.uint16
    assert evidence.pixels.flags.c_contiguous and not evidence.pixels.flags.writeable
    np.testing.assert_array_equal(evidence.pixels, rgb)


def test_16_bit_grey_big_endian_tiff(tmp_path: Path) -> None:
    grey = noise_rgb(dtype=np.uint16)[..., 0]
    path = tmp_path / "g16be.tif"
    tifffile.imwrite(path, grey, byteorder=">")
    evidence = load_evidence(path)
    assert evidence.pixels.dtype == np.uint16 and evidence.pixels.dtype.isnative
    np.testing.assert_array_equal(evidence.pixels[..., 1], grey)


def test_16_bit_min_is_white_tiff_is_inverted(tmp_path: Path) -> None:
    grey = noise_rgb(dtype=np.uint16)[..., 0]
    path = tmp_path / "mw.tif"
    tifffile.imwrite(path, grey, photometric="miniswhite")
    evidence = load_evidence(path)
    assert evidence.bit_depth == 16 and evidence.original_mode == "I;16"
    np.testing.assert_array_equal(evidence.pixels[..., 0], 65535 - grey)
    assert any("min-is-white" in n for n in evidence.notes)


def test_32_bit_integer_tiff_within_16_bits_is_kept(tmp_path: Path) -> None:
    values = noise_rgb(dtype=np.uint16)[..., 0].astype(np.int32)
    path = tmp_path / "i32.tif"
    tifffile.imwrite(path, values)
    evidence = load_evidence(path)
    assert evidence.bit_depth == 16
    np.testing.assert_array_equal(evidence.pixels[..., 2], values)
    assert any("32-bit integer" in n for n in evidence.notes)


def test_32_bit_integer_tiff_out_of_range_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "i32.tif"
    tifffile.imwrite(path, np.full((8, 8), 100_000, np.int32))
    with pytest.raises(EvidenceError, match="32-bit integer"):
        load_evidence(path)


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3)])
def test_float_tiff_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "f.tif"
    tifffile.imwrite(
        path, np.full(shape, 0.5, np.float32), photometric="rgb" if len(shape) == 3 else None
    )
    with pytest.raises(EvidenceError, match="floating-point"):
        load_evidence(path)


# --------------------------------------------------------------------------- pages and animations


def test_multi_page_tiff_first_page_with_note(tmp_path: Path) -> None:
    pages = [Image.fromarray(noise_rgb(seed=i)) for i in range(3)]
    path = tmp_path / "pages.tif"
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:])
    evidence = load_evidence(path)
    np.testing.assert_array_equal(evidence.pixels, noise_rgb(seed=0))
    assert "multi-page TIFF: page 1 of 3 analysed" in evidence.notes


@pytest.mark.parametrize(("fmt", "suffix"), [("GIF", ".gif"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_animations_are_refused(tmp_path: Path, fmt: str, suffix: str) -> None:
    frames = [Image.fromarray(noise_rgb(seed=i)) for i in range(3)]
    path = tmp_path / f"anim{suffix}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(EvidenceError, match="animated") as info:
        load_evidence(path)
    assert "export the frame" in str(info.value)


def test_single_frame_gif_loads_with_palette_note(tmp_path: Path) -> None:
    path = save(Image.fromarray(smooth_rgb()).quantize(32), tmp_path / "one.gif", "GIF")
    evidence = load_evidence(path)
    assert evidence.format == "GIF"
    assert evidence.original_mode == "P"
    assert any("palette" in n for n in evidence.notes)


# ------------------------------------------------------------------------ orientation, metadata


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    if orientation is not None:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = TiffImagePlugin.IFDRational(1, 125)
    sub[0x829D] = TiffImagePlugin.IFDRational(28, 10)
    sub[0x9003] = "2024:05:01 12:34:56"
    sub[0x927C] = bytes(range(256)) * 4  # maker note: binary
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = tuple(TiffImagePlugin.IFDRational(n, d) for n, d in ((52, 1), (30, 1), (1234, 100)))
    return exif


def test_exif_orientation_reported_pixels_not_rotated(tmp_path: Path) -> None:
    array = smooth_rgb(24, 40)
    path = save(Image.fromarray(array), tmp_path / "o.jpg", "JPEG", exif=_exif(6), quality=95)
    evidence = load_evidence(path)
    assert evidence.orientation == 6
    assert evidence.pixels.shape == (24, 40, 3)  # as stored, not rotated to 40x24
    assert np.abs(evidence.pixels.astype(int) - array.astype(int)).mean() < 5
    assert "EXIF orientation 6 (rotate 90 CW) reported, pixels left as stored" in evidence.notes


def test_orientation_1_gives_no_note(tmp_path: Path) -> None:
    path = save(Image.fromarray(smooth_rgb()), tmp_path / "o.jpg", "JPEG", exif=_exif(1))
    evidence = load_evidence(path)
    assert evidence.orientation == 1
    assert not any("orientation" in n for n in evidence.notes)


def test_invalid_orientation_is_ignored_with_note(tmp_path: Path) -> None:
    path = save(Image.fromarray(smooth_rgb()), tmp_path / "o.jpg", "JPEG", exif=_exif(42))
    evidence = load_evidence(path)
    assert evidence.orientation is None
    assert any("invalid EXIF orientation" in n for n in evidence.notes)


def test_exif_gps_and_xmp_are_flattened(tmp_path: Path) -> None:
    path = save(
        Image.fromarray(smooth_rgb()), tmp_path / "m.jpg", "JPEG", exif=_exif(1), xmp=XMP_PACKET
    )
    rows = dict(load_evidence(path).metadata)
    assert rows["EXIF:Make"] == "Canon"
    assert rows["EXIF:Model"] == "Canon EOS R5"
    assert rows["EXIF:ExposureTime"] == "1/125"
    assert rows["EXIF:FNumber"] == "2.8"
    assert rows["EXIF:DateTimeOriginal"] == "2024:05:01 12:34:56"
    assert rows["EXIF:MakerNote"].startswith("0x000102")
    assert len(rows["EXIF:MakerNote"]) <= 200
    assert rows["GPS:GPSLatitudeRef"] == "N"
    assert rows["GPS:GPSLatitude"] == "52, 30, 12.34"
    assert rows["XMP:xmp:CreatorTool"] == "Adobe Photoshop 25.0"
    assert rows["XMP:dc:creator"] == "Jane Doe"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rows.items())


def test_malformed_xmp_is_skipped_with_note(tmp_path: Path) -> None:
    path = save(
        Image.fromarray(smooth_rgb()), tmp_path / "m.jpg", "JPEG", xmp=b"<x:xmpmeta><unclosed"
    )
    evidence = load_evidence(path)
    assert evidence.format == "JPEG"
    assert any("XMP" in n and "skipped" in n for n in evidence.notes)


def test_xmp_with_entities_is_not_expanded() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;&a;</x>'
    with pytest.raises(ValueError, match="entities"):
        flatten_xmp(bomb)


def test_png_text_and_icc_profile(tmp_path: Path) -> None:
    from PIL import ImageCms, PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Software", "GIMP 2.10")
    text.add_itxt("Comment", "caf\u00e9 edited")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = save(
        Image.fromarray(noise_rgb()), tmp_path / "t.png", "PNG", pnginfo=text, icc_profile=icc
    )
    rows = dict(load_evidence(path).metadata)
    assert rows["PNG:Software"] == "GIMP 2.10"
    assert rows["PNG:Comment"] == "caf\u00e9 edited"
    assert rows["ICC:Profile"] == f"present, {len(icc)} bytes"


def test_format_value() -> None:
    assert format_value(b"Canon\x00\x00") == "Canon"
    assert format_value(b"\x00\xff\x10") == "0x00ff10"
    assert len(format_value(b"\xff" * 5000)) <= 200
    assert len(format_value("x" * 5000)) <= 200
    assert format_value(TiffImagePlugin.IFDRational(1, 125)) == "1/125"
    assert format_value(TiffImagePlugin.IFDRational(10, 1250)) == "1/125"
    assert format_value(TiffImagePlugin.IFDRational(72, 1)) == "72"
    assert format_value((1, 2, 3)) == "1, 2, 3"
    assert format_value("bad\x07control") == "bad control"


# --------------------------------------------------------------------------- JPEG facts


def test_quant_tables_are_in_natural_order() -> None:
    image = Image.open(io.BytesIO(jpeg_bytes(quality=50)))
    assert tuple(image.quantization[0]) == IJG_LUMINANCE  # Pillow gives natural order
    assert IJG_LUMINANCE[:16] == (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55)


def test_quality_50_tables_through_load(tmp_path: Path) -> None:
    path = tmp_path / "q50.jpg"
    path.write_bytes(jpeg_bytes(quality=50))
    info = load_evidence(path).jpeg
    assert info is not None
    assert info.quant_tables[0] == IJG_LUMINANCE
    assert info.quant_tables[1] == IJG_CHROMINANCE
    assert info.quality == 50 and info.standard_tables


@pytest.mark.parametrize("quality", [30, 75, 90, 95])
def test_pillow_jpeg_quality_is_estimated_exactly(tmp_path: Path, quality: int) -> None:
    path = tmp_path / f"q{quality}.jpg"
    path.write_bytes(jpeg_bytes(quality=quality))
    info = load_evidence(path).jpeg
    assert info is not None
    assert info.quality == quality
    assert info.standard_tables is True
    assert info.progressive is False
    assert info.subsampling == "4:2:0"


@pytest.mark.parametrize(("subsampling", "expected"), [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_subsampling(tmp_path: Path, subsampling: int, expected: str) -> None:
    path = tmp_path / "s.jpg"
    path.write_bytes(jpeg_bytes(quality=85, subsampling=subsampling))
    assert load_evidence(path).jpeg.subsampling == expected


def test_progressive_and_grey_jpeg(tmp_path: Path) -> None:
    path = save(
        Image.fromarray(smooth_rgb()[..., 0], "L"),
        tmp_path / "g.jpg",
        "JPEG",
        progressive=True,
        quality=70,
    )
    evidence = load_evidence(path)
    assert evidence.jpeg.progressive is True
    assert evidence.jpeg.subsampling == "4:0:0"
    assert evidence.jpeg.quality == 70 and evidence.jpeg.standard_tables
    assert evidence.original_mode == "L"


def test_custom_tables_are_not_standard(tmp_path: Path) -> None:
    lum = [min(255, max(1, round(v * 0.37))) + (i % 2) for i, v in enumerate(IJG_LUMINANCE)]
    chroma = [min(255, max(1, round(v * 0.37))) for v in IJG_CHROMINANCE]
    path = tmp_path / "custom.jpg"
    path.write_bytes(jpeg_bytes(qtables=[lum, chroma]))
    info = load_evidence(path).jpeg
    assert info.standard_tables is False
    assert info.quant_tables[0] == tuple(lum)
    assert info.quality is not None and 75 <= info.quality <= 88  # scale 37% ~ quality 81.5


def test_estimate_quality_edge_cases() -> None:
    assert estimate_jpeg_quality({0: scaled_table(IJG_LUMINANCE, 100)}) == (100.0, True)
    assert estimate_jpeg_quality(
        {0: scaled_table(IJG_LUMINANCE, 10), 1: scaled_table(IJG_CHROMINANCE, 10)}
    ) == (
        10.0,
        True,
    )
    # luminance says 80 but chrominance says 60: not standard, somewhere in between
    quality, standard = estimate_jpeg_quality(
        {0: scaled_table(IJG_LUMINANCE, 80), 1: scaled_table(IJG_CHROMINANCE, 60)}
    )
    assert not standard and quality is not None and 60 <= quality <= 80
    # a flat table (not IJG-shaped at all)
    checker = [1 if (i // 8 + i % 8) % 2 else 200 for i in range(64)]
    assert estimate_jpeg_quality({0: checker}) == (None, False)
    assert estimate_jpeg_quality({}) == (None, False)
    assert estimate_jpeg_quality({0: [1, 2, 3]}) == (None, False)
    assert estimate_jpeg_quality({0: ["x"] * 64}) == (None, False)


def test_non_jpeg_has_no_jpeg_info(tmp_path: Path) -> None:
    assert load_evidence(save(Image.fromarray(noise_rgb()), tmp_path / "a.png", "PNG")).jpeg is None


# --------------------------------------------------------------------------- camera RAW


def test_dng_is_developed_by_libraw(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "shot.dng")
    evidence = load_evidence(path)
    assert evidence.format == "RAW"
    assert evidence.pixels.shape == (64, 96, 3)
    assert evidence.pixels.dtype == np.uint16 and evidence.bit_depth == 16
    assert evidence.original_mode == "RAW"
    assert evidence.jpeg is None
    assert dict(evidence.metadata)["EXIF:Make"] == "TestMake"
    assert any("LibRaw" in n for n in evidence.notes)


def test_fake_cr2_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(
        b"II*\x00\x10\x00\x00\x00CR\x02\x00" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    )
    with pytest.raises(EvidenceError, match="camera RAW"):
        load_evidence(path)


def test_tiff_with_raw_extension_falls_back_to_pillow(tmp_path: Path) -> None:
    array = noise_rgb()
    path = save(Image.fromarray(array), tmp_path / "scan.nef", "TIFF")
    evidence = load_evidence(path)
    assert evidence.format == "TIFF"
    np.testing.assert_array_equal(evidence.pixels, array)
    assert any("LibRaw could not read it" in n for n in evidence.notes)
    assert len(mismatch_notes(evidence)) == 1


def test_non_tiff_raw_magic_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.raf"
    path.write_bytes(b"FUJIFILMCCD-RAW 0201" + bytes(2000))
    with pytest.raises(EvidenceError, match="LibRaw could not decode"):
        load_evidence(path)


# --------------------------------------------------------------------------- bad inputs


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="does not exist"):
        load_evidence(tmp_path / "nope.jpg")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="folder"):
        load_evidence(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EvidenceError, match="empty"):
        load_evidence(path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes(jpeg_bytes())
    path.chmod(0)
    try:
        with pytest.raises(EvidenceError, match="permission"):
            load_evidence(path)
    finally:
        path.chmod(0o600)


def test_permission_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same as above, simulated, so that it also runs as root."""
    from forensics_core.evidence import loader

    path = tmp_path / "locked.jpg"
    path.write_bytes(jpeg_bytes())

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "open", refuse, raising=False)
    with pytest.raises(EvidenceError, match="permission denied"):
        load_evidence(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = jpeg_bytes(noise_rgb(128, 128), quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EvidenceError, match="truncated or corrupt"):
        load_evidence(path)


def test_truncated_jpeg_refused_even_if_pillow_was_told_to_allow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = jpeg_bytes(noise_rgb(128, 128), quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EvidenceError, match="truncated"):
        load_evidence(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is put back


def test_truncated_png(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb(128, 128)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(EvidenceError, match="truncated or corrupt"):
        load_evidence(path)


def test_truncated_16_bit_png(tmp_path: Path) -> None:
    ok, encoded = cv2.imencode(".png", noise_rgb(64, 64, dtype=np.uint16))
    assert ok
    path = tmp_path / "cut16.png"
    path.write_bytes(encoded.tobytes()[: encoded.size // 2])
    with pytest.raises(EvidenceError, match="truncated or corrupt"):
        load_evidence(path)


def test_random_bytes_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "random.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(EvidenceError, match="not a supported image format") as info:
        load_evidence(path)
    assert "random.jpg" in str(info.value)


def test_jpeg_header_followed_by_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jpg"
    path.write_bytes(
        b"\xff\xd8\xff\xe0"
        + np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    )
    with pytest.raises(EvidenceError, match="JPEG"):
        load_evidence(path)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("These are my case notes, not a picture.\n")
    with pytest.raises(EvidenceError, match="not a supported image format") as info:
        load_evidence(path)
    assert "text file" in str(info.value)


def test_html_download(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    with pytest.raises(EvidenceError, match="web page"):
        load_evidence(path)


def test_small_max_pixels_refuses(tmp_path: Path) -> None:
    path = save(Image.fromarray(noise_rgb(100, 100)), tmp_path / "a.png", "PNG")
    with pytest.raises(EvidenceError, match="max_pixels") as info:
        load_evidence(path, max_pixels=5000)
    message = str(info.value)
    assert "100 x 100" in message and "5,000" in message
    assert load_evidence(path, max_pixels=10_000).width == 100  # exactly at the limit is fine


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_header(30000, 30000))
    assert path.stat().st_size < 1000
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(EvidenceError, match="decompression bomb") as info:
        load_evidence(path)
    assert "30000 x 30000" in str(info.value)
    assert f"{DEFAULT_MAX_PIXELS:,}" in str(info.value)
    assert Image.MAX_IMAGE_PIXELS == before  # Pillow's own setting is put back


def test_our_limit_not_pillows_applies(tmp_path: Path) -> None:
    """10000x10000 is above Pillow's warning limit; with max_pixels=50M our message is given."""
    path = tmp_path / "big.png"
    path.write_bytes(png_with_header(10000, 10000))
    with pytest.raises(EvidenceError, match="max_pixels"):
        load_evidence(path, max_pixels=50_000_000)


def test_raw_size_limit(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="max_pixels"):
        load_evidence(write_dng(tmp_path / "s.dng"), max_pixels=1000)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "many", True])
def test_bad_max_pixels(tmp_path: Path, bad: object) -> None:
    path = save(Image.fromarray(noise_rgb()), tmp_path / "a.png", "PNG")
    with pytest.raises(EvidenceError, match="max_pixels"):
        load_evidence(path, max_pixels=bad)  # type: ignore[arg-type]


def _encoded_samples() -> dict[str, bytes]:
    samples = {}
    for fmt, suffix in (
        ("JPEG", ".jpg"),
        ("PNG", ".png"),
        ("TIFF", ".tif"),
        ("WEBP", ".webp"),
        ("GIF", ".gif"),
    ):
        buffer = io.BytesIO()
        Image.fromarray(noise_rgb(16, 16)).save(buffer, fmt)
        samples[suffix] = buffer.getvalue()
    return samples


def test_damaged_files_only_ever_raise_evidence_error(tmp_path: Path) -> None:
    """Random byte damage: every outcome is a picture or an EvidenceError, never a raw exception."""
    rng = np.random.default_rng(12345)
    for suffix, data in _encoded_samples().items():
        for _ in range(25):
            damaged = bytearray(data)
            if rng.random() < 0.5:
                damaged = damaged[: int(rng.integers(1, len(damaged)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    damaged[int(rng.integers(0, len(damaged)))] = int(rng.integers(0, 256))
            path = tmp_path / f"damaged{suffix}"
            path.write_bytes(bytes(damaged))
            try:
                evidence = load_evidence(path)
            except EvidenceError as exc:
                assert str(exc)
            else:
                assert evidence.pixels.ndim == 3 and evidence.pixels.shape[2] == 3


# --------------------------------------------------------------------------- integrity


def test_loading_changes_nothing_and_verify_detects_changes(tmp_path: Path) -> None:
    original = tmp_path / "original.jpg"
    original.write_bytes(jpeg_bytes(quality=88))
    copy = tmp_path / "copy.jpg"
    shutil.copy2(original, copy)
    before_bytes = copy.read_bytes()
    before_mtime = copy.stat().st_mtime_ns

    evidence = load_evidence(copy)
    assert copy.read_bytes() == before_bytes
    assert copy.stat().st_mtime_ns == before_mtime
    evidence.verify_unchanged()  # nothing changed: no error

    with copy.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00")
    with pytest.raises(EvidenceError, match="EVIDENCE FILE CHANGED SINCE LOADING") as info:
        evidence.verify_unchanged()
    assert evidence.sha256 in str(info.value)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() in str(info.value)

    copy.unlink()
    with pytest.raises(EvidenceError, match="EVIDENCE FILE CHANGED SINCE LOADING"):
        evidence.verify_unchanged()
    assert original.read_bytes() == before_bytes


def test_sha256_file_errors(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError):
        sha256_file(tmp_path / "missing")
    with pytest.raises(EvidenceError):
        sha256_file(tmp_path)
    data = b"abc" * 1_000_000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_evidence_is_frozen(tmp_path: Path) -> None:
    evidence = load_evidence(save(Image.fromarray(noise_rgb()), tmp_path / "a.png", "PNG"))
    with pytest.raises(AttributeError):
        evidence.format = "JPEG"  # type: ignore[misc]
    assert isinstance(evidence.notes, tuple) and isinstance(evidence.metadata, tuple)


def test_one_channel_as_float_equals_that_channel_of_rgb_float(tmp_path: Path) -> None:
    rgb16 = noise_rgb(37, 53, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "sixteen.tif", rgb16, photometric="rgb")
    Image.fromarray(noise_rgb(37, 53)).save(tmp_path / "eight.png")
    for name in ("sixteen.tif", "eight.png"):
        evidence = load_evidence(tmp_path / name)
        for index in range(3):
            assert np.array_equal(evidence.channel_float(index), evidence.rgb_float()[..., index]), (name, index)
