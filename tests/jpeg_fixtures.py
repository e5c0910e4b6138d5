"""JPEG test pictures built from scratch: a photograph-like texture, saves on shifted grids, splices."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from forensics_core.synth.jpeg_splices import compress_on_grid, encode_jpeg

#: The region every constructed splice pastes (rows, columns), not on the 8x8 grid.
REGION = (slice(93, 253), slice(141, 333))


def textured_photo(seed: int, height: int = 384, width: int = 480) -> np.ndarray:
    """A never-compressed uint8 RGB picture with photograph-like spectra: smooth shading, edges, texture."""
    rng = np.random.default_rng(seed)
    layers = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((24.0, 60.0), (6.0, 25.0), (1.5, 8.0), (0.0, 2.0)):
        noise = rng.normal(0.0, 1.0, (height, width, 3)).astype(np.float32)
        if sigma:
            noise = cv2.GaussianBlur(noise, (0, 0), sigma)
            noise /= noise.std() + 1e-6
        layers += weight * noise
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    steps = 40.0 * np.sign(np.sin(xx / 37.0 + yy / 53.0))[..., None]
    picture = 128.0 + layers + steps
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def region_mask(shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of :data:`REGION`."""
    mask = np.zeros(shape, bool)
    mask[REGION] = True
    return mask


def splice(q1: int, donor_quality: int | None = None, donor_shift: tuple[int, int] = (0, 0),
           seed: int = 0, first_grid: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """A picture compressed at ``q1`` on a grid with origin ``first_grid`` with :data:`REGION` pasted from another.

    ``first_grid`` other than (0, 0) makes the non-aligned case (a JPEG cropped before editing).
    The donor is uncompressed when ``donor_quality`` is None, else compressed at that quality
    on a grid with origin ``donor_shift``. Returns the uint8 RGB picture (not yet saved) and the mask.
    """
    target = compress_on_grid(textured_photo(seed), q1, first_grid)
    donor = textured_photo(seed + 1)
    if donor_quality is not None:
        donor = compress_on_grid(donor, donor_quality, donor_shift)
    mask = region_mask(target.shape[:2])
    picture = target.copy()
    picture[mask] = donor[mask]
    return picture, mask


def write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> Path:
    """Save ``rgb`` as a JPEG at ``quality`` (libjpeg, 4:2:0) and return the path."""
    path.write_bytes(encode_jpeg(rgb, quality))
    return path


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Save ``rgb`` losslessly as PNG and return the path."""
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
