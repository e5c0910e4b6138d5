"""Shared JPEG features: the file's own DCT coefficients, the 8x8 DCT, recompression, block maps.

The training-free JPEG detectors (``ela``, ``jpeg-ghost``, ``double-jpeg``, ``jpeg-grid``) take
what they need from here, so that none of them re-implements another's plumbing:

* :func:`read_luma_coefficients` reads the quantised DCT coefficients and the quantisation table
  of the luminance component straight from the bitstream with ``jpeglib`` (libjpeg-turbo 2.1,
  which also decodes arithmetic-coded files). Nothing is re-encoded to obtain them.
* :func:`dct_matrix` and :data:`ZIGZAG` follow ITU-T T.81 (the JPEG standard), Annex A.3.
* :func:`recompress` is the in-memory JPEG round trip of Error Level Analysis and JPEG ghosts.
* :func:`block_means` and :func:`expand_blocks` move between pixel and 8x8-block resolution.

References
----------
ITU-T Recommendation T.81 | ISO/IEC 10918-1, "Digital compression and coding of continuous-tone
still images", 1992, Annex A.3 (FDCT) and Figure A.6 (zig-zag order).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from forensics_core.errors import EvidenceError

#: The 64 (row, column) frequency positions of an 8x8 DCT block in zig-zag order (T.81, Fig. A.6).
ZIGZAG: tuple[tuple[int, int], ...] = tuple(
    sorted(((r, c) for r in range(8) for c in range(8)),
           key=lambda rc: (rc[0] + rc[1], rc[0] if (rc[0] + rc[1]) % 2 else rc[1]))
)

#: libjpeg-turbo build used to read coefficients (decodes Huffman and arithmetic coding).
_LIBJPEG_VERSION = "turbo210"


def dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix ``D`` (float64), so that ``D @ block @ D.T`` is T.81's FDCT.

    Row ``u`` is ``c(u) cos((2x + 1) u pi / 16)`` with ``c(0) = sqrt(1/8)`` and ``c(u) = 1/2``
    otherwise, which is exactly the normalisation of T.81 Annex A.3.3.
    """
    x = np.arange(8)
    matrix = np.cos((2 * x[None, :] + 1) * np.arange(8)[:, None] * math.pi / 16.0) * 0.5
    matrix[0] = math.sqrt(1.0 / 8.0)
    return matrix


