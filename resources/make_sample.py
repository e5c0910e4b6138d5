"""Re-create the bundled sample image ``samples/sample_resampled.png`` and its ground-truth mask.

Base: scikit-image's ``coffee.png`` (CC0, Rachel Michetti). An elliptical region of the wooden
table (lower right) is replaced by a copy of itself upscaled by 1.3 and rotated by 6 degrees
(bilinear interpolation): a local resampling manipulation that is invisible by eye.
Saved losslessly so the resampling traces survive.

Run from the repository root: ``python resources/make_sample.py``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent / "samples"


def make_sample() -> tuple[np.ndarray, np.ndarray]:
    """The spliced RGB image (uint8) and its boolean ground-truth mask."""
    base = data.coffee().copy()
    centre = (522.0, 307.0)
    transform = cv2.getRotationMatrix2D(centre, 6.0, 1.3)
    warped = cv2.warpAffine(base, transform, (base.shape[1], base.shape[0]), flags=cv2.INTER_LINEAR)
    height, width = 90, 120
    source = warped[262:262 + height, 462:462 + width]
    region = np.zeros((height, width), np.uint8)
    cv2.ellipse(region, (width // 2, height // 2), (width // 2 - 4, height // 2 - 4), 0, 0, 360, 1, -1)
    top, left = 262, 462
    mask = np.zeros(base.shape[:2], bool)
    mask[top:top + height, left:left + width] = region.astype(bool)
    base[mask] = source[region.astype(bool)]
    return base, mask


if __name__ == "__main__":
    image, mask = make_sample()
    HERE.mkdir(exist_ok=True)
    cv2.imwrite(str(HERE / "sample_resampled.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(HERE / "sample_resampled_mask.png"), mask.astype(np.uint8) * 255)
    print(f"wrote {HERE / 'sample_resampled.png'} ({image.shape[1]}x{image.shape[0]})")
