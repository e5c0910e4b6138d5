"""Local manipulations with exact ground truth.

Each manipulation returns ``(image, mask, labels)``: the HxWx3 uint8 result, the HxW bool mask of
the manipulated pixels, and a JSON-serialisable dictionary with the manipulation's name
(``labels["manipulation"]``) and every random parameter it drew.

Without feathering the mask is exact: a pixel outside it keeps its value, and every pixel inside it
received new content (a few may keep their old value by coincidence, for example in flat sky, so
the mask is the edited *region*, of which the changed pixels are a subset). With feathering
(:func:`feather`) the edit is alpha-blended over a soft edge and the mask is ``alpha > 0.5``, which
equals the hard region; pixels just outside it are then touched with a weight below one half.
Global post-processing (:mod:`forensics_core.synth.postprocessing`) comes afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from forensics_core.synth import transforms

Result = tuple[np.ndarray, np.ndarray, dict[str, Any]]

#: Names of the local enhancement operations, as recorded in ``labels["operation"]``.
ENHANCEMENTS = ("gaussian_blur", "median_blur", "box_blur", "noise", "sharpen", "gamma_contrast",
                "resample", "jpeg")


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soft alpha matte for pasting ``mask`` with a feathered edge.

    Alpha ramps linearly with the signed Euclidean distance to the region's boundary, from 0 at
    ``radius`` pixels outside it to 1 at ``radius`` pixels inside, the boundary lying half-way
    between the last pixel inside and the first outside. Hence ``alpha > 0.5`` holds exactly on
    ``mask``, which stays the ground truth of a feathered paste.

    Parameters
    ----------
    mask : ndarray of bool
        HxW region.
    radius : float
        Half-width of the ramp in pixels; 0 or less gives a hard edge.

    Returns
    -------
    alpha : ndarray of float32
        HxW values in [0, 1].
    """
    if radius <= 0:
        return mask.astype(np.float32)
    region = mask.astype(np.uint8)
    inside = cv2.distanceTransform(region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform(1 - region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    signed = np.where(mask, inside - 0.5, 0.5 - outside)
    return np.clip(0.5 + signed / (2.0 * radius), 0.0, 1.0).astype(np.float32)


def splice(target: np.ndarray, donor: np.ndarray, region: np.ndarray, rng: np.random.Generator,
           feather_radius: float | None = None) -> Result:
    """Paste a piece of another photograph.

    The pixels of ``donor`` under ``region`` (a mask in the donor's frame) are scaled by 0.6-1.6,
    rotated by up to +-30 degrees and sheared by up to +-0.2 about the region's centroid, moved to a
    random place where the transformed region lies inside ``target``, resampled bilinearly or
    bicubically, colour-matched in Lab to the target pixels they cover (strength 0.5-1, see
    :func:`~forensics_core.synth.transforms.match_colour`) and pasted. The scale is reduced if the
    transformed region would not fit. The mask is the transformed region.

    Parameters
    ----------
    target, donor : ndarray
        HxWx3 uint8 RGB; they may differ in size.
    region : ndarray of bool
        Non-empty mask in the donor's frame.
    rng : numpy.random.Generator
        Source of randomness.
    feather_radius : float, optional
        Edge feathering (see :func:`feather`); drawn at random when omitted (hard edge with
        probability 1/2, else 1-3 pixels); 0 for a hard edge.
    """
    matrix, labels = _random_placement(region, target.shape[:2], rng)
    pasted = transforms.affine_resample(donor, matrix, target.shape[:2], labels["interpolation"])
    mask = _warp_mask(region, matrix, target.shape[:2])
    strength = float(rng.uniform(0.5, 1.0))
    radius = _feather_radius(rng, feather_radius)
    # Recolour only the mask's bounding box plus the feather ramp: nothing else is pasted.
    margin = math.ceil(radius) + 1
    ys, xs = np.nonzero(mask)
    box = (slice(max(ys.min() - margin, 0), ys.max() + margin + 1),
           slice(max(xs.min() - margin, 0), xs.max() + margin + 1))
    pasted[box] = transforms.match_colour(pasted[box], target[box], mask[box], strength)
    image, mask = _composite(target, pasted, mask, radius)
    return image, mask, {"manipulation": "splice", **labels, "colour_strength": strength, "feather_radius": radius}


def copy_move(image: np.ndarray, region: np.ndarray, rng: np.random.Generator,
              feather_radius: float | None = None) -> Result:
    """Copy a region of the photograph to another place in it.

    The same random transform as :func:`splice` (without colour matching); among eight random
    placements the one overlapping the source least is used. The mask covers the destination only:
    the source is untouched unless the destination overlaps it.

    Parameters
    ----------
    image : ndarray
        HxWx3 uint8 RGB.
    region : ndarray of bool
        Non-empty source mask in the image's frame.
    rng : numpy.random.Generator
        Source of randomness.
    feather_radius : float, optional
        As in :func:`splice`.
    """
    matrix, labels = _random_placement(region, image.shape[:2], rng, avoid=region, candidates=8)
    copied = transforms.affine_resample(image, matrix, image.shape[:2], labels["interpolation"])
    mask = _warp_mask(region, matrix, image.shape[:2])
    radius = _feather_radius(rng, feather_radius)
    out, mask = _composite(image, copied, mask, radius)
    return out, mask, {"manipulation": "copy_move", **labels, "feather_radius": radius}


def removal(image: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> Result:
    """Remove content by inpainting.

    The region is dilated by 1-3 pixels (so that no rim of the removed content survives) and
    filled by :func:`cv2.inpaint` with the fast marching method of Telea [1]_ or the
    Navier-Stokes method of Bertalmio et al. [2]_, with a neighbourhood radius of 2-5 pixels. The
    mask is the dilated region; inpainting changes no pixel outside it.

    Parameters
    ----------
    image : ndarray
        HxWx3 uint8 RGB.
    region : ndarray of bool
        Non-empty mask of the content to remove.
    rng : numpy.random.Generator
        Source of randomness.

    References
    ----------
    .. [1] A. Telea, "An image inpainting technique based on the fast marching method", Journal of
           Graphics Tools 9(1), 2004. :DOI:`10.1080/10867651.2004.10487596`
    .. [2] M. Bertalmio, A. L. Bertozzi and G. Sapiro, "Navier-Stokes, fluid dynamics, and image and
           video inpainting", CVPR 2001. :DOI:`10.1109/CVPR.2001.990497`
    """
    dilation = int(rng.integers(1, 4))
    method = "telea" if rng.random() < 0.5 else "navier_stokes"
    inpaint_radius = int(rng.integers(2, 6))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilation + 1, 2 * dilation + 1))
    hole = cv2.dilate(region.astype(np.uint8), kernel)
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    out = cv2.inpaint(image, hole, inpaint_radius, flag)
    return out, hole.astype(bool), {"manipulation": "removal", "dilation": dilation, "method": method,
                                    "inpaint_radius": inpaint_radius}


def local_enhancement(image: np.ndarray, region: np.ndarray, rng: np.random.Generator,
                      feather_radius: float | None = None) -> Result:
    """Apply one of :data:`ENHANCEMENTS` inside the region only.

    =============== ===================================================================
    gaussian_blur   sigma 0.6-2.5 pixels
    median_blur     3x3 or 5x5
    box_blur        3x3 or 5x5
    noise           additive Gaussian, sigma 2-10 grey levels
    sharpen         unsharp mask, amount 0.5-2, sigma 0.8-1.5
    gamma_contrast  gamma 0.7-1.4, contrast 0.75-1.3 (at least 0.1 away from identity)
    resample        up by 1.2-2 then back, or down by 0.5-0.85 then back, to the same
                    size, so the region carries resampling traces [1]_
    jpeg            quality 30-90 with a random 8x8 grid offset
    =============== ===================================================================

    Parameters
    ----------
    image : ndarray
        HxWx3 uint8 RGB.
    region : ndarray of bool
        Non-empty mask.
    rng : numpy.random.Generator
        Source of randomness.
    feather_radius : float, optional
        As in :func:`splice`.

    References
    ----------
    .. [1] A. C. Popescu and H. Farid, "Exposing digital forgeries by detecting traces of
           resampling", IEEE Transactions on Signal Processing 53(2), 2005.
           :DOI:`10.1109/TSP.2004.839932`
    """
    operation = ENHANCEMENTS[int(rng.integers(len(ENHANCEMENTS)))]
    edited, params = _enhance(image, operation, rng)
    radius = _feather_radius(rng, feather_radius)
    out, mask = _composite(image, edited, region, radius)
    return out, mask, {"manipulation": "enhancement", "operation": operation, **params, "feather_radius": radius}


def _enhance(image: np.ndarray, operation: str, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """The whole image under ``operation`` with freshly drawn parameters."""
    if operation == "gaussian_blur":
        sigma = float(rng.uniform(0.6, 2.5))
        return transforms.gaussian_blur(image, sigma), {"sigma": sigma}
    if operation in ("median_blur", "box_blur"):
        ksize = int(rng.choice((3, 5)))
        blur = transforms.median_blur if operation == "median_blur" else transforms.box_blur
        return blur(image, ksize), {"ksize": ksize}
    if operation == "noise":
        sigma = float(rng.uniform(2.0, 10.0))
        return transforms.add_noise(image, sigma, rng), {"sigma": sigma}
    if operation == "sharpen":
        amount, sigma = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.8, 1.5))
        return transforms.sharpen(image, amount, sigma), {"amount": amount, "sigma": sigma}
    if operation == "gamma_contrast":
        gamma, contrast = 1.0, 1.0
        while abs(gamma - 1.0) < 0.1 and abs(contrast - 1.0) < 0.1:
            gamma, contrast = float(rng.uniform(0.7, 1.4)), float(rng.uniform(0.75, 1.3))
        return transforms.gamma_contrast(image, gamma, contrast), {"gamma": gamma, "contrast": contrast}
    if operation == "resample":
        upsample_first = bool(rng.random() < 0.5)
        factor = float(rng.uniform(1.2, 2.0) if upsample_first else rng.uniform(0.5, 0.85))
        interpolation = _random_interpolation(rng)
        there = transforms.rescale(image, factor, interpolation)
        back = transforms.resize(there, image.shape[:2], interpolation)
        return back, {"mode": "up_down" if upsample_first else "down_up", "factor": factor,
                      "interpolation": interpolation}
    if operation == "jpeg":
        quality = int(rng.integers(30, 91))
        offset = (int(rng.integers(8)), int(rng.integers(8)))
        return transforms.jpeg_roundtrip(image, quality, offset), {"quality": quality, "offset": list(offset)}
    raise ValueError(f"unknown enhancement {operation!r}")


