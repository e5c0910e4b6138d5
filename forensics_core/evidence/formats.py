"""Recognise an image format from its first bytes (magic numbers), never from its name.

The file name is consulted for one thing only: many camera RAW formats (NEF, ARW, DNG, PEF,
SRW...) are plain TIFF structures, so a TIFF-structured file whose name has a RAW extension is
treated as ``"RAW"`` (the loader falls back to TIFF decoding when LibRaw cannot read it).
"""

from __future__ import annotations

import codecs
import struct

#: Formats :func:`detect_format` can return.
FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP", "HEIF", "RAW", "GIF")

#: Shown to people when a file is not recognised.
SUPPORTED_DESCRIPTION = "JPEG, PNG, TIFF, BMP, WebP, HEIF, GIF, camera RAW"

RAW_EXTENSIONS = frozenset(
    {
        ".3fr", ".ari", ".arw", ".bay", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".fff",
        ".iiq", ".k25", ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".ptx",
        ".raf", ".raw", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip

#: The format a person expects from a file-name extension (for the mismatch note).
EXTENSION_FORMATS: dict[str, str] = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".jif": "JPEG",
    ".png": "PNG", ".apng": "PNG",
    ".tif": "TIFF", ".tiff": "TIFF",
    ".bmp": "BMP", ".dib": "BMP",
    ".webp": "WEBP",
    ".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF", ".avif": "HEIF",
    ".gif": "GIF",
    **{ext: "RAW" for ext in RAW_EXTENSIONS},
}  # fmt: skip

# ISO-BMFF ``ftyp`` brands of still HEIF images (HEVC and AV1 coded).
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
     b"mif2", b"avif", b"avis"}
)  # fmt: skip
_CR3_BRAND = b"crx "

# Magic numbers of RAW formats that are not plain TIFF.
_RAW_PREFIXES = (
    b"FUJIFILMCCD-RAW",  # Fujifilm RAF
    b"IIRO",  # Olympus ORF
    b"IIRS",  # Olympus ORF (older)
    b"MMOR",  # Olympus ORF (big-endian)
    b"IIU\x00",  # Panasonic RW2 / Leica RWL
    b"\x00MRM",  # Minolta MRW
    b"FOVb",  # Sigma X3F
)
_TIFF_PREFIXES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_DNG_VERSION_TAG = 50706


def is_tiff_magic(header: bytes) -> bool:
    """True when ``header`` starts like a (classic or Big) TIFF file."""
    return header[:4] in _TIFF_PREFIXES


def _ftyp_brands(header: bytes) -> tuple[bytes, list[bytes]] | None:
    """Return (major brand, compatible brands) of an ISO-BMFF ``ftyp`` box, or None."""
    if len(header) < 12 or header[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", header[:4])[0]
    end = min(size if size >= 16 else 16, len(header))
    compatible = [header[i : i + 4] for i in range(16, end - 3, 4)]
    return header[8:12], compatible


def _has_dng_tag(header: bytes) -> bool:
    """True when the first TIFF IFD (if inside ``header``) holds a DNGVersion tag."""
    if header[:4] not in (b"II*\x00", b"MM\x00*") or len(header) < 8:
        return False
    order = "<" if header[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", header[4:8])
    if offset + 2 > len(header):
        return False
    (count,) = struct.unpack(order + "H", header[offset : offset + 2])
    for i in range(min(count, 4096)):
        start = offset + 2 + 12 * i
        if start + 2 > len(header):
            return False
        (tag,) = struct.unpack(order + "H", header[start : start + 2])
        if tag == _DNG_VERSION_TAG:
            return True
    return False


def _is_bmp(header: bytes) -> bool:
    """'BM' followed by a known DIB header size (two letters alone are too weak a signature)."""
    if header[:2] != b"BM" or len(header) < 18:
        return False
    (dib_size,) = struct.unpack("<I", header[14:18])
    return dib_size in (12, 16, 40, 52, 56, 64, 108, 124)


def detect_format(header: bytes, suffix: str = "") -> str | None:
    """Return the image format of a file from its first bytes, or None when not recognised.

    ``header`` should hold at least the first 64 bytes (more lets DNG files be told from TIFF
    regardless of their name). ``suffix`` is the file-name extension (``".NEF"``); it is only
    used to route TIFF-structured files with a RAW extension to the RAW decoder. Returns one
    of ``"JPEG", "PNG", "TIFF", "BMP", "WEBP", "HEIF", "RAW", "GIF"``.
    """
    header = bytes(header)
    suffix = suffix.lower()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    if header[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if header[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WEBP"
    if header.startswith(_RAW_PREFIXES):
        return "RAW"
    if header[:2] in (b"II", b"MM") and header[6:14] == b"HEAPCCDR":  # Canon CRW (CIFF)
        return "RAW"
    if is_tiff_magic(header):
        if header[:4] == b"II*\x00" and header[8:10] == b"CR":  # Canon CR2
            return "RAW"
        if suffix in RAW_EXTENSIONS or _has_dng_tag(header):
            return "RAW"
        return "TIFF"
    brands = _ftyp_brands(header)
    if brands is not None:
        major, compatible = brands
        if major == _CR3_BRAND:
            return "RAW"
        if major in _HEIF_BRANDS or any(b in _HEIF_BRANDS for b in compatible):
            return "HEIF"
        return None
    if _is_bmp(header):
        return "BMP"
    return None


def describe_unrecognised(header: bytes) -> str:
    """A short hint about what an unrecognised file seems to be ('' when there is no clue)."""
    head = bytes(header[:512]).lstrip(b"\xef\xbb\xbf").lstrip()
    lower = head.lower()
    if not head:
        return " The file holds only blank characters."
    if lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower[:200]:
        return " It looks like a web page (HTML), perhaps a failed download."
    if head.startswith(b"%PDF"):
        return " It looks like a PDF document; export the picture from it first."
    if head.startswith(b"PK\x03\x04"):
        return " It looks like a ZIP archive (or an Office document); extract the picture first."
    brands = _ftyp_brands(bytes(header))
    if brands is not None:
        return " It is an ISO media file (video or other); export a still frame first."
    try:  # incremental decoding tolerates a character cut at the end of the excerpt
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return ""
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text[:256]):
        return " It looks like a text file."
    return ""
