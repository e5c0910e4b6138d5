"""Post-processing shared by every detector: smoothing, thresholding, segmentation, regions.

All functions take a heatmap in [0, 1] (1 = manipulated) or a boolean mask, and follow one
convention: a pixel is flagged when ``heatmap >= threshold``.

References
----------
.. [Otsu1979] N. Otsu, "A threshold selection method from gray-level histograms",
   IEEE Trans. Systems, Man, and Cybernetics 9(1):62-66, 1979. :DOI:`10.1109/TSMC.1979.4310076`
.. [Tomasi1998] C. Tomasi and R. Manduchi, "Bilateral filtering for gray and color images",
   ICCV 1998. :DOI:`10.1109/ICCV.1998.710815`
.. [Grady2006] L. Grady, "Random walks for image segmentation", IEEE Trans. Pattern Analysis
   and Machine Intelligence 28(11):1768-1783, 2006. :DOI:`10.1109/TPAMI.2006.233`
.. [Bunk2017] J. Bunk et al., "Detection and localization of image forgeries using resampling
   features and deep learning", CVPR Workshops 2017. :DOI:`10.1109/CVPRW.2017.235`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np

# SciPy and scikit-image are imported inside the functions that use them: they take about a
# second to load, and listing the detectors (which import this module) must not pay for it.

__all__ = [
    "Region",
    "bilateral_filter",
    "bimodality",
    "clean_mask",
    "histogram",
    "is_bimodal",
    "mask_outline",
    "otsu_threshold",
    "random_walker_segment",
    "regions",
]

# 8-connectivity for foreground components (so 4-connectivity for the holes between them).
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _finite_values(values: np.ndarray) -> np.ndarray:
    """Return the finite entries of ``values`` as a flat float array; raise if there are none."""
    flat = np.asarray(values).ravel()
    if not np.issubdtype(flat.dtype, np.floating):
        flat = flat.astype(np.float64)
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        raise ValueError("no finite values to threshold")
    return finite


def _threshold_above(value: float) -> float:
    """Smallest float32 number strictly greater than ``value``, never a subnormal.

    Being a float32 number, it compares the same way whether a heatmap is float32 or float64,
    so ``heatmap >= _threshold_above(v)`` is exactly ``heatmap > v`` for float32 heatmaps.
    """
    above = np.float32(value)
    if float(above) <= value:
        above = np.nextafter(above, np.float32(np.inf))
    return float(max(above, np.finfo(np.float32).tiny))


def bilateral_filter(
    heatmap: np.ndarray,
    diameter: int = 9,
    sigma_color: float = 0.1,
    sigma_space: float = 4.0,
) -> np.ndarray:
    """Edge-preserving smoothing of a heatmap with a bilateral filter [Tomasi1998]_.

    Each pixel becomes an average of its neighbours weighted by both spatial distance
    (Gaussian of width ``sigma_space`` pixels) and value difference (Gaussian of width
    ``sigma_color`` in heatmap units), so noise inside a region is averaged away while a step
    much larger than ``sigma_color`` between two regions stays sharp.

    Parameters
    ----------
    heatmap : (H, W) array
        Finite values, usually in [0, 1].
    diameter : int
        Diameter in pixels of the neighbourhood. Zero or negative lets OpenCV derive it from
        ``sigma_space``.
    sigma_color : float
        Range sigma, in the units of the heatmap.
    sigma_space : float
        Spatial sigma, in pixels.

    Returns
    -------
    (H, W) float32 array
        The filtered heatmap (``cv2.bilateralFilter``, reflected borders).
    """
    data = np.ascontiguousarray(heatmap, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D heatmap, got shape {data.shape}")
    return cv2.bilateralFilter(data, int(diameter), float(sigma_color), float(sigma_space))


#: Values per chunk when Otsu's threshold is computed piecewise (about 0.1 s of work each).
OTSU_CHUNK_VALUES = 1 << 22


def _finite_float64(chunk: np.ndarray) -> np.ndarray:
    """The finite entries of a flat chunk, as float64."""
    chunk = chunk.astype(np.float64, copy=False)
    return chunk[np.isfinite(chunk)]


def otsu_threshold(values: np.ndarray, nbins: int = 256,
                   on_chunk: Callable[[], object] | None = None) -> float:
    """Otsu's threshold [Otsu1979]_ of the finite entries of ``values``.

    The threshold is returned for the mask convention ``values >= threshold``: it is the
    smallest float32 number above ``skimage.filters.threshold_otsu``'s (which flags
    ``values > t``), so both conventions agree on float32 heatmaps. For a two-valued map the
    threshold lies strictly between the two values.

    A constant map has no second class, so nothing is flagged: the threshold is the smallest
    float32 number strictly above the constant (and above 0 for an all-zero map).

    The values are read in chunks of ``OTSU_CHUNK_VALUES``: a first pass finds their range, a
    second accumulates the ``nbins``-bin histogram over that range, and Otsu's criterion is
    maximised over the histogram by scikit-image. Each value falls in the same bin whichever
    chunk holds it, so the threshold is exactly the one of the whole array at once.

    Parameters
    ----------
    values : array
        Any shape; NaN and infinities are ignored.
    nbins : int
        Number of histogram bins.
    on_chunk : callable, optional
        Called after every chunk of each pass, e.g. to report progress and check cancel (it may
        raise to stop).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``values`` has no finite entry.
    """
    from skimage.filters import threshold_otsu

    flat = np.asarray(values).ravel()
    starts = range(0, flat.size, OTSU_CHUNK_VALUES)
    low, high = np.inf, -np.inf
    for start in starts:
        finite = _finite_float64(flat[start : start + OTSU_CHUNK_VALUES])
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        if on_chunk is not None:
            on_chunk()
    if low > high:
        raise ValueError("no finite values to threshold")
    if low == high:
        return _threshold_above(low)
    counts = np.zeros(nbins, dtype=np.int64)
    try:
        # float64 so that maps whose range is a few float32 steps still get bins.
        for start in starts:
            chunk_counts, edges = np.histogram(_finite_float64(flat[start : start + OTSU_CHUNK_VALUES]),
                                               bins=nbins, range=(low, high))
            counts += chunk_counts
            if on_chunk is not None:
                on_chunk()
    except ValueError:  # range below histogram resolution: split at the lowest value
        return _threshold_above(low)
    centres = (edges[:-1] + edges[1:]) / 2.0
    return _threshold_above(float(threshold_otsu(hist=(counts, centres))))


def histogram(
    values: np.ndarray,
    bins: int = 64,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite entries of ``values``.

    Parameters
    ----------
    values : array
        Any shape; NaN and infinities are ignored, values outside ``value_range`` too.
    bins : int
        Number of equal-width bins.
    value_range : (float, float)
        Lower and upper edge of the histogram.

    Returns
    -------
    counts : (bins,) int64 array
    edges : (bins + 1,) float64 array
    """
    flat = np.asarray(values).ravel()
    counts, edges = np.histogram(flat[np.isfinite(flat)], bins=bins, range=value_range)
    return counts.astype(np.int64, copy=False), edges


