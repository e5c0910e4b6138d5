"""Dense-field copy-move search: Zernike block features, PatchMatch, dense linear fitting.

The method of Cozzolino, Poggi and Verdoliva (2015):

1. Every pixel is described by the magnitudes of the Zernike moments (order 5, twelve moments)
   of the disc of radius ``R`` around it. Magnitudes are invariant to rotation and reflection of
   the disc (Sec. III-A); they are computed for all pixels at once as correlations with the
   conjugate Zernike kernels.
2. A nearest-neighbour field (the offset from each pixel to the most similar feature at least
   ``min_offset`` pixels away) is found by PatchMatch (Barnes et al. 2009; Sec. III-B): random
   initialisation, propagation of good offsets to neighbours, random search around the current
   offset. Here propagation is vectorised over the whole image: every pixel tries the offsets of
   the pixels 2^k away in the four axis directions (large steps first, as in jump flooding), so a
   good offset crosses the image in one pass; random search halves its radius from the image size
   down to one pixel.
3. Dense linear fitting (Sec. III-C): in a window around each pixel the offset field is fitted by
   a linear (affine) function of position; a copied region has a smooth, affine offset field and
   a small fitting error, a natural region a chaotic one.
4. Post-processing (Sec. III-D): median filtering of the error, threshold, removal of small
   regions, mirroring (a pixel is kept only if the pixel it points to is detected too) and
   dilation by the block radius.

Flat blocks (standard deviation below ``min_texture`` grey levels) carry no signal and are never
detected: every flat block matches every other.

References
----------
D. Cozzolino, G. Poggi, L. Verdoliva, "Efficient dense-field copy-move forgery detection", IEEE
Trans. Information Forensics and Security 10(11), 2015.
C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: a randomized correspondence
algorithm for structural image editing", ACM Trans. Graphics 28(3), 2009.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import Callable

import cv2
import numpy as np

from forensics_core.features.copy_move_keypoints import AffineHypothesis

#: Zernike moments (n, m) with n <= 5, m >= 0 and n - m even: the twelve of the paper.
ZERNIKE_ORDERS = tuple((n, m) for n in range(6) for m in range(n + 1) if (n - m) % 2 == 0)

#: Longest propagation step of the vectorised PatchMatch (pixels).
LONGEST_STEP = 16


def zernike_kernels(radius: int) -> list[np.ndarray]:
    """Complex kernels conj(V_nm) on the unit disc sampled on a (2R+1)^2 grid, with the (n+1)/pi
    normalisation and the disc's area (so that Z_00 is the mean grey level over pi), one per entry
    of :data:`ZERNIKE_ORDERS`.

    V_nm(rho, theta) = R_nm(rho) exp(i m theta), with the radial polynomial
    R_nm(rho) = sum_s (-1)^s (n-s)! / (s! ((n+m)/2-s)! ((n-m)/2-s)!) rho^(n-2s).
    """
    coords = np.arange(-radius, radius + 1, dtype=np.float64) / (radius + 0.5)
    x, y = np.meshgrid(coords, coords)
    rho, theta = np.hypot(x, y), np.arctan2(y, x)
    inside = rho <= 1.0
    kernels = []
    for n, m in ZERNIKE_ORDERS:
        radial = sum((-1) ** s * factorial(n - s) / (factorial(s) * factorial((n + m) // 2 - s)
                                                    * factorial((n - m) // 2 - s)) * rho ** (n - 2 * s)
                     for s in range((n - m) // 2 + 1))
        kernel = (n + 1) / np.pi * radial * np.exp(-1j * m * theta) * inside
        if n > 0:
            # On the continuous disc V_nm (n > 0) is orthogonal to constants; the sampled disc is
            # not quite, so the sampled kernel is made so (a flat block then has Z_nm = 0).
            kernel[inside] -= kernel[inside].mean()
        kernels.append(kernel / inside.sum())
    return kernels


def zernike_features(grey: np.ndarray, radius: int, on_step: Callable[[], None] = lambda: None) -> np.ndarray:
    """HxWx12 float32 magnitudes |Z_nm| of the disc of ``radius`` around every pixel of ``grey``
    (``on_step`` is called after each moment)."""
    source = grey.astype(np.float32)
    features = []
    for kernel in zernike_kernels(radius):
        real = cv2.filter2D(source, cv2.CV_32F, kernel.real.astype(np.float32), borderType=cv2.BORDER_REFLECT)
        imag = cv2.filter2D(source, cv2.CV_32F, kernel.imag.astype(np.float32), borderType=cv2.BORDER_REFLECT)
        features.append(np.sqrt(real * real + imag * imag))
        on_step()
    return np.ascontiguousarray(np.stack(features, axis=-1))


def patchmatch(features: np.ndarray, min_offset: float, iterations: int, rng: np.random.Generator,
               initial: np.ndarray | None = None, on_step: Callable[[], None] = lambda: None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour field of ``features`` (HxWxD) onto itself, offsets of at least ``min_offset``.

    ``initial`` (HxWx2 int32 offsets) replaces the random initialisation; ``on_step`` is called
    after every candidate field is evaluated (progress and cancel).

    Each iteration is a random search (radii from half the image size down to one pixel, divided
    by three each time) followed by propagation from the pixels :data:`LONGEST_STEP` down to 1
    pixel away, along both axes, downwards and rightwards in even iterations and upwards and
    leftwards in odd ones (PatchMatch alternates its scan order the same way). Besides the
    zero-order propagation of PatchMatch (take the neighbour's offset D(q)), every step tries the
    first-order prediction 2 D(q) - D(q') from the neighbour q and the pixel q' as far beyond it,
    which is exact on the affine offset fields of rotated, scaled or mirrored copies (the modified
    propagation of Cozzolino et al., Sec. III-B). Each iteration ends with a symmetric step: the
    pixel q = p + D(p) tries the offset -D(p), since a copy and its source match each other.

    Returns
    -------
    offsets : ndarray of int32
        HxWx2 offsets (dy, dx): pixel p's match is p + offset.
    cost : ndarray of float32
        HxW squared feature distance to the match.
    """
    height, width, depth = features.shape
    flat = features.reshape(-1, depth)
    rows = np.arange(height, dtype=np.int32)[:, None]
    cols = np.arange(width, dtype=np.int32)[None, :]
    gathered = np.empty((height * width, depth), features.dtype)
    too_close = np.float32(min_offset) ** 2

    def evaluate(dy: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ty = np.clip(rows + dy, 0, height - 1)
        tx = np.clip(cols + dx, 0, width - 1)
        np.take(flat, (ty * width + tx).ravel(), axis=0, out=gathered)
        gathered.reshape(height, width, depth).__isub__(features)
        cost = np.einsum("nd,nd->n", gathered, gathered).reshape(height, width)
        dy, dx = ty - rows, tx - cols
        cost[(dy * dy + dx * dx) < too_close] = np.inf
        return dy, dx, cost

    if initial is None:
        initial = np.stack([rng.integers(-height, height, (height, width), dtype=np.int32),
                            rng.integers(-width, width, (height, width), dtype=np.int32)], axis=-1)
    dy, dx, cost = evaluate(initial[..., 0], initial[..., 1])

    def consider(cand_dy: np.ndarray, cand_dx: np.ndarray) -> None:
        nonlocal dy, dx, cost
        cand_dy, cand_dx, cand_cost = evaluate(cand_dy, cand_dx)
        better = cand_cost < cost
        np.copyto(dy, cand_dy, where=better)
        np.copyto(dx, cand_dx, where=better)
        np.copyto(cost, cand_cost, where=better)
        on_step()

    for iteration in range(iterations):
        radius = max(height, width) // 2
        while radius >= 1:
            consider(dy + rng.integers(-radius, radius + 1, (height, width), dtype=np.int32),
                     dx + rng.integers(-radius, radius + 1, (height, width), dtype=np.int32))
            radius //= 3
        sign = 1 if iteration % 2 == 0 else -1  # alternate the scan direction, as PatchMatch does
        step = LONGEST_STEP
        while step >= 1:
            for axis in (0, 1):
                near_dy, near_dx = np.roll(dy, sign * step, axis=axis), np.roll(dx, sign * step, axis=axis)
                consider(near_dy, near_dx)
                consider(2 * near_dy - np.roll(dy, 2 * sign * step, axis=axis),
                         2 * near_dx - np.roll(dx, 2 * sign * step, axis=axis))
            step //= 2
        # Symmetry: if p matches q = p + D(p), q may match p with the offset -D(p).
        reverse_dy, reverse_dx = dy.copy(), dx.copy()
        reverse_dy[rows + dy, cols + dx] = -dy
        reverse_dx[rows + dy, cols + dx] = -dx
        consider(reverse_dy, reverse_dx)
    return np.stack([dy, dx], axis=-1), cost.astype(np.float32)


def pyramid_patchmatch(grey: np.ndarray, block_radius: int, min_offset: float, levels: int,
                       iterations: tuple[int, ...], rng: np.random.Generator,
                       tick: Callable[[float], None] = lambda fraction: None) -> np.ndarray:
    """PatchMatch from coarse to fine: the field found on the picture halved ``k`` times, doubled,
    initialises the search one level finer (``iterations[k]`` iterations at level ``k``, 0 =
    full size). Coarse levels are cheap and their blocks cover more of the scene, so a copy is
    found there in a few iterations; the finer levels only refine it. Returns HxWx2 offsets."""
    pictures = [grey.astype(np.float32)]
    for _ in range(levels - 1):
        pictures.append(cv2.pyrDown(pictures[-1]))
    offsets = None
    for level in range(levels - 1, -1, -1):
        picture = pictures[level]
        if offsets is not None:
            height, width = picture.shape
            offsets = 2 * cv2.resize(offsets, (width, height), interpolation=cv2.INTER_NEAREST)
        done = (levels - 1 - level) / levels
        features = zernike_features(picture, max(3, block_radius >> level), on_step=lambda: tick(done))
        offsets, _ = patchmatch(features, min_offset / 2 ** level, iterations[level], rng, offsets,
                                on_step=lambda: tick(done))
        tick((levels - level) / levels)
    return offsets


def linear_fit_error(offsets: np.ndarray, radius: int) -> np.ndarray:
    """Mean squared residual (px^2) of an affine fit of the offset field in each (2r+1)^2 window.

    Over a square window centred on the pixel the regressors 1, u, v (the window coordinates) are
    orthogonal, so the least-squares residual is sum(D^2) - n mean(D)^2 - (sum u D)^2 / sum u^2
    - (sum v D)^2 / sum v^2 for each component D of the field: box filters and two correlations.
    """
    size = 2 * radius + 1
    count = float(size * size)
    ramp = np.arange(-radius, radius + 1, dtype=np.float32)
    u_kernel = np.tile(ramp, (size, 1))
    energy = float((ramp ** 2).sum() * size)
    error = np.zeros(offsets.shape[:2], np.float64)
    for component in (offsets[..., 0], offsets[..., 1]):
        field = component.astype(np.float32)
        mean = cv2.blur(field, (size, size), borderType=cv2.BORDER_REFLECT)
        square = cv2.blur(field * field, (size, size), borderType=cv2.BORDER_REFLECT)
        along_u = cv2.filter2D(field, cv2.CV_32F, u_kernel, borderType=cv2.BORDER_REFLECT)
        along_v = cv2.filter2D(field, cv2.CV_32F, np.ascontiguousarray(u_kernel.T), borderType=cv2.BORDER_REFLECT)
        error += count * (square - mean * mean) - (along_u ** 2 + along_v ** 2) / energy
    return np.maximum(error / count, 0.0).astype(np.float32)


@dataclass(frozen=True)
class DenseField:
    """What the dense search found: the detection, the offset field and the per-pixel consistency."""

    detection: np.ndarray  # HxW bool, both the source and the copy
    offsets: np.ndarray  # HxWx2 int32 (dy, dx)
    consistency: np.ndarray  # HxW float32 in [0, 1]: exp(-fit error / error threshold), 0 on flat blocks


def dense_copy_move(grey: np.ndarray, block_radius: int, min_offset: float, fit_radius: int,
                    error_threshold: float, min_area: int, min_texture: float, iterations: tuple[int, ...],
                    rng: np.random.Generator, tick: Callable[[float], None] = lambda fraction: None
                    ) -> DenseField:
    """Run steps 1-4 of Cozzolino et al. on ``grey`` (float grey levels 0..255).

    Parameters
    ----------
    block_radius : int
        Radius R of the feature disc.
    min_offset : float
        Smallest offset (pixels) a match may have.
    fit_radius : int
        Half-side of the dense linear fitting window.
    error_threshold : float
        Largest fitting error (px^2) of a detected pixel.
    min_area : int
        Smallest detected region (pixels).
    min_texture : float
        Blocks with a standard deviation below this (grey levels) are never detected.
    iterations : tuple of int
        PatchMatch iterations at each pyramid level, finest first (see :func:`pyramid_patchmatch`).
    """
    offsets = pyramid_patchmatch(grey, block_radius, min_offset, len(iterations), iterations, rng, tick)
    error = cv2.medianBlur(linear_fit_error(offsets, fit_radius), 5)
    size = 2 * block_radius + 1
    mean = cv2.blur(grey.astype(np.float32), (size, size))
    spread = np.sqrt(np.maximum(cv2.blur(grey.astype(np.float32) ** 2, (size, size)) - mean * mean, 0.0))
    textured = spread >= min_texture
    consistency = np.where(textured, np.exp(-error / error_threshold), 0.0).astype(np.float32)
    detection = _remove_small(textured & (error < error_threshold), min_area)
    detection = _mirror(detection, offsets)
    detection = _remove_small(detection, min_area)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    detection = cv2.dilate(detection.astype(np.uint8), kernel).astype(bool)
    return DenseField(detection, offsets, consistency)


def _remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """``mask`` without its 8-connected components smaller than ``min_area`` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


def _mirror(mask: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` whose match (p + offset) lies in the slightly dilated ``mask`` too."""
    height, width = mask.shape
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    rows, cols = np.nonzero(mask)
    ty = np.clip(rows + offsets[rows, cols, 0], 0, height - 1)
    tx = np.clip(cols + offsets[rows, cols, 1], 0, width - 1)
    out = np.zeros_like(mask)
    out[rows, cols] = grown[ty, tx]
    return out


def dense_hypotheses(field: DenseField, rng: np.random.Generator, max_points: int = 2000,
                     ransac_threshold: float = 2.0, min_inliers: int = 20) -> list[AffineHypothesis]:
    """One affine hypothesis per connected detected region of ``field``, fitted by RANSAC to its
    pixels and the pixels they point to (at most ``max_points`` sampled per region)."""
    height, width = field.detection.shape
    count, labels = cv2.connectedComponents(field.detection.astype(np.uint8), connectivity=8)
    hypotheses = []
    for label in range(1, count):
        rows, cols = np.nonzero(labels == label)
        if len(rows) > max_points:
            pick = rng.choice(len(rows), max_points, replace=False)
            rows, cols = rows[pick], cols[pick]
        source = np.stack([cols, rows], axis=1).astype(np.float32)
        target = np.stack([np.clip(cols + field.offsets[rows, cols, 1], 0, width - 1),
                           np.clip(rows + field.offsets[rows, cols, 0], 0, height - 1)], axis=1).astype(np.float32)
        if len(source) < min_inliers:
            continue
        matrix, inliers = cv2.estimateAffine2D(source, target, method=cv2.RANSAC,
                                               ransacReprojThreshold=ransac_threshold, maxIters=1000)
        if matrix is None or inliers.sum() < min_inliers:
            continue
        inliers = inliers.ravel().astype(bool)
        hypotheses.append(AffineHypothesis(matrix, source[inliers], target[inliers], "dense"))
    return hypotheses