def _random_placement(region: np.ndarray, out_shape: tuple[int, int], rng: np.random.Generator,
                      avoid: np.ndarray | None = None, candidates: int = 1) -> tuple[np.ndarray, dict[str, Any]]:
    """A random scale / rotation / shear about the region's centroid followed by a translation that
    keeps the transformed region's bounding box inside ``out_shape``; the translation is the one of
    ``candidates`` draws whose box overlaps ``avoid``'s box least."""
    height, width = out_shape
    scale = float(rng.uniform(0.6, 1.6))
    angle = float(rng.uniform(-30.0, 30.0))
    shear_s = float(rng.uniform(-0.2, 0.2))
    interpolation = _random_interpolation(rng)
    theta = math.radians(angle)
    # Rotation in OpenCV's sense (positive = counter-clockwise as displayed), after an x shear.
    rotation = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    linear = rotation @ np.array([[1.0, shear_s], [0.0, 1.0]])
    ys, xs = np.nonzero(region)
    centroid = np.array([xs.mean(), ys.mean()])
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]])
    mapped = (corners - centroid) @ linear.T
    extent = mapped.max(axis=0) - mapped.min(axis=0)
    # Shrink to fit, with a hair of slack so that rounding cannot leave an empty range of shifts.
    scale = float(min(scale, (width - 1.01) / max(extent[0], 1e-6), (height - 1.01) / max(extent[1], 1e-6)))
    linear, mapped = linear * scale, mapped * scale
    low, high = mapped.min(axis=0), mapped.max(axis=0)
    best, best_overlap = None, math.inf
    for _ in range(candidates):
        shift = np.array([rng.uniform(-low[0], width - 1 - high[0]), rng.uniform(-low[1], height - 1 - high[1])])
        overlap = 0.0 if avoid is None else _box_overlap(corners, mapped + shift)
        if overlap < best_overlap:
            best, best_overlap = shift, overlap
    matrix = np.hstack([linear, (best - linear @ centroid)[:, None]])
    return matrix, {"scale": scale, "angle": angle, "shear": shear_s, "interpolation": interpolation,
                    "matrix": matrix.tolist()}


