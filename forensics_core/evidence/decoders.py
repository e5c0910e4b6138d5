"""Decode evidence bytes (already in memory) into RGB pixels: Pillow, OpenCV, tifffile, LibRaw.

Every decoder checks the picture's dimensions from its header before decoding a single pixel,
and turns every decoder failure into an :class:`EvidenceError` that says what to do.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from forensics_core.errors import EvidenceError

from .colour import array_to_rgb, pil_to_rgb
from .completeness import (
    check_bmp,
    check_gif,
    check_jpeg,
    check_png,
    check_tiff,
    check_webp,
    gif_canvas_note,
    heif_clean_aperture_note,
    replicated_edge_note,
    load_with_sentinel,
    missing_rows_error,
    unwritten_rows,
)
from .formats import is_tiff_magic
from .jpeg import jpeg_info_from_image
from .metadata import (
    ORIENTATION_DESCRIPTIONS,
    MetadataResult,
    extract_metadata,
    extract_tiff_structured_metadata,
)
from .model import JpegInfo
from .pil_guard import pillow_evidence_settings

try:  # HEIF/HEIC through libheif; registering twice is harmless.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except Exception:  # noqa: BLE001 - a missing optional decoder only disables HEIF
    HEIF_AVAILABLE = False

# The Pillow plugins allowed to open each detected format (the bytes decided the format).
_PIL_PLUGINS: dict[str, list[str]] = {
    "JPEG": ["JPEG"],  # also yields MPO (multi-picture JPEG) images
    "PNG": ["PNG"],
    "TIFF": ["TIFF"],
    "BMP": ["BMP", "DIB"],
    "WEBP": ["WEBP"],
    "HEIF": ["HEIF", "AVIF"],
    "GIF": ["GIF"],
}
_LABELS = {"WEBP": "WebP", "RAW": "camera RAW"}
_ANIMATED_FORMATS = ("GIF", "WEBP", "PNG")
_GREY_MODES_16 = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
#: Longest side over shortest side beyond which a declared picture is refused as absurd.
MAX_ASPECT_RATIO = 1000
# LibRaw's ``flip`` value -> EXIF orientation.
_LIBRAW_FLIP_TO_EXIF = {0: 1, 3: 3, 5: 8, 6: 6}


@dataclass
class Decoded:
    """What a decoder produced, before it is frozen into an ``Evidence``."""

    format: str
    pixels: np.ndarray
    bit_depth: int
    original_mode: str
    notes: list[str] = field(default_factory=list)
    jpeg: JpegInfo | None = None
    metadata: MetadataResult = field(default_factory=MetadataResult)


class RawDecodeFailure(Exception):
    """LibRaw could not read the file (the loader may fall back to Pillow for TIFF files)."""


def _libraw_reason(exc: BaseException) -> str:
    """LibRaw's message as text (rawpy passes it as bytes)."""
    first = exc.args[0] if exc.args else None
    if isinstance(first, bytes):
        return first.decode("utf-8", "replace")
    return str(exc) or type(exc).__name__


def label(fmt: str) -> str:
    """How a format is named to people ("WebP", "camera RAW", "JPEG"...)."""
    return _LABELS.get(fmt, fmt)


