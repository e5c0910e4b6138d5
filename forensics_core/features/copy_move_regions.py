"""From a candidate clone transform to a verified pair of regions, and what the pair says.

Verification (dense correlation after warping, as proposed after Amerini et al. by Pan and Lyu
2010 and Li et al. 2015): the picture is warped by the candidate affine transform so that the
supposed source lands on the supposed copy, and the local normalised cross-correlation of the two
high-pass residuals (the picture minus its Gaussian blur) is computed in a small Gaussian window.
A copy agrees with its source in every fine detail, including the camera noise, so the
correlation is near 1 over the copy; elsewhere it is near 0. The copy is the connected region of
high correlation that holds the matches that proposed the transform; the source is found the same
way with the inverse transform.

Two checks follow.

- Repetition: a genuinely repeated pattern (a tiled wall, a fence) also correlates with itself
  under a translation by its period, but then it correlates just as well under twice that
  translation and under the translation continued past the copy. A near-translation whose region
  correlates under the doubled or continued transform almost as well as under the transform
  itself is rejected as a repetition, not a clone.
- Direction: when the transform resamples (it rotates or scales), the copy is the interpolation of
  the source. Re-warping the source with the estimated transform then reproduces the copy closely,
  while warping the copy back interpolates a second time and reproduces the source less well. When
  one residual is clearly below the other, the pair is directed (``source`` -> ``target``);
  otherwise (plain shifts, mirror images, strong re-compression) both regions are reported as a
  ``pair``.

References
----------
X. Pan, S. Lyu, "Region duplication detection using image feature matching", IEEE Trans.
Information Forensics and Security 5(4), 2010.
J. Li, X. Li, B. Yang, X. Sun, "Segmentation-based image copy-move forgery detection scheme", IEEE
Trans. Information Forensics and Security 10(3), 2015.
I. Amerini et al., IEEE Trans. Information Forensics and Security 6(3), 2011.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from forensics_core.features.copy_move_keypoints import AffineHypothesis

#: The verified region grows where the correlation exceeds this fraction of the threshold.
GROW_FRACTION = 0.6

#: Residual ratio below which the direction of a resampling clone is called.
DIRECTION_RATIO = 0.75


@dataclass(frozen=True)
class AffineParts:
    """An affine map x -> L x + t read as: optional mirror (x -> -x) first, then scale, rotation."""

    rotation_deg: float
    scale: float
    mirror: bool
    shear: float

    @classmethod
    def of(cls, matrix: np.ndarray) -> "AffineParts":
        """Decompose the 2x3 ``matrix``; the rotation is counter-clockwise as displayed (y down)."""
        linear = np.asarray(matrix, np.float64)[:, :2]
        mirror = bool(np.linalg.det(linear) < 0)
        if mirror:
            linear = linear @ np.diag([-1.0, 1.0])
        # Closest similarity (scale * rotation) in the least-squares sense.
        a, b = (linear[0, 0] + linear[1, 1]) / 2, (linear[1, 0] - linear[0, 1]) / 2
        scale = math.hypot(a, b)
        rotation = -math.degrees(math.atan2(b, a))
        similarity = np.array([[a, -b], [b, a]])
        shear = float(np.linalg.norm(linear - similarity) / max(scale, 1e-12))
        return cls(rotation_deg=(rotation + 180.0) % 360.0 - 180.0, scale=scale, mirror=mirror, shear=shear)

    def resamples(self) -> bool:
        """True when the map is not a plain shift or mirror (it interpolates new pixel values)."""
        return abs(self.scale - 1.0) > 0.02 or abs(self.rotation_deg) > 2.0 or self.shear > 0.02


@dataclass(frozen=True)
class ClonePair:
    """One verified clone, in the evidence's pixel coordinates.

    ``matrix`` maps ``source`` points onto ``target`` points. ``direction`` is ``"source->target"``
    when the resampling test told which region was copied, else ``"pair"`` (then ``source`` and
    ``target`` are only the two ends of the transform). Boxes are ``(x0, y0, x1, y1)``, inclusive
    of x0/y0 and exclusive of x1/y1.
    """

    source_box: tuple[int, int, int, int]
    target_box: tuple[int, int, int, int]
    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    shift: tuple[float, float]
    rotation_deg: float
    scale: float
    mirror: bool
    matches: int
    method: str
    direction: str
    correlation: float
    source_area: int
    target_area: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "source_box": list(self.source_box),
            "target_box": list(self.target_box),
            "matrix": [list(row) for row in self.matrix],
            "shift": list(self.shift),
            "rotation_deg": self.rotation_deg,
            "scale": self.scale,
            "mirror": self.mirror,
            "matches": self.matches,
            "method": self.method,
            "direction": self.direction,
            "correlation": self.correlation,
            "source_area": self.source_area,
            "target_area": self.target_area,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClonePair":
        """Inverse of :meth:`to_dict`."""
        return cls(
            source_box=tuple(int(v) for v in data["source_box"]),  # type: ignore[arg-type]
            target_box=tuple(int(v) for v in data["target_box"]),  # type: ignore[arg-type]
            matrix=tuple(tuple(float(v) for v in row) for row in data["matrix"]),  # type: ignore[arg-type]
            shift=tuple(float(v) for v in data["shift"]),  # type: ignore[arg-type]
            rotation_deg=float(data["rotation_deg"]), scale=float(data["scale"]), mirror=bool(data["mirror"]),
            matches=int(data["matches"]), method=str(data["method"]), direction=str(data["direction"]),
            correlation=float(data["correlation"]), source_area=int(data["source_area"]),
            target_area=int(data["target_area"]),
        )


@dataclass(frozen=True)
class VerifiedRegions:
    """The two regions of a verified hypothesis, in the analysis frame."""

    hypothesis: AffineHypothesis
    source: np.ndarray  # HxW bool
    target: np.ndarray  # HxW bool
    correlation_map: np.ndarray  # HxW float32, the correlation under the transform on either region
    correlation: float
    directed: bool  # True when the resampling test says source -> target


def high_pass(grey: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """The residual ``grey`` minus its Gaussian blur (float32)."""
    grey = grey.astype(np.float32)
    return grey - cv2.GaussianBlur(grey, (0, 0), sigma)


def inverse_affine(matrix: np.ndarray) -> np.ndarray:
    """The 2x3 inverse of an affine 2x3 matrix."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer o inner as a 2x3 matrix."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2]


