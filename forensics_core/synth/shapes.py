"""Random region masks: where a forgery goes.

Every function returns an HxW bool mask that is never empty, and accepts an optional ``record``
dictionary that receives the shape's random parameters (for the sample's labels).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from forensics_core.synth.data import read_mask

#: Fraction of the frame a region may cover.
MIN_AREA, MAX_AREA = 0.02, 0.35

#: Attempts before a shape generator gives up (each attempt succeeds with high probability).
_ATTEMPTS = 50


def object_region(h: int, w: int, rng: np.random.Generator, masks: Sequence[Path],
                  record: dict[str, Any] | None = None, max_area: float = MAX_AREA) -> np.ndarray:
    """An annotated object's silhouette, randomly scaled, rotated, flipped and placed.

    The object is first scaled so that it covers the same fraction of the ``h x w`` frame as of
    its annotated photograph, then by a random factor in 0.5-1.5 (narrowed so that the area stays
    within 2 % and ``max_area`` of the frame), rotated by up to +-45 degrees, mirrored left-right with
    probability 1/2, and placed at a random position where it lies entirely inside the frame.
    Draws that do not fit are retried with another mask; if none fits (tiny frames), a
    :func:`polygon_region` is returned instead.

    Parameters
    ----------
    h, w : int
        Frame size.
    rng : numpy.random.Generator
        Source of randomness.
    masks : sequence of Path
        Binary object masks (255 = object), e.g. :func:`forensics_core.synth.data.object_masks`.
    record : dict, optional
        Receives the mask name, scale, angle, flip and position.
    max_area : float, optional
        Largest fraction of the frame covered, at most :data:`MAX_AREA`; the other shape functions
        take it too.
    """
    for _ in range(_ATTEMPTS):
        path = masks[int(rng.integers(len(masks)))]
        shape, source_area = _object_shape(os.fspath(path))
        fraction = shape.sum() / source_area
        base = math.sqrt(h * w / source_area)
        low = max(0.5, math.sqrt(MIN_AREA / fraction))
        high = min(1.5, math.sqrt(max_area / fraction))
        if low > high:
            continue
        scale = float(rng.uniform(low, high))
        angle = float(rng.uniform(-45.0, 45.0))
        flip = bool(rng.random() < 0.5)
        placed = _warp_to_fit(shape, base * scale, angle, flip, h, w)
        if placed is None:
            continue
        canvas_h, canvas_w = placed.shape
        top, left = int(rng.integers(h - canvas_h + 1)), int(rng.integers(w - canvas_w + 1))
        region = np.zeros((h, w), dtype=bool)
        region[top:top + canvas_h, left:left + canvas_w] = placed
        if MIN_AREA * h * w <= region.sum() <= max_area * h * w:
            if record is not None:
                record.update(shape="object", mask=Path(path).name, scale=scale, angle=angle, flip=flip,
                              top=top, left=left)
            return region
    return polygon_region(h, w, rng, record, max_area)


def polygon_region(h: int, w: int, rng: np.random.Generator,
                   record: dict[str, Any] | None = None, max_area: float = MAX_AREA) -> np.ndarray:
    """A random star-shaped polygon lying inside the frame.

    Five to twelve vertices at jittered, equally spaced angles around a centre, each at a random
    radius between 0.45 and 1 times a common radius; the common radius is set so that the polygon
    covers about 3-30 % of the frame (at most ``max_area``; less if it would not fit), and the
    centre so that it lies inside.
    """
    for _ in range(_ATTEMPTS):
        n = int(rng.integers(5, 13))
        step = 2.0 * math.pi / n
        angles = rng.uniform(0.0, 2.0 * math.pi) + step * (np.arange(n) + rng.uniform(-0.35, 0.35, n))
        radii = rng.uniform(0.45, 1.0, n)
        unit = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        following = np.roll(unit, -1, axis=0)
        unit_area = 0.5 * abs(np.sum(unit[:, 0] * following[:, 1] - following[:, 0] * unit[:, 1]))  # shoelace
        target = float(rng.uniform(min(0.03, max_area), min(0.30, max_area)))
        extent = unit.max(axis=0) - unit.min(axis=0)
        radius = min(math.sqrt(target * h * w / unit_area), (w - 1) / extent[0], (h - 1) / extent[1])
        points = unit * radius
        low, high = points.min(axis=0), points.max(axis=0)
        centre = np.array([rng.uniform(-low[0], w - 1 - high[0]), rng.uniform(-low[1], h - 1 - high[1])])
        region = np.zeros((h, w), dtype=np.uint8)
        cv2.fillPoly(region, [np.rint((points + centre) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        if region.sum() >= MIN_AREA * h * w:
            if record is not None:
                record.update(shape="polygon", vertices=n, area=target, radius=float(radius),
                              centre=[float(centre[0]), float(centre[1])])
            return region.astype(bool)
    raise RuntimeError(f"could not draw a polygon region in a {h}x{w} frame")


def blob_region(h: int, w: int, rng: np.random.Generator,
                record: dict[str, Any] | None = None, max_area: float = MAX_AREA) -> np.ndarray:
    """An organic blob: smooth random noise, thresholded, keeping its largest connected part.

    Coarse Gaussian noise (about one value per 32 pixels) plus a bump at a random centre is
    upsampled bicubically, thresholded at the quantile that leaves 5-30 % (at most ``max_area``) of
    the frame, and reduced to its largest 8-connected component, which must cover at least 2 % of the frame.
    """
    for _ in range(_ATTEMPTS):
        grid_h, grid_w = max(3, h // 32), max(3, w // 32)
        coarse = rng.normal(0.0, 1.0, (grid_h, grid_w)).astype(np.float32)
        cy, cx = rng.uniform(0.2, 0.8) * (grid_h - 1), rng.uniform(0.2, 0.8) * (grid_w - 1)
        yy, xx = np.mgrid[:grid_h, :grid_w]
        coarse += 2.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.1 * (grid_h ** 2 + grid_w ** 2)))
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        area = float(rng.uniform(min(0.05, max_area), min(0.30, max_area)))
        rank = int((1.0 - area) * (field.size - 1))
        threshold = np.partition(field.ravel(), rank)[rank]
        count, labels, stats, _ = cv2.connectedComponentsWithStats((field > threshold).astype(np.uint8), connectivity=8)
        if count < 2:
            continue
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[largest, cv2.CC_STAT_AREA] >= MIN_AREA * h * w:
            if record is not None:
                record.update(shape="blob", area=area, centre=[float(cx / (grid_w - 1)), float(cy / (grid_h - 1))])
            return labels == largest
    raise RuntimeError(f"could not draw a blob region in a {h}x{w} frame")


def random_region(h: int, w: int, rng: np.random.Generator, masks: Sequence[Path],
                  record: dict[str, Any] | None = None, max_area: float = MAX_AREA) -> np.ndarray:
    """One of :func:`object_region` (probability 1/2), :func:`polygon_region` or :func:`blob_region`
    (1/4 each), covering 2 % to ``max_area`` of the frame. Without ``masks`` the choice is between
    polygons and blobs only."""
    draw = rng.random()
    if masks and draw < 0.5:
        return object_region(h, w, rng, masks, record, max_area)
    if draw < (0.75 if masks else 0.5):
        return polygon_region(h, w, rng, record, max_area)
    return blob_region(h, w, rng, record, max_area)


@functools.lru_cache(maxsize=512)
def _object_shape(path: str) -> tuple[np.ndarray, int]:
    """The mask cropped to its bounding box, and the area of the frame it was annotated in."""
    mask = read_mask(path)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError(f"object mask {path} is empty")
    shape = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    shape.setflags(write=False)
    return shape, mask.size


def _warp_to_fit(shape: np.ndarray, scale: float, angle: float, flip: bool, h: int, w: int) -> np.ndarray | None:
    """``shape`` scaled, rotated and mirrored onto the smallest canvas holding it; None if larger
    than ``h x w``."""
    sh, sw = shape.shape
    centre = ((sw - 1) / 2.0, (sh - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    if flip:
        matrix[:, 0] *= -1.0
        matrix[:, 2] += matrix[:, 0] * -(sw - 1)
    corners = np.array([[0, 0, 1], [sw - 1, 0, 1], [0, sh - 1, 1], [sw - 1, sh - 1, 1]], dtype=np.float64)
    mapped = corners @ matrix.T
    low = np.floor(mapped.min(axis=0))
    canvas_w, canvas_h = (np.ceil(mapped.max(axis=0)) - low + 1).astype(int)
    if canvas_h > h or canvas_w > w:
        return None
    matrix[:, 2] -= low
    warped = cv2.warpAffine(shape.astype(np.uint8) * 255, matrix, (int(canvas_w), int(canvas_h)),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped > 127