class _OtsuSplit(NamedTuple):
    """The two classes of a map split at its Otsu threshold (``values >= threshold`` is upper)."""

    upper_fraction: float
    separability: float


def _otsu_split(values: np.ndarray, nbins: int = 256, on_step: Callable[[], object] | None = None) -> _OtsuSplit:
    """Split the finite values at their Otsu threshold and measure the two classes; ``on_step`` is
    called between the passes over the values (each about a second on 20 megapixels)."""
    step = on_step if on_step is not None else (lambda: None)
    finite = _finite_values(values)
    step()
    upper = finite >= otsu_threshold(finite, nbins=nbins, on_chunk=on_step)
    step()
    finite = finite.astype(np.float64, copy=False)
    n_upper = int(np.count_nonzero(upper))
    w_upper = n_upper / finite.size
    if n_upper in (0, finite.size):
        return _OtsuSplit(w_upper, 0.0)
    step()
    lower_mean = float(finite[~upper].mean())
    step()
    upper_mean = float(finite[upper].mean())
    step()
    total_variance = float(finite.var())
    between_variance = w_upper * (1.0 - w_upper) * (upper_mean - lower_mean) ** 2
    separability = min(between_variance / total_variance, 1.0) if total_variance > 0 else 0.0
    return _OtsuSplit(w_upper, separability)


def bimodality(values: np.ndarray, nbins: int = 256, on_step: Callable[[], object] | None = None) -> float:
    """Otsu's separability measure of the histogram of ``values`` [Otsu1979]_.

    ``eta = sigma_between^2 / sigma_total^2`` for the two classes split at the Otsu threshold,
    computed from the exact values (not the binned histogram). It lies in [0, 1]: 1 for a
    two-valued map, 0 for a constant one. In the continuum a uniform distribution gives
    exactly 0.75 and a single Gaussian 2/pi ~ 0.64, while two Gaussians of standard
    deviation s whose means are d apart give about d^2 / (d^2 + 4 s^2) for equal weights.

    Parameters
    ----------
    values : array
        Any shape; NaN and infinities are ignored.
    nbins : int
        Number of histogram bins used to find the Otsu threshold.
    on_step : callable, optional
        Called between the passes over the values, e.g. to report progress and check cancel.

    Returns
    -------
    float
    """
    return _otsu_split(values, nbins=nbins, on_step=on_step).separability


