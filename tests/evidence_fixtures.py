"""Builders of small test images for tests/test_evidence.py (everything made at test time)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def noise_rgb(
    height: int = 48, width: int = 64, seed: int = 0, dtype: type = np.uint8
) -> np.ndarray:
    """A reproducible random HxWx3 picture."""
    rng = np.random.default_rng(seed)
    top = 65536 if dtype == np.uint16 else 256
    return rng.integers(0, top, size=(height, width, 3), dtype=np.int64).astype(dtype)


def smooth_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth gradient (compresses well, survives lossy codecs)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1
    ).astype(np.uint8)


def save(image: Image.Image, path: Path, fmt: str, **params: object) -> Path:
    """Save ``image`` to ``path`` in ``fmt`` and return the path."""
    image.save(path, fmt, **params)
    return path


def jpeg_bytes(array: np.ndarray | None = None, **params: object) -> bytes:
    """Encode an RGB array (noise by default) as JPEG with Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(noise_rgb() if array is None else array).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_with_header(
    width: int, height: int, bit_depth: int = 1, colour_type: int = 0, rows: int = 1
) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` but whose IDAT holds only ``rows`` rows.

    Lets a test present a huge declared picture (a decompression bomb) in a few bytes.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    bits_per_pixel = bit_depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes((width * bits_per_pixel + 7) // 8)
    idat = zlib.compress(row * rows, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def write_dng(path: Path, height: int = 64, width: int = 96, seed: int = 0) -> Path:
    """Write a minimal uncompressed Bayer (RGGB) DNG that LibRaw can develop."""
    import tifffile

    rng = np.random.default_rng(seed)
    cfa = rng.integers(0, 4096, size=(height, width)).astype(np.uint16)
    extratags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Test Camera", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern RGGB
        (50717, "H", 1, 4095, True),  # WhiteLevel
        (50714, "H", 1, 0, True),  # BlackLevel
        (
            50721,
            "2i",
            9,
            (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1),
            True,
        ),  # ColorMatrix1
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (271, "s", 0, "TestMake", True),
        (272, "s", 0, "TestModel", True),
    ]
    tifffile.imwrite(path, cfa, photometric=32803, extratags=extratags, compression=None)
    return path


XMP_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Adobe Photoshop 25.0">'
    b"<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)