def local_correlation(a: np.ndarray, b: np.ndarray, sigma: float, floor: float) -> np.ndarray:
    """Normalised cross-correlation of ``a`` and ``b`` in a Gaussian window of ``sigma``.

    ``floor`` (grey levels squared) is added to both variances so that flat places, where the
    correlation of near-zero signals is meaningless, score near 0.
    """
    def smooth(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), sigma)

    mean_a, mean_b = smooth(a), smooth(b)
    var_a = np.maximum(smooth(a * a) - mean_a * mean_a, 0.0)
    var_b = np.maximum(smooth(b * b) - mean_b * mean_b, 0.0)
    covariance = smooth(a * b) - mean_a * mean_b
    return covariance / np.sqrt((var_a + floor) * (var_b + floor))


class Verifier:
    """Verifies hypotheses on one analysis picture (grey levels 0..255, float32).

    Parameters
    ----------
    grey : ndarray
        HxW grey picture.
    correlation_threshold : float
        Local correlation above which a pixel agrees with its transformed counterpart.
    min_area : int
        Smallest verified region, in pixels.
    pair_correlation : float
        Smallest mean correlation over a pair's two regions. Genuinely repeated objects (printed
        packaging, logos) agree in shape but not in their camera noise, and most of them stay
        below the mean correlation of a real copy.
    window_sigma : float
        Sigma of the correlation window.
    """

    def __init__(self, grey: np.ndarray, correlation_threshold: float, min_area: int, pair_correlation: float,
                 window_sigma: float = 2.5, floor: float = 0.25) -> None:
        self.grey = grey.astype(np.float32)
        self.residual = high_pass(self.grey)
        self.threshold = correlation_threshold
        self.min_area = min_area
        self.pair_correlation = pair_correlation
        self.window_sigma = window_sigma
        self.floor = floor

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of the analysis picture."""
        return self.grey.shape[:2]

    def correlation_under(self, matrix: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Correlation, over ``box`` (x0, y0, x1, y1), of the residual with the residual warped by
        ``matrix`` (content at m^-1 x brought to x); NaN where m^-1 x falls outside the picture."""
        x0, y0, x1, y1 = box
        shifted = np.asarray(matrix, np.float64).copy()
        shifted[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(self.residual, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        inside = cv2.warpAffine(np.ones(self.shape, np.uint8), shifted, size, flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT) > 0
        inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        correlation = local_correlation(self.residual[y0:y1, x0:x1], warped, self.window_sigma, self.floor)
        return np.where(inside, correlation, np.nan).astype(np.float32)

    def grow(self, matrix: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The region of high correlation under ``matrix`` that holds the ``seeds`` (Nx2 x, y):
        a full-frame bool mask and the full-frame correlation (0 outside the search box)."""
        height, width = self.shape
        box = _search_box(seeds, (height, width))
        x0, y0, x1, y1 = box
        correlation = self.correlation_under(matrix, box)
        # Hysteresis: the region is where the smoothed correlation exceeds a lower level, in
        # components that reach the threshold itself.
        smoothed = cv2.GaussianBlur(np.nan_to_num(correlation, nan=0.0), (0, 0), 1.5)
        agree = (smoothed > GROW_FRACTION * self.threshold) & _reaches(smoothed > GROW_FRACTION * self.threshold,
                                                                      smoothed > self.threshold)
        agree = cv2.morphologyEx(agree.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        count, labels = cv2.connectedComponents(agree, connectivity=8)
        if count <= 1:
            return None
        seed_x = np.clip(np.round(seeds[:, 0]).astype(int) - x0, 0, x1 - x0 - 1)
        seed_y = np.clip(np.round(seeds[:, 1]).astype(int) - y0, 0, y1 - y0 - 1)
        near = cv2.dilate(labels.astype(np.float32), np.ones((7, 7), np.uint8))  # a seed may sit on an edge
        hit = np.unique(near[seed_y, seed_x].astype(int))
        hit = hit[hit > 0]
        if len(hit) == 0:
            return None
        region = np.isin(labels, hit)
        region = _fill_holes(cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)))
        full = np.zeros((height, width), bool)
        full[y0:y1, x0:x1] = region
        full_correlation = np.zeros((height, width), np.float32)
        full_correlation[y0:y1, x0:x1] = np.nan_to_num(correlation, nan=0.0)
        return full, full_correlation

    def verify(self, hypothesis: AffineHypothesis) -> VerifiedRegions | None:
        """Verified source and target regions of ``hypothesis``, or None when it does not hold."""
        matrix = np.asarray(hypothesis.matrix, np.float64)
        parts = AffineParts.of(matrix)
        if not 0.25 <= parts.scale <= 4.0 or parts.shear > 0.5:
            return None
        forward = self.grow(matrix, hypothesis.target_points)
        backward = self.grow(inverse_affine(matrix), hypothesis.source_points)
        if forward is None or backward is None:
            return None
        target, target_corr = forward
        source, source_corr = backward
        if min(target.sum(), source.sum()) < self.min_area:
            return None
        overlap = (target & source).sum() / min(target.sum(), source.sum())
        if overlap > 0.5:
            return None
        correlation = float(np.mean(np.concatenate([target_corr[target], source_corr[source]])))
        if correlation < self.pair_correlation or self._repeats(matrix, parts, target, correlation):
            return None
        correlation_map = np.where(target, target_corr, np.where(source, source_corr, 0.0)).astype(np.float32)
        directed = self._directed(matrix, parts, source, target)
        if directed is None:
            return VerifiedRegions(hypothesis, source, target, correlation_map, correlation, False)
        if directed:
            return VerifiedRegions(hypothesis, source, target, correlation_map, correlation, True)
        flipped = AffineHypothesis(inverse_affine(matrix), hypothesis.target_points, hypothesis.source_points,
                                   hypothesis.method)
        return VerifiedRegions(flipped, target, source, correlation_map, correlation, True)

    def _repeats(self, matrix: np.ndarray, parts: AffineParts, target: np.ndarray, correlation: float,
                 ratio: float = 0.6) -> bool:
        """True when a near-translation also holds when doubled or continued past the copy."""
        if parts.mirror or parts.resamples():
            return False
        box = _mask_box(target)
        x0, y0 = box[:2]
        region = target[y0:box[3], x0:box[2]]
        for continued in (compose_affine(matrix, matrix), inverse_affine(matrix)):
            values = self.correlation_under(continued, box)[region]
            values = values[np.isfinite(values)]
            if len(values) >= region.sum() // 4 and float(values.mean()) > ratio * correlation:
                return True
        return False

    def _directed(self, matrix: np.ndarray, parts: AffineParts, source: np.ndarray,
                  target: np.ndarray) -> bool | None:
        """True if source -> target is the copy direction, False if reversed, None if undecided."""
        if not parts.resamples():
            return None
        height, width = self.shape
        forward = cv2.warpAffine(self.grey, matrix, (width, height), flags=cv2.INTER_LINEAR)
        backward = cv2.warpAffine(self.grey, inverse_affine(matrix), (width, height), flags=cv2.INTER_LINEAR)
        inner_target = cv2.erode(target.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        inner_source = cv2.erode(source.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        if not inner_target.any() or not inner_source.any():
            return None
        residual_forward = float(np.mean((self.grey[inner_target] - forward[inner_target]) ** 2))
        residual_backward = float(np.mean((self.grey[inner_source] - backward[inner_source]) ** 2))
        if residual_forward < DIRECTION_RATIO * residual_backward:
            return True
        if residual_backward < DIRECTION_RATIO * residual_forward:
            return False
        return None


def describe_pair(regions: VerifiedRegions, scale: float) -> ClonePair:
    """The :class:`ClonePair` of verified ``regions`` found at ``scale`` (analysis / evidence size)."""
    matrix = np.asarray(regions.hypothesis.matrix, np.float64).copy()
    matrix[:, 2] /= scale  # the linear part is the same in both frames
    parts = AffineParts.of(matrix)
    ys, xs = np.nonzero(regions.source)
    centre = np.array([xs.mean(), ys.mean()]) / scale
    moved = matrix[:, :2] @ centre + matrix[:, 2]
    return ClonePair(
        source_box=_scaled_box(_mask_box(regions.source), scale),
        target_box=_scaled_box(_mask_box(regions.target), scale),
        matrix=tuple(tuple(round(float(v), 6) for v in row) for row in matrix),  # type: ignore[arg-type]
        shift=(round(float(moved[0] - centre[0]), 2), round(float(moved[1] - centre[1]), 2)),
        rotation_deg=round(parts.rotation_deg, 2),
        scale=round(parts.scale, 4),
        mirror=parts.mirror,
        matches=regions.hypothesis.matches,
        method=regions.hypothesis.method,
        direction="source->target" if regions.directed else "pair",
        correlation=round(regions.correlation, 4),
        source_area=int(round(regions.source.sum() / scale ** 2)),
        target_area=int(round(regions.target.sum() / scale ** 2)),
    )


def _search_box(seeds: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Bounding box of ``seeds`` grown by its own size (at least 64 px) on each side, in the frame."""
    height, width = shape
    low, high = seeds.min(axis=0), seeds.max(axis=0)
    margin = max(64.0, float((high - low).max()))
    x0, y0 = np.floor(low - margin).astype(int)
    x1, y1 = np.ceil(high + margin).astype(int) + 1
    return max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _scaled_box(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (int(math.floor(x0 / scale)), int(math.floor(y0 / scale)),
            int(math.ceil(x1 / scale)), int(math.ceil(y1 / scale)))


def _reaches(mask: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The 8-connected components of ``mask`` that contain a pixel of ``core``."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[core & mask])] = True
    keep[0] = False
    return keep[labels]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8 0/1) with its enclosed holes filled, as bool."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]
