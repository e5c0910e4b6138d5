"""Global post-processing: what happens to the whole picture after the forgery (or to a pristine
photograph, with the same distribution, so that it never gives the label away).

========================= =========== =================================================
operation                 probability parameters
========================= =========== =================================================
``none``                  0.30
``jpeg``                  0.30        quality 60-100, 8x8 grid aligned with the image
``jpeg_misaligned``       0.15        quality 60-100, grid offset (dy, dx) in 0-7, not (0, 0)
``resize``                0.15        factor 0.7-1.0, area / bilinear / bicubic
``noise``                 0.10        additive Gaussian, sigma 0.5-2 grey levels
========================= =========== =================================================

Drawing the parameters (:func:`draw_postprocess`) is separate from applying them
(:func:`apply_postprocess`) so that a caller can prepare for a resize, for example by working on a
larger crop; :func:`global_postprocess` does both.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from forensics_core.synth import transforms

POSTPROCESSES = ("none", "jpeg", "jpeg_misaligned", "resize", "noise")
PROBABILITIES = (0.30, 0.30, 0.15, 0.15, 0.10)

#: Smallest resize factor drawn.
MIN_RESIZE = 0.7


def draw_postprocess(rng: np.random.Generator) -> dict[str, Any]:
    """Random post-processing parameters: ``{"postprocess": name, ...}`` (see the module table)."""
    name = POSTPROCESSES[int(rng.choice(len(POSTPROCESSES), p=PROBABILITIES))]
    if name == "jpeg":
        return {"postprocess": name, "quality": int(rng.integers(60, 101)), "offset": [0, 0]}
    if name == "jpeg_misaligned":
        offset = [0, 0]
        while offset == [0, 0]:
            offset = [int(rng.integers(8)), int(rng.integers(8))]
        return {"postprocess": name, "quality": int(rng.integers(60, 101)), "offset": offset}
    if name == "resize":
        interpolation = ("area", "bilinear", "bicubic")[int(rng.integers(3))]
        return {"postprocess": name, "factor": float(rng.uniform(MIN_RESIZE, 1.0)), "interpolation": interpolation}
    if name == "noise":
        return {"postprocess": name, "sigma": float(rng.uniform(0.5, 2.0)), "noise_seed": int(rng.integers(2 ** 31))}
    return {"postprocess": name}


def apply_postprocess(image: np.ndarray, mask: np.ndarray,
                      params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Apply parameters from :func:`draw_postprocess` to ``image``; ``mask`` follows any resize.

    A resized mask is the set of output pixels at least half covered by the input mask (area
    interpolation of the 0/1 mask, thresholded at 1/2), so it stays aligned with the image.

    Returns
    -------
    image, mask : ndarray
        HxWx3 uint8 and HxW bool of equal height and width.
    """
    name = params["postprocess"]
    if name in ("jpeg", "jpeg_misaligned"):
        return transforms.jpeg_roundtrip(image, params["quality"], tuple(params["offset"])), mask
    if name == "resize":
        resized = transforms.rescale(image, params["factor"], params["interpolation"])
        coverage = cv2.resize(mask.astype(np.float32), resized.shape[1::-1], interpolation=cv2.INTER_AREA)
        return resized, coverage > 0.5
    if name == "noise":
        return transforms.add_noise(image, params["sigma"], np.random.default_rng(params["noise_seed"])), mask
    return image, mask


def global_postprocess(image: np.ndarray, mask: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw and apply a random global post-processing.

    Parameters
    ----------
    image : ndarray
        HxWx3 uint8 RGB.
    mask : ndarray of bool
        HxW ground truth; only a resize changes it.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    image, mask, labels
        The processed image, the mask at the image's new size, and the parameters drawn.
    """
    params = draw_postprocess(rng)
    image, mask = apply_postprocess(image, mask, params)
    return image, mask, params
