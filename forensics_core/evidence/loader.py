"""``load_evidence``: read a questioned image once, read-only, hash it and decode it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from forensics_core.errors import EvidenceError

from .decoders import (
    Decoded,
    RawDecodeFailure,
    corrupt_error,
    decode_raw,
    decode_with_pillow,
    label,
    memory_error,
)
from .formats import (
    EXTENSION_FORMATS,
    SUPPORTED_DESCRIPTION,
    describe_unrecognised,
    detect_format,
    is_tiff_magic,
)
from .hashing import hash_bytes
from .model import Evidence

DEFAULT_MAX_PIXELS = 200_000_000
_HEADER_BYTES = 1 << 16
#: Decoded size over file size above which the loader notes an unusual compression ratio.
UNUSUAL_COMPRESSION_RATIO = 250
#: Longest side over shortest side above which the loader notes an unusual shape.
UNUSUAL_ASPECT_RATIO = 20


def _resolve(path: str | os.PathLike[str]) -> tuple[Path, str]:
    try:
        given = Path(os.fspath(path))
    except TypeError as exc:
        raise EvidenceError(f"{path!r} is not a file path.") from exc
    if not str(given):
        raise EvidenceError("No file was given (the path is empty).")
    try:
        resolved = given.expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # e.g. a symbolic-link loop
        raise EvidenceError(f"{given} cannot be resolved to a file ({exc}).") from exc
    return resolved, given.name


def _empty_message(name: str) -> str:
    return f"{name} is empty (0 bytes): there is no picture in it. Obtain the original file again."


def _read_once(path: Path, name: str) -> tuple[bytes, os.stat_result]:
    """Open the file read-only once and return its bytes and the stat taken on that handle."""
    try:
        before = os.stat(path)
    except FileNotFoundError as exc:
        raise EvidenceError(f"{path} does not exist. Check the path and the file name.") from exc
    except PermissionError as exc:
        raise EvidenceError(
            f"{path} cannot be read: permission denied. Check its access rights."
        ) from exc
    except OSError as exc:
        raise EvidenceError(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    if stat.S_ISDIR(before.st_mode):
        raise EvidenceError(
            f"{path} is a folder, not an image file. Choose one image file inside it."
        )
    if not stat.S_ISREG(before.st_mode):
        raise EvidenceError(
            f"{path} is not a regular file (a device, pipe or socket); choose an image file."
        )
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_size == 0:
                raise EvidenceError(_empty_message(name))
            data = handle.read()
    except EvidenceError:
        raise
    except MemoryError as exc:
        raise memory_error(name) from exc
    except PermissionError as exc:
        raise EvidenceError(
            f"{path} cannot be read: permission denied. Check its access rights."
        ) from exc
    except IsADirectoryError as exc:
        raise EvidenceError(f"{path} is a folder, not an image file.") from exc
    except OSError as exc:
        raise EvidenceError(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    if not data:
        raise EvidenceError(_empty_message(name))
    if len(data) != info.st_size:
        raise EvidenceError(
            f"{name} changed size while it was being read ({info.st_size} bytes expected, "
            f"{len(data)} read). Another program is writing it; wait until it has finished."
        )
    return data, info


def _mismatch_note(suffix: str, fmt: str) -> str | None:
    expected = EXTENSION_FORMATS.get(suffix.lower())
    if expected is None or expected == fmt:
        return None
    return (
        f"file name ends in '{suffix}' but the content is {label(fmt)}; loaded as {label(fmt)} "
        "(the format is taken from the bytes, not the name)"
    )


def _shape_notes(width: int, height: int, channels_bytes: int, file_size: int) -> list[str]:
    """Notes on a picture whose shape or compression ratio is far from a photograph's."""
    notes = []
    ratio = width * height * channels_bytes / max(file_size, 1)
    if ratio > UNUSUAL_COMPRESSION_RATIO:
        notes.append(
            f"the file is {ratio:,.0f} times smaller than its decoded pixels (a photograph's "
            "ratio is rarely above 50:1): the picture is largely uniform, synthetic, or the file "
            "was made to expand (a decompression bomb)"
        )
    if max(width, height) > UNUSUAL_ASPECT_RATIO * min(width, height):
        notes.append(
            f"unusual shape for a photograph: {width} x {height} pixels (aspect ratio "
            f"{max(width, height) / min(width, height):.0f}:1)"
        )
    return notes