def _box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Area of intersection of the bounding boxes of two point sets."""
    low = np.maximum(a.min(axis=0), b.min(axis=0))
    high = np.minimum(a.max(axis=0), b.max(axis=0))
    return float(np.prod(np.clip(high - low, 0.0, None)))


def _warp_mask(region: np.ndarray, matrix: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """The region under ``matrix``: output pixels whose bilinearly interpolated coverage exceeds 1/2."""
    height, width = out_shape
    warped = cv2.warpAffine(region.astype(np.uint8) * 255, matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped > 127


def _composite(base: np.ndarray, edited: np.ndarray, mask: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """``edited`` over ``base`` through the (feathered) mask; returns the image and ``alpha > 0.5``."""
    if radius <= 0:
        out = base.copy()
        out[mask] = edited[mask]
        return out, mask.copy()
    alpha = feather(mask, radius)
    weight = alpha[..., None]
    blended = weight * edited.astype(np.float32) + (1.0 - weight) * base.astype(np.float32)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8), alpha > 0.5


def _feather_radius(rng: np.random.Generator, requested: float | None) -> float:
    if requested is not None:
        return float(requested)
    return 0.0 if rng.random() < 0.5 else float(rng.uniform(1.0, 3.0))


def _random_interpolation(rng: np.random.Generator) -> str:
    return "bilinear" if rng.random() < 0.5 else "bicubic"
