"""Evidence loading: read a questioned image once, read-only, hash it and decode it to RGB.

Public API::

    from forensics_core.evidence import load_evidence, Evidence, JpegInfo
    evidence = load_evidence("photo.jpg")        # raises EvidenceError with a readable message

Module map: ``loader`` (load_evidence), ``model`` (Evidence, JpegInfo), ``formats`` (magic-byte
detection), ``decoders`` (Pillow / OpenCV / tifffile / LibRaw), ``colour`` (mode -> RGB),
``jpeg`` (quantisation tables, quality), ``metadata`` (EXIF/XMP flattening), ``hashing``,
``pil_guard`` (Pillow's global limits, changed only during a decode).
"""

from forensics_core.errors import EvidenceError

from .formats import detect_format
from .hashing import sha256_file
from .jpeg import estimate_jpeg_quality
from .loader import DEFAULT_MAX_PIXELS, load_evidence
from .model import Evidence, JpegInfo

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "Evidence",
    "EvidenceError",
    "JpegInfo",
    "detect_format",
    "estimate_jpeg_quality",
    "load_evidence",
    "sha256_file",
]
