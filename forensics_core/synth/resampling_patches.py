"""Patch samples for the six binary resampling classifiers of Bunk et al. [1]_.

Each classifier answers one question about a small patch: was it JPEG-compressed at a quality
below 85, upsampled, downsampled, rotated clockwise, rotated counter-clockwise, or sheared? A
positive sample carries the class's operation with random parameters; a negative sample is an
untransformed crop of the same kind of photograph.

References
----------
.. [1] J. Bunk, J. H. Bappy, T. M. Mohammed, L. Nataraj, A. Flenner, B. S. Manjunath,
       S. Chandrasekaran, A. K. Roy-Chowdhury and L. Peterson, "Detection and localization of image
       forgeries using resampling features and deep learning", CVPR Workshops 2017.
       :DOI:`10.1109/CVPRW.2017.235`
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES
from forensics_core.synth import transforms

#: Probability that a patch of a geometric class (either label) is finally saved as JPEG at a
#: quality of 85-100, so that mild compression never decides the label.
FINAL_JPEG_PROBABILITY = 0.3

#: Extra source pixels around the footprint of a transformed patch, for the interpolation kernel.
_MARGIN = 4


def resampling_patch(photo: np.ndarray, class_name: str, positive: bool, rng: np.random.Generator,
                     size: int = 64) -> np.ndarray:
    """One ``size x size`` training patch for the binary classifier ``class_name``.

    ============== ===================================================================
    class          positive patch
    ============== ===================================================================
    jpeg_quality   JPEG at quality 50-84 (negative: 85-100), as Bunk et al.'s "quality
                   above or below 85" classifier; the 8x8 grid has a random phase
    upsampling     scaled by 1.1-2.0
    downsampling   scaled by 0.5-0.9 (no low-pass filter first)
    rotation_cw    rotated clockwise as displayed by 3-45 degrees, i.e. a negative angle
                   in OpenCV's convention (positive = counter-clockwise, y axis down)
    rotation_ccw   rotated counter-clockwise by 3-45 degrees (positive angle)
    shearing       sheared by 0.05-0.5 either way, along x or y
    ============== ===================================================================

    A geometric positive is the transform applied to a random crop larger than the patch, then
    the centre ``size x size`` taken; both steps are one :func:`~forensics_core.synth.transforms.
    affine_resample` of the crop, bilinear or bicubic at random. A geometric negative is an
    untransformed crop of the same photograph. Either is then, with probability
    :data:`FINAL_JPEG_PROBABILITY`, compressed as JPEG at quality 85-100, so that neither label
    is told apart by compression alone.

    Parameters
    ----------
    photo : ndarray
        HxWx3 uint8 RGB, at least about ``2.1 * size`` pixels on each side.
    class_name : str
        One of :data:`RESAMPLING_CLASSES`.
    positive : bool
        Whether the patch carries the class's operation.
    rng : numpy.random.Generator
        Source of randomness.
    size : int, optional
        Patch side in pixels.

    Returns
    -------
    patch : ndarray
        ``size x size x 3`` uint8 RGB.
    """
    if class_name == "jpeg_quality":
        quality = int(rng.integers(50, 85) if positive else rng.integers(85, 101))
        compressed = transforms.jpeg_roundtrip(_random_crop(photo, size + 7, rng), quality)
        dy, dx = (int(v) for v in rng.integers(8, size=2))
        return np.ascontiguousarray(compressed[dy:dy + size, dx:dx + size])
    if class_name not in RESAMPLING_CLASSES:
        raise ValueError(f"unknown resampling class {class_name!r}; expected one of {RESAMPLING_CLASSES}")
    patch = _transformed_patch(photo, _linear_map(class_name, rng), size, rng) if positive \
        else _random_crop(photo, size, rng).copy()
    if rng.random() < FINAL_JPEG_PROBABILITY:
        patch = transforms.jpeg_roundtrip(patch, int(rng.integers(85, 101)))
    return patch


def _linear_map(class_name: str, rng: np.random.Generator) -> np.ndarray:
    """The 2x2 forward map (source -> patch coordinates) of a positive sample of ``class_name``."""
    if class_name == "upsampling":
        return np.eye(2) * rng.uniform(1.1, 2.0)
    if class_name == "downsampling":
        return np.eye(2) * rng.uniform(0.5, 0.9)
    if class_name in ("rotation_cw", "rotation_ccw"):
        angle = rng.uniform(3.0, 45.0) * (-1.0 if class_name == "rotation_cw" else 1.0)
        return cv2.getRotationMatrix2D((0.0, 0.0), angle, 1.0)[:, :2]
    amount = rng.uniform(0.05, 0.5) * rng.choice((-1.0, 1.0))
    return np.array([[1.0, amount], [0.0, 1.0]]) if rng.random() < 0.5 else np.array([[1.0, 0.0], [amount, 1.0]])


def _transformed_patch(photo: np.ndarray, linear: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """The centre ``size x size`` of a random crop under ``linear`` (about the crop's centre)."""
    half = (size - 1) / 2.0
    corners = np.array([[-half, -half], [half, -half], [-half, half], [half, half]])
    footprint = np.abs(corners @ np.linalg.inv(linear).T).max()
    side = 2 * math.ceil(footprint) + 1 + 2 * _MARGIN
    crop = _random_crop(photo, side, rng)
    source_centre = np.full(2, (side - 1) / 2.0)
    matrix = np.hstack([linear, (np.full(2, half) - linear @ source_centre)[:, None]])
    interpolation = "bilinear" if rng.random() < 0.5 else "bicubic"
    return transforms.affine_resample(crop, matrix, (size, size), interpolation)


def _random_crop(photo: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    if height < side or width < side:
        raise ValueError(f"photograph of {height}x{width} is too small for a {side}x{side} crop")
    top, left = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
    return photo[top:top + side, left:left + side]