def is_bimodal(
    values: np.ndarray,
    min_separability: float = 0.8,
    min_class_fraction: float = 0.01,
    nbins: int = 256,
    on_step: Callable[[], object] | None = None,
) -> bool:
    """Whether the histogram of ``values`` has two well-separated modes.

    Bunk et al. [Bunk2017]_ keep only the heatmaps whose histogram is bimodal before
    segmenting them. Here a map is bimodal when Otsu's separability (:func:`bimodality`) is at
    least ``min_separability`` and each of the two Otsu classes holds at least
    ``min_class_fraction`` of the finite pixels.

    The default bar 0.8 sits above the separability of uniform noise (0.75 exactly in the
    continuum) and of a single Gaussian (2/pi ~ 0.64); two equal-weight Gaussians pass it when
    their means are more than 4 standard deviations apart.

    Parameters
    ----------
    values : array
        Any shape; NaN and infinities are ignored.
    min_separability : float
        Smallest accepted separability, in [0, 1].
    min_class_fraction : float
        Smallest accepted fraction of pixels in either class, in [0, 0.5].
    nbins : int
        Number of histogram bins used to find the Otsu threshold.
    on_step : callable, optional
        Called between the passes over the values, e.g. to report progress and check cancel.

    Returns
    -------
    bool
        False for a constant map.
    """
    split = _otsu_split(values, nbins=nbins, on_step=on_step)
    smaller_class = min(split.upper_fraction, 1.0 - split.upper_fraction)
    return bool(
        smaller_class >= min_class_fraction
        and smaller_class > 0.0
        and split.separability >= min_separability
    )