def transform_blocks(blocks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``matrix @ block @ matrix.T`` for every block of ``blocks`` ``(count, 8, 8)``, float32.

    One matrix product: with blocks flattened row by row, the separable transform is the
    Kronecker product ``matrix (x) matrix`` acting on each 64-vector (``matrix = dct_matrix()``:
    the forward DCT; its transpose: the inverse). Faster than batched 8x8 products.
    """
    kronecker = np.kron(matrix, matrix).astype(np.float32)
    flat = np.ascontiguousarray(blocks, dtype=np.float32).reshape(-1, 64)
    return (flat @ kronecker.T).reshape(-1, 8, 8)


@dataclass(frozen=True)
class LumaCoefficients:
    """The quantised DCT coefficients of a JPEG's first (luminance) component, as stored.

    ``coefficients`` is ``(blocks_down, blocks_across, 8, 8)`` int16: entry ``[i, j, u, v]`` is
    frequency ``(u, v)`` (row, column) of the block whose top-left pixel is ``(8 i, 8 j)``.
    ``quant_table`` is the 8x8 table that dequantises them (natural order).
    """

    coefficients: np.ndarray
    quant_table: np.ndarray
    height: int
    width: int
    colour_space: str
    progressive: bool


def _is_truncated(data: bytes) -> bool:
    """True when no end-of-image marker follows the last start-of-scan marker.

    ``FF DA`` and ``FF D9`` cannot occur inside entropy-coded data (every 0xFF there is stuffed
    with 0x00, T.81 B.1.1.5), so the last SOS is the final scan of the main picture.
    """
    last_scan = data.rfind(b"\xff\xda")
    return last_scan < 0 or data.rfind(b"\xff\xd9") < last_scan


def read_luma_coefficients(path: str | os.PathLike[str]) -> LumaCoefficients:
    """Read the luminance DCT coefficients and quantisation table from the JPEG at ``path``.

    The file is opened read-only. Baseline, progressive, restart-marker, arithmetic-coded and
    every chroma subsampling are read; greyscale files have only this component.

    Raises
    ------
    EvidenceError
        When the file is not a readable JPEG, its scan is truncated, or it has no luminance
        component (CMYK and YCCK files).
    """
    import jpeglib

    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise EvidenceError(f"Cannot read {name} to take its DCT coefficients: {exc.strerror or exc}.") from None
    if not data.startswith(b"\xff\xd8"):
        raise EvidenceError(f"{name} is not a JPEG file: its DCT coefficients cannot be read.")
    if _is_truncated(data):
        raise EvidenceError(
            f"The JPEG scan of {name} is truncated (no end-of-image marker after the last scan): "
            "the missing blocks would be read as zeros and bias the coefficient statistics, so "
            "this analysis refuses it. Obtain a complete copy of the file.")
    try:
        with jpeglib.version(_LIBJPEG_VERSION):
            jpeg = jpeglib.read_dct(os.fspath(path))
            coefficients = np.array(jpeg.Y, dtype=np.int16)
            quant_table = np.array(jpeg.qt[int(jpeg.quant_tbl_no[0])], dtype=np.int32)
            colour_space = str(jpeg.jpeg_color_space).replace("JCS_", "")
            progressive = bool(jpeg.progressive_mode)
            height, width = int(jpeg.height), int(jpeg.width)
    except Exception as exc:  # libjpeg reports every decoding failure as an OSError/ValueError
        raise EvidenceError(f"The JPEG bitstream of {name} cannot be decoded into DCT coefficients ({exc}).") from None
    if colour_space in ("CMYK", "YCCK"):
        raise EvidenceError(
            f"{name} is a {colour_space} JPEG: it has no luminance component, and this analysis "
            "models the luminance coefficients of YCbCr or greyscale JPEGs only.")
    if quant_table.shape != (8, 8) or np.any(quant_table <= 0):
        raise EvidenceError(f"{name} has a malformed luminance quantisation table.")
    return LumaCoefficients(coefficients, quant_table, height, width, colour_space, progressive)


def as_uint8_rgb(pixels: np.ndarray) -> np.ndarray:
    """``pixels`` (HxWx3 uint8 or uint16) as C-contiguous uint8 RGB (16-bit values rounded to 8)."""
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    scaled = np.rint(pixels.astype(np.float32) * np.float32(255.0 / 65535.0))
    return np.ascontiguousarray(np.clip(scaled, 0, 255).astype(np.uint8))


def recompress_bgr(bgr: np.ndarray, quality: int) -> np.ndarray:
    """Encode uint8 BGR ``bgr`` as a baseline JPEG at IJG ``quality`` in memory and decode it again.

    libjpeg-turbo (through OpenCV) with its default 4:2:0 chroma subsampling, the standard
    tables scaled for ``quality``, grid origin at the top-left pixel. BGR is OpenCV's own
    channel order, so a caller that recompresses many times converts only once.
    """
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 three-channel array
        raise RuntimeError(f"JPEG encoding at quality {quality} failed")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def recompress(rgb: np.ndarray, quality: int) -> np.ndarray:
    """:func:`recompress_bgr` for a uint8 RGB array; returns RGB."""
    return cv2.cvtColor(recompress_bgr(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality), cv2.COLOR_BGR2RGB)


def block_means(values: np.ndarray, block: int) -> np.ndarray:
    """Mean of ``values`` (HxW) over non-overlapping ``block`` x ``block`` tiles; partial tiles included."""
    height, width = values.shape
    rows, cols = -(-height // block), -(-width // block)
    full_rows, full_cols = height // block, width // block
    sums = np.zeros((rows, cols), np.float64)
    if full_rows and full_cols:  # whole tiles: area averaging by an integer factor is their exact mean
        body = np.ascontiguousarray(values[: full_rows * block, : full_cols * block], dtype=np.float32)
        sums[:full_rows, :full_cols] = cv2.resize(body, (full_cols, full_rows), interpolation=cv2.INTER_AREA)
        sums[:full_rows, :full_cols] *= block * block
    counts = np.full((rows, cols), float(block * block))
    if full_cols < cols:  # the partial column of tiles on the right
        edge = values[:, full_cols * block:].astype(np.float64)
        sums[:, full_cols] = np.add.reduceat(edge.sum(axis=1), np.arange(0, height, block))
        counts[:, full_cols] = np.diff(np.append(np.arange(0, height, block), height)) * edge.shape[1]
    if full_rows < rows:  # the partial row of tiles at the bottom (the corner is in the column above)
        edge = values[full_rows * block:, : full_cols * block].astype(np.float64)
        sums[full_rows, :full_cols] = edge.reshape(edge.shape[0], full_cols, block).sum(axis=(0, 2))
        counts[full_rows, :full_cols] = edge.shape[0] * block
    return (sums / counts).astype(np.float32)


def expand_blocks(small: np.ndarray, block: int, shape: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Repeat each value of ``small`` over its ``block`` x ``block`` tile, cut or padded (``fill``) to ``shape``."""
    small = np.ascontiguousarray(small, dtype=np.float32)
    big = cv2.resize(small, (small.shape[1] * block, small.shape[0] * block), interpolation=cv2.INTER_NEAREST)
    out = np.full(shape, fill, np.float32)
    rows, cols = min(shape[0], big.shape[0]), min(shape[1], big.shape[1])
    out[:rows, :cols] = big[:rows, :cols]
    return out