def _decode(data: bytes, fmt: str, name: str, max_pixels: int) -> Decoded:
    if fmt != "RAW":
        return decode_with_pillow(data, fmt, name, max_pixels)
    try:
        return decode_raw(data, name, max_pixels)
    except RawDecodeFailure as raw_exc:
        if not is_tiff_magic(data[:8]):
            raise EvidenceError(
                f"{name} looks like a camera RAW file but LibRaw could not decode it ({raw_exc}). "
                "The file is corrupt, truncated, or from a camera this LibRaw version does not "
                "know; convert it to DNG or TIFF with the camera maker's software and load that."
            ) from raw_exc
        try:
            decoded = decode_with_pillow(data, "TIFF", name, max_pixels)
        except EvidenceError as tiff_exc:
            raise EvidenceError(
                f"{name} looks like a camera RAW file (TIFF-structured) but could not be decoded: "
                f"LibRaw said '{raw_exc}', and reading it as a plain TIFF failed too ({tiff_exc}). "
                "The file is corrupt or not really a RAW file; obtain the original from the camera."
            ) from tiff_exc
        decoded.notes.insert(
            0, f"LibRaw could not read it as camera RAW ({raw_exc}); decoded as a plain TIFF"
        )
        return decoded


def _freeze(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype.kind == "u" and not pixels.dtype.isnative:
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype not in (np.uint8, np.uint16):
        raise EvidenceError(f"internal error: decoder produced {pixels.shape} {pixels.dtype}")
    pixels.flags.writeable = False
    return pixels


def load_evidence(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> Evidence:
    """Load a questioned image for analysis.

    The file is opened read-only exactly once; SHA-256 and MD5 are computed from the bytes read,
    and the picture is decoded from memory, so the hashes describe exactly what was analysed.
    The format is recognised from the bytes, not the name. Pictures declaring more than
    ``max_pixels`` pixels are refused before decoding. Pixels are returned as stored (EXIF
    orientation is only reported). Every failure raises :class:`EvidenceError` with a message
    for a person.
    """
    if (
        isinstance(max_pixels, bool)
        or not isinstance(max_pixels, (int, np.integer))
        or max_pixels <= 0
    ):
        raise EvidenceError(f"max_pixels must be a positive whole number, not {max_pixels!r}.")
    max_pixels = int(max_pixels)
    resolved, name = _resolve(path)
    data, info = _read_once(resolved, name)
    sha256, md5 = hash_bytes(data)

    suffix = Path(name).suffix
    fmt = detect_format(data[:_HEADER_BYTES], suffix)
    if fmt is None:
        raise EvidenceError(
            f"{name} is not a supported image format (recognised: {SUPPORTED_DESCRIPTION}); its "
            "first bytes match none of them, whatever its name says."
            + describe_unrecognised(data[:512])
        )
    try:
        decoded = _decode(data, fmt, name, max_pixels)
    except EvidenceError:
        raise
    except MemoryError as exc:
        raise memory_error(name) from exc
    except Exception as exc:  # noqa: BLE001 - no decoder exception may reach the caller raw
        raise corrupt_error(name, fmt, exc) from exc

    notes: list[str] = []
    mismatch = _mismatch_note(suffix, decoded.format)
    if mismatch:
        notes.append(mismatch)
    notes.extend(decoded.notes)
    notes.extend(decoded.metadata.notes)
    height, width = decoded.pixels.shape[:2]
    notes.extend(_shape_notes(width, height, 3 * decoded.pixels.dtype.itemsize, len(data)))
    return Evidence(
        path=resolved,
        sha256=sha256,
        md5=md5,
        file_size=len(data),
        mtime_ns=int(info.st_mtime_ns),
        format=decoded.format,
        pixels=_freeze(decoded.pixels),
        bit_depth=16 if decoded.pixels.dtype == np.uint16 else 8,
        original_mode=decoded.original_mode,
        orientation=decoded.metadata.orientation,
        jpeg=decoded.jpeg,
        metadata=tuple(decoded.metadata.rows),
        notes=tuple(dict.fromkeys(notes)),
    )