def random_walker_segment(
    heatmap: np.ndarray,
    threshold: float | None = None,
    beta: float = 130.0,
    max_side: int = 512,
) -> np.ndarray:
    """Segment a heatmap with the Random Walker algorithm [Grady2006]_ as in [Bunk2017]_.

    For speed, a heatmap whose longest side exceeds ``max_side`` is segmented on a copy
    shrunk with area averaging (which also averages noise away). That map is split in two
    classes at ``threshold`` (Otsu's threshold of the full heatmap when None); pixels at or
    below the median of the lower class are seeded as background, pixels at or above the
    median of the upper class as foreground, and the Random Walker labels the rest by
    following the image structure rather than the individual values. Seeding from the class
    medians (rather than the means) keeps at least half of each class seeded, which bounds
    the size of the linear system and so the run time. The foreground probability is resized
    back bilinearly and thresholded at 0.5. When either class is empty, the plain mask
    ``heatmap >= threshold`` is returned.

    The linear system is solved directly (``mode='bf'``): exact, so no probability leaves
    [0, 1], and at 512 pixels as fast as Jacobi-preconditioned conjugate gradients. A
    1024x768 heatmap takes about 0.3-0.5 s on one CPU core.

    Parameters
    ----------
    heatmap : (H, W) array
        Finite values, usually in [0, 1].
    threshold : float, optional
        Threshold that splits the two classes (mask convention ``heatmap >= threshold``).
    beta : float
        Random Walker edge penalty: larger values stop the walk more strongly at value steps.
    max_side : int
        Longest side, in pixels, of the map the Random Walker runs on.

    Returns
    -------
    (H, W) bool array
    """
    from skimage.segmentation import random_walker

    data = np.asarray(heatmap, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D heatmap, got shape {data.shape}")
    if threshold is None:
        threshold = otsu_threshold(data)
    full_mask = data >= threshold
    height, width = data.shape
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(data, size, interpolation=cv2.INTER_AREA)
    else:
        small = data
    upper = small >= threshold
    if upper.all() or not upper.any():
        return full_mask
    seeds = np.zeros(small.shape, dtype=np.int32)
    seeds[small <= np.median(small[~upper])] = 1
    seeds[small >= np.median(small[upper])] = 2
    if np.all(seeds):
        probability = (seeds == 2).astype(np.float32)
    else:
        probability = random_walker(small, seeds, beta=beta, mode="bf", return_full_prob=True)[1]
    if small is not data:
        probability = cv2.resize(
            probability.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
    return probability >= 0.5


def clean_mask(
    mask: np.ndarray,
    min_area: int = 64,
    fill_holes: bool = True,
    opening_radius: int = 0,
) -> np.ndarray:
    """Tidy a binary mask: optional opening, hole filling, then removal of small components.

    Steps, in order:

    1. when ``opening_radius > 0``, a morphological opening with a disc of that radius
       (detaches thin bridges and erases slivers);
    2. when ``fill_holes``, every background area fully enclosed by the mask is filled
       (``scipy.ndimage.binary_fill_holes``);
    3. 8-connected components of fewer than ``min_area`` pixels are removed.

    Components are counted with ``scipy.ndimage.label`` rather than
    ``skimage.morphology.remove_small_objects``, whose size argument changed meaning in
    scikit-image 0.26.

    Parameters
    ----------
    mask : (H, W) array
        Nonzero = flagged.
    min_area : int
        Smallest kept component, in pixels.
    fill_holes : bool
        Fill the holes of the mask.
    opening_radius : int
        Radius in pixels of the opening disc; 0 skips the opening.

    Returns
    -------
    (H, W) bool array
    """
    from scipy import ndimage

    out = np.asarray(mask).astype(bool)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {out.shape}")
    if opening_radius > 0:
        disc = cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * opening_radius + 1, 2 * opening_radius + 1)
        )
        out = cv2.morphologyEx(out.view(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)
    if fill_holes:
        out = ndimage.binary_fill_holes(out)
    if min_area > 1:
        labels, count = ndimage.label(out, structure=_EIGHT_CONNECTED)
        if count:
            areas = np.bincount(labels.ravel(), minlength=count + 1)
            keep = areas >= min_area
            keep[0] = False
            out = keep[labels]
    return out


@dataclass(frozen=True)
class Region:
    """One connected flagged region of a mask, in image pixel coordinates (x = column, y = row).

    ``contour`` is excluded from comparisons and the repr.
    """

    label: int
    """1 for the largest region, 2 for the next, and so on."""
    area: int
    """Number of pixels."""
    bbox: tuple[int, int, int, int]
    """(x, y, width, height) of the smallest rectangle holding every pixel."""
    centroid: tuple[float, float]
    """(x, y) mean of the pixel coordinates."""
    contour: np.ndarray = field(compare=False, repr=False)
    """(N, 2) float array of (x, y) points of the outer boundary, closed (first = last),
    running through the midpoints between region and background pixel centres."""


def _polygon_area(points: np.ndarray) -> float:
    """Absolute area enclosed by a closed polygon (shoelace formula)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def regions(mask: np.ndarray, min_area: int = 64) -> list[Region]:
    """The 8-connected regions of ``mask`` of at least ``min_area`` pixels, largest first.

    Each region's outer contour comes from marching squares (``skimage.measure.find_contours``
    at level 0.5, diagonal neighbours connected) on a copy padded with one background pixel,
    so a region touching the image border still gets a closed contour (running half a pixel
    outside the border).

    Parameters
    ----------
    mask : (H, W) array
        Nonzero = flagged.
    min_area : int
        Smallest reported region, in pixels.

    Returns
    -------
    list of Region
        Sorted by area, largest first (ties in raster order of their first pixel); labels
        are 1..n in that order.
    """
    from scipy import ndimage
    from skimage.measure import find_contours

    binary = np.asarray(mask).astype(bool)
    if binary.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {binary.shape}")
    labels, count = ndimage.label(binary, structure=_EIGHT_CONNECTED)
    if count == 0:
        return []
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    slices = ndimage.find_objects(labels)
    order = sorted(
        (index for index in range(1, count + 1) if areas[index] >= min_area),
        key=lambda index: -areas[index],
    )
    found = []
    for rank, index in enumerate(order, start=1):
        rows, cols = slices[index - 1]
        region = np.pad(labels[rows, cols] == index, 1)
        ys, xs = np.nonzero(region)
        contour = max(
            find_contours(region.astype(np.float32), 0.5, fully_connected="high"),
            key=_polygon_area,
        )
        # Padded crop coordinates (row, col) -> image (x, y).
        contour_xy = np.column_stack(
            (contour[:, 1] + cols.start - 1, contour[:, 0] + rows.start - 1)
        )
        found.append(
            Region(
                label=rank,
                area=int(areas[index]),
                bbox=(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start),
                centroid=(
                    float(xs.mean()) + cols.start - 1,
                    float(ys.mean()) + rows.start - 1,
                ),
                contour=contour_xy,
            )
        )
    return found


def mask_outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """The boundary pixels of ``mask``, for drawing outlines.

    This is the internal morphological gradient: the mask minus its erosion by a square of
    side ``2 * thickness + 1``, so the outline is ``thickness`` pixels wide and lies inside
    the mask. Outside the image counts as background, so regions touching the border are
    outlined along it too.

    Parameters
    ----------
    mask : (H, W) array
        Nonzero = flagged.
    thickness : int
        Width of the outline in pixels (at least 1).

    Returns
    -------
    (H, W) bool array
    """
    binary = np.ascontiguousarray(np.asarray(mask).astype(bool))
    if binary.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {binary.shape}")
    if thickness < 1:
        raise ValueError(f"thickness must be at least 1, got {thickness}")
    side = 2 * thickness + 1
    eroded = cv2.erode(
        binary.view(np.uint8),
        np.ones((side, side), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return binary & ~eroded.astype(bool)
