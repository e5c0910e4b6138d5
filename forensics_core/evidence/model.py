"""The loaded questioned image (:class:`Evidence`) and its JPEG facts (:class:`JpegInfo`)."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np

from forensics_core.errors import EvidenceError

from .hashing import sha256_file

# ITU-R BT.601 luma weights, applied to the (non-linear) RGB values as stored.
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class JpegInfo:
    """What the JPEG bitstream says about how the picture was compressed.

    ``quant_tables`` maps a table id to its 64 values in natural (row-major 8x8) order.
    ``quality`` is the estimated IJG quality factor (1..100), ``None`` when the tables do not
    resemble the IJG tables at all. ``standard_tables`` is True when every table equals an
    IJG table scaled by the libjpeg formula exactly.
    """

    quant_tables: dict[int, tuple[int, ...]]
    quality: float | None
    standard_tables: bool
    subsampling: str | None
    progressive: bool


# eq=False: the pixel array makes field-wise equality and hashing meaningless (and numpy would
# raise on them), so two Evidence objects compare by identity; compare ``sha256`` instead.
@dataclass(frozen=True, eq=False)
class Evidence:
    """A questioned image, decoded once, with the facts needed to trust and report it.

    ``pixels`` is an HxWx3 C-contiguous read-only array, ``uint8`` or ``uint16`` as decoded
    (``bit_depth`` says which). Pixels are left as stored: EXIF orientation is only reported.
    """

    path: pathlib.Path
    sha256: str
    md5: str
    file_size: int
    mtime_ns: int
    format: str
    pixels: np.ndarray
    bit_depth: int
    original_mode: str
    orientation: int | None
    jpeg: JpegInfo | None
    metadata: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]

    @property
    def height(self) -> int:
        """Image height in pixels (rows of ``pixels``)."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels (columns of ``pixels``)."""
        return int(self.pixels.shape[1])

    @property
    def megapixels(self) -> float:
        """Width times height, in millions of pixels."""
        return self.width * self.height / 1_000_000.0

    def rgb_float(self) -> np.ndarray:
        """Return a new HxWx3 ``float32`` array in [0, 1] (divided by 255 or 65535)."""
        scale = 65535.0 if self.pixels.dtype == np.uint16 else 255.0
        out = self.pixels.astype(np.float32)
        out *= np.float32(1.0 / scale)
        return out

    def channel_float(self, index: int) -> np.ndarray:
        """Return a new HxW ``float32`` array in [0, 1] of one channel (0 red, 1 green, 2 blue):
        the same values as ``rgb_float()[..., index]``, without converting the other two."""
        scale = 65535.0 if self.pixels.dtype == np.uint16 else 255.0
        out = self.pixels[..., index].astype(np.float32)
        out *= np.float32(1.0 / scale)
        return out

    def luminance(self) -> np.ndarray:
        """Return a new HxW ``float32`` array in [0, 1]: ITU-R BT.601 luma of the stored RGB."""
        luma = self.rgb_float() @ _BT601
        np.clip(luma, 0.0, 1.0, out=luma)
        return np.ascontiguousarray(luma, dtype=np.float32)

    def verify_unchanged(self) -> None:
        """Re-hash the file on disk (read-only) and raise ``EvidenceError`` if it changed.

        Call this before writing a report: the report must describe the exact bytes that
        were analysed.
        """
        try:
            now = sha256_file(self.path)
        except EvidenceError as exc:
            raise EvidenceError(
                f"EVIDENCE FILE CHANGED SINCE LOADING: {self.path} can no longer be read "
                f"({exc}); sha256 was {self.sha256}. The analysis no longer matches a file on "
                "disk; restore the original file and load it again."
            ) from exc
        if now != self.sha256:
            raise EvidenceError(
                f"EVIDENCE FILE CHANGED SINCE LOADING: {self.path} sha256 was {self.sha256} "
                f"now {now}. Something modified the file after it was analysed; the results "
                "do not describe the current file. Restore the original and load it again."
            )
