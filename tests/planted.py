"""Synthetic test images with a planted manipulation whose ground truth is known exactly."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def noisy_image_with_planted_region(height: int = 192, width: int = 256, seed: int = 0
                                    ) -> tuple[np.ndarray, np.ndarray]:
    """A smooth gradient with weak noise, and a rectangle whose noise is four times stronger.

    Returns the uint8 RGB image and the boolean ground-truth mask of the rectangle.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.3 + 0.4 * (xx / width) * 0.5 + 0.2 * (yy / height)
    noise = rng.normal(0.0, 0.01, (height, width)).astype(np.float32)
    mask = np.zeros((height, width), bool)
    mask[height // 4: height // 4 + height // 3, width // 2: width // 2 + width // 3] = True
    noise[mask] = rng.normal(0.0, 0.04, int(mask.sum()))
    grey = np.clip(base + noise, 0, 1)
    rgb = np.stack([grey, grey * 0.95, grey * 0.9], axis=-1)
    return np.rint(rgb * 255).astype(np.uint8), mask


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 array as PNG (test fixture helper)."""
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    assert cv2.imwrite(str(path), image)
    return path