def check_size(name: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse pictures whose header declares more than ``max_pixels`` pixels, none, or an absurd
    shape (longer side more than ``MAX_ASPECT_RATIO`` times the shorter)."""
    if width <= 0 or height <= 0:
        raise EvidenceError(
            f"{name} declares an empty picture ({width} x {height} pixels); the file is corrupt."
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise EvidenceError(
            f"{name} declares {width} x {height} pixels, an aspect ratio of "
            f"{max(width, height) // min(width, height):,}:1. No photograph has that shape (more "
            f"than {MAX_ASPECT_RATIO:,}:1): the size fields are damaged or were altered, and the "
            "detectors cannot analyse a strip of pixels. Obtain the original file."
        )
    if width * height > max_pixels:
        raise EvidenceError(
            f"{name} declares {width} x {height} pixels ({width * height / 1e6:.1f} megapixels), "
            f"more than the limit of {max_pixels:,} pixels ({max_pixels / 1e6:g} megapixels). "
            "Pictures this large can exhaust memory, and a small file declaring a huge picture "
            "is a typical decompression bomb. If the picture is genuine, raise the limit "
            "(the max_pixels setting) and load it again."
        )


_MISSING_PACKAGE = re.compile(r"(?P<what>.*?)\s*requires the '(?P<package>[\w.-]+)' package")


def missing_codec(exc: BaseException) -> tuple[str, str] | None:
    """(what needs it, package) when a decoder failed only for want of an optional package."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return "this file's coding", exc.name.split(".")[0]
    match = _MISSING_PACKAGE.search(str(exc))
    if match:
        return match.group("what").strip(" <>:") or "this file's coding", match.group("package")
    return None


def corrupt_error(name: str, fmt: str, exc: BaseException) -> EvidenceError:
    """The error for a file whose bytes cannot be decoded as the format they claim.

    A failure for want of an optional decoder package is not damage: that message names the
    package instead.
    """
    codec = missing_codec(exc)
    if codec is not None:
        what, package = codec
        install = "imagecodecs" if fmt == "TIFF" else package  # imagecodecs holds every TIFF codec
        return EvidenceError(
            f"{name} is a {label(fmt)} file whose coding ({what}) needs an optional decoder that is "
            f"not installed ('{package}'); nothing suggests the file is damaged. Install it "
            f"(pip install {install}) and load the file again."
        )
    reason = str(exc).strip() or type(exc).__name__
    return EvidenceError(
        f"{name} starts like a {label(fmt)} file but could not be decoded ({reason}). It is "
        "truncated or corrupt, for example an interrupted copy or download. Obtain a complete "
        "copy of the original file; this tool does not analyse partial pictures."
    )


def memory_error(name: str, width: int | None = None, height: int | None = None) -> EvidenceError:
    """The error for a decode that ran out of memory."""
    size = f" ({width} x {height} pixels)" if width and height else ""
    return EvidenceError(
        f"Not enough memory to decode {name}{size}. Close other programs or use a computer with "
        "more memory."
    )


def _frame_count(img: Image.Image) -> int:
    try:
        return max(int(getattr(img, "n_frames", 1) or 1), 1)
    except Exception:  # noqa: BLE001 - counting is best-effort; decode errors show up in load()
        return 1


def _png_16bit_colour_type(data: bytes) -> int | None:
    """The PNG colour type when the IHDR says 16 bits per sample (else None)."""
    if len(data) >= 26 and data[12:16] == b"IHDR" and data[24] == 16:
        return data[25]
    return None


def _decode_png16_opencv(data: bytes, name: str) -> tuple[np.ndarray, int, list[str]]:
    """Pillow reduces 16-bit colour PNGs to 8 bits; OpenCV keeps all 16 (as BGR/BGRA)."""
    import cv2

    try:
        array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise corrupt_error(name, "PNG", exc) from exc
    if array is None:
        raise corrupt_error(name, "PNG", ValueError("OpenCV could not decode the 16-bit data"))
    return array_to_rgb(array, name, channels_order="BGR")


def _tiff_bits(img: Image.Image) -> int:
    try:
        bits = img.tag_v2.get(258, 8)  # type: ignore[attr-defined]
        return max(bits) if isinstance(bits, (tuple, list)) else int(bits)
    except Exception:  # noqa: BLE001
        return 8


def _tiff_photometric(img: Image.Image) -> int | None:
    try:
        return int(img.tag_v2.get(262))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return None


def _tifffile_page0(
    data: bytes, name: str, max_pixels: int
) -> tuple[np.ndarray, int, list[str], str, int]:
    """Decode the first page of a TIFF with tifffile: (pixels, depth, notes, mode, pages)."""
    import tifffile

    try:
        tif = tifffile.TiffFile(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise corrupt_error(name, "TIFF", exc) from exc
    with tif:
        try:
            pages = len(tif.pages)
            page = tif.pages[0]
            width, height = int(page.imagewidth), int(page.imagelength)
        except Exception as exc:  # noqa: BLE001
            raise corrupt_error(name, "TIFF", exc) from exc
        check_size(name, width, height, max_pixels)
        strip_notes = check_tiff(data, name)
        try:
            array = page.asarray()
            axes = str(page.axes)
            photometric = int(page.photometric)
        except MemoryError as exc:
            raise memory_error(name, width, height) from exc
        except Exception as exc:  # noqa: BLE001
            raise corrupt_error(name, "TIFF", exc) from exc
    if axes.startswith("S") and array.ndim == 3:  # planar configuration "separate"
        array = np.moveaxis(array, 0, -1)
    invert_note = None
    if photometric == 0 and array.dtype.kind == "u":  # min-is-white: 0 means white
        array = np.iinfo(array.dtype).max - array
        invert_note = "min-is-white grey TIFF inverted to the usual min-is-black"
    if array.ndim not in (2, 3) or array.shape[0] != height or array.shape[1] != width:
        raise EvidenceError(f"{name} is a TIFF with an unsupported layout ({axes} {array.shape}).")
    samples = 1 if array.ndim == 2 else array.shape[2]
    bits = array.dtype.itemsize * 8
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(samples, f"{samples}ch") + (
        f";{bits}" if bits != 8 else ""
    )
    if mode == "L;16":
        mode = "I;16"  # Pillow's name for 16-bit grey
    if array.dtype.kind == "f":
        mode = f"F;{bits}"
    pixels, depth, notes = array_to_rgb(array, name)
    if invert_note:
        notes.append(invert_note)
    return pixels, depth, notes + strip_notes, mode, pages


def _page_notes(img: Image.Image, fmt: str, name: str) -> list[str]:
    frames = _frame_count(img)
    if frames <= 1:
        return []
    if fmt in _ANIMATED_FORMATS:
        raise EvidenceError(
            f"{name} is an animated {label(fmt)} with {frames} frames. An animation is not a "
            "single photograph and cannot be analysed as one; export the frame you want to "
            "examine as a still image (PNG) and load that, noting the frame number in your report."
        )
    if fmt == "TIFF":
        img.seek(0)
        return [f"multi-page TIFF: page 1 of {frames} analysed"]
    if fmt == "JPEG":
        img.seek(0)
        return [
            f"JPEG holds {frames} pictures (multi-picture/MPO): the first, main picture analysed"
        ]
    # HEIF: the decoder opens the primary picture first, which need not be picture 0.
    return [f"{label(fmt)} file holds {frames} pictures: the primary picture analysed"]


def _heif_orientation(img: Image.Image, meta: MetadataResult) -> None:
    original = (img.info or {}).get("original_orientation")
    if isinstance(original, int) and 2 <= original <= 8:
        meta.orientation = original
        what = ORIENTATION_DESCRIPTIONS.get(original, "unknown")
        meta.notes = [n for n in meta.notes if not n.startswith("EXIF orientation")]
        meta.notes.append(
            f"EXIF orientation {original} ({what}) reported; for HEIF the decoder applies the "
            "container's own rotation/mirroring, as the HEIF standard requires"
        )


def _decode_open_image(
    img: Image.Image, data: bytes, fmt: str, name: str, max_pixels: int
) -> Decoded:
    width, height = img.size
    check_size(name, width, height, max_pixels)
    notes = _page_notes(img, fmt, name)
    notes.extend({"PNG": check_png, "JPEG": check_jpeg}.get(fmt, lambda _data, _name: [])(data, name))
    if fmt == "GIF":
        check_gif(data, name, width, height)
        notes.extend(gif_canvas_note(data))
    elif fmt == "BMP":
        notes.extend(check_bmp(data, img))
    elif fmt == "TIFF":
        notes.extend(check_tiff(data, name))
    original_mode = img.mode
    try:
        if fmt == "JPEG":  # libjpeg writes every row (grey where data is missing): check_jpeg
            img.load()
        elif load_with_sentinel(img):
            missing = unwritten_rows(lambda: Image.open(io.BytesIO(data), formats=_PIL_PLUGINS[fmt]), img)
            if missing:
                raise missing_rows_error(name, width, height, missing, what="missing from the file or incomplete")
    except MemoryError as exc:
        raise memory_error(name, width, height) from exc
    except EvidenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a damaged file
        raise corrupt_error(name, fmt, exc) from exc
    if fmt == "WEBP":
        notes.extend(check_webp(data, img))

    png_type = _png_16bit_colour_type(data) if fmt == "PNG" else None
    if png_type in (2, 4, 6):
        pixels, depth, mode_notes = _decode_png16_opencv(data, name)
        original_mode = {2: "RGB;16", 4: "LA;16", 6: "RGBA;16"}[png_type]
    elif (
        fmt == "TIFF"
        and _tiff_bits(img) > 8
        and (img.mode not in _GREY_MODES_16 or _tiff_photometric(img) == 0)
        and _tiff_photometric(img) in (0, 1, 2)
    ):
        pixels, depth, mode_notes, original_mode, _pages = _tifffile_page0(data, name, max_pixels)
    else:
        pixels, depth, mode_notes = pil_to_rgb(img, name)
        if fmt == "TIFF" and _tiff_bits(img) > 8 and depth == 8:
            bits = _tiff_bits(img)
            mode_notes.append(
                f"{bits}-bit {img.mode} TIFF reduced to 8 bits per channel by the decoder"
            )
    notes.extend(mode_notes)
    if fmt == "HEIF":
        notes.extend(replicated_edge_note(pixels))
        notes.extend(heif_clean_aperture_note(data))
        bits = (img.info or {}).get("bit_depth")
        if isinstance(bits, int) and bits > 8 and depth == 8:
            notes.append(f"HEIF stored with {bits} bits per channel, decoded to 8 bits")
    meta = extract_metadata(img)
    if fmt == "HEIF":
        _heif_orientation(img, meta)
    jpeg = jpeg_info_from_image(img) if fmt == "JPEG" else None
    return Decoded(fmt, pixels, depth, original_mode, notes, jpeg, meta)


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    notes: list[str] = []
    for item in caught:
        text = f"decoder warning: {item.message}"
        if text not in notes:
            notes.append(text)
    return notes[:5]


def decode_with_pillow(data: bytes, fmt: str, name: str, max_pixels: int) -> Decoded:
    """Decode non-RAW formats with Pillow (OpenCV/tifffile for 16-bit colour PNG/TIFF)."""
    if fmt == "HEIF" and not HEIF_AVAILABLE:
        raise EvidenceError(
            f"{name} is a HEIF/HEIC picture but the HEIF decoder (pillow-heif) is not installed. "
            "Install pillow-heif, or convert the file to PNG/TIFF with a trusted tool first."
        )
    with pillow_evidence_settings(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            img = Image.open(io.BytesIO(data), formats=_PIL_PLUGINS[fmt])
        except MemoryError as exc:
            raise memory_error(name) from exc
        except Exception as exc:  # noqa: BLE001
            if fmt == "TIFF":  # e.g. floating-point RGB, which Pillow cannot open at all
                pixels, depth, notes, mode, pages = _tifffile_page0(data, name, max_pixels)
                if pages > 1:
                    notes.insert(0, f"multi-page TIFF: page 1 of {pages} analysed")
                return Decoded(fmt, pixels, depth, mode, notes)
            raise corrupt_error(name, fmt, exc) from exc
        with img:
            decoded = _decode_open_image(img, data, fmt, name, max_pixels)
    decoded.notes.extend(_warning_notes(list(caught)))
    return decoded


def decode_raw(data: bytes, name: str, max_pixels: int) -> Decoded:
    """Develop a camera RAW file with LibRaw (rawpy) into 16-bit RGB, pixels not rotated.

    Raises ``RawDecodeFailure`` when LibRaw cannot read the file, ``EvidenceError`` when the
    picture is too large or memory runs out.
    """
    try:
        import rawpy
    except ImportError as exc:  # pragma: no cover - rawpy is a declared dependency
        raise RawDecodeFailure("the RAW decoder (rawpy) is not installed") from exc

    raw: Any = rawpy.RawPy()
    try:
        try:
            raw.open_buffer(io.BytesIO(data))
            sizes = raw.sizes
        except MemoryError as exc:
            raise memory_error(name) from exc
        except Exception as exc:  # noqa: BLE001
            raise RawDecodeFailure(_libraw_reason(exc)) from exc
        check_size(name, int(sizes.width), int(sizes.height), max_pixels)
        check_size(name, int(sizes.raw_width), int(sizes.raw_height), max_pixels)
        try:
            raw.unpack()
            rgb = raw.postprocess(
                no_auto_bright=True, output_bps=16, use_camera_wb=True, user_flip=0
            )
        except MemoryError as exc:
            raise memory_error(name, int(sizes.width), int(sizes.height)) from exc
        except Exception as exc:  # noqa: BLE001
            raise RawDecodeFailure(_libraw_reason(exc)) from exc
        flip = int(sizes.flip)
    finally:
        raw.close()

    pixels = np.asarray(rgb)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint16:
        raise RawDecodeFailure(f"unexpected output layout {pixels.shape} {pixels.dtype}")
    notes = [
        "camera RAW developed by LibRaw: camera white balance, no auto-brightening, "
        "16 bits per channel, not rotated"
    ]
    if is_tiff_magic(data[:8]):
        notes.extend(check_tiff(data, name))
        meta = extract_tiff_structured_metadata(data)
    else:
        meta = MetadataResult(notes=["metadata (EXIF) of this RAW format is not read"])
    if meta.orientation is None and flip in _LIBRAW_FLIP_TO_EXIF:
        meta.orientation = _LIBRAW_FLIP_TO_EXIF[flip]
        if meta.orientation != 1:
            what = ORIENTATION_DESCRIPTIONS[meta.orientation]
            meta.notes.append(
                f"RAW orientation {meta.orientation} ({what}) reported, pixels left as stored"
            )
    return Decoded("RAW", pixels, 16, "RAW", notes, None, meta)
