"""Re-create the bundled sample image ``samples/sample_resampled.png`` and its ground-truth mask.

Base: scikit-image's ``coffee.png`` (CC0, Rachel Michetti). A tall elliptical region of the
wooden table at the right edge (108x200 pixels, about 7 % of the frame) is replaced by a copy of
the picture upscaled by 1.6 about the region's centre (bilinear interpolation): a local
resampling manipulation that is hard to see by eye. Saved losslessly so the resampling traces
survive.

The shipped, lightly trained classifiers rank this region first (the default ``anomaly`` heatmap
peaks inside it, pixel AUC about 0.94; the ``deviation`` heatmap 0.85), largely because
upscaling erases the photograph's own JPEG 8x8 traces; with
a few degrees of rotation added, or a smaller region (the first sample was 120x90, 1.3x and 6
degrees), they miss it. The sample shows the workbench working, not the detector's limits: see
``benchmarks/bench_resampling.py`` for its measured accuracy.

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
    top, left, height, width = 150, 488, 200, 108
    centre = (left + width / 2, top + height / 2)
    transform = cv2.getRotationMatrix2D(centre, 0.0, 1.6)
    warped = cv2.warpAffine(base, transform, (base.shape[1], base.shape[0]), flags=cv2.INTER_LINEAR)
    region = np.zeros((height, width), np.uint8)
    cv2.ellipse(region, (width // 2, height // 2), (width // 2 - 4, height // 2 - 4), 0, 0, 360, 1, -1)
    mask = np.zeros(base.shape[:2], bool)
    mask[top:top + height, left:left + width] = region.astype(bool)
    base[mask] = warped[mask]
    return base, mask


if __name__ == "__main__":
    image, mask = make_sample()
    HERE.mkdir(exist_ok=True)
    cv2.imwrite(str(HERE / "sample_resampled.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(HERE / "sample_resampled_mask.png"), mask.astype(np.uint8) * 255)
    print(f"wrote {HERE / 'sample_resampled.png'} ({image.shape[1]}x{image.shape[0]})")
