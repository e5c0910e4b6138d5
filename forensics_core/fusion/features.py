"""Per-pixel features of the member detectors' heatmaps, in the layout the fusion model reads.

For each member detector three features are taken at every pixel, after the late-fusion
schemes of Fontani et al. (IEEE TIFS 8(4), 2013, a framework for decision fusion in image
forensics) and Korus & Huang (IEEE TIFS 12(4), 2017, multi-scale fusion of tampering maps),
where a map is judged both by its value and by its context:

``map``
    the member's heatmap value in [0, 1];
``local``
    its mean over a square window of :data:`LOCAL_WINDOW` pixels (a region's support: isolated
    spikes are weak evidence, coherent blobs strong);
``rank``
    the pixel's rank within the image, in [0, 1] (0: the lowest value, 1: the highest; ties get
    their mean rank), which makes the feature independent of each detector's own scale and of
    the image's overall level (a map that is high everywhere carries no localisation).

The layout, member by member, is :func:`feature_names`; the model records it and refuses
another one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

#: Side, in pixels, of the window of the ``local`` feature.
LOCAL_WINDOW = 31
#: The features taken from each member's heatmap, in order.
FEATURES_PER_MEMBER = ("map", "local", "rank")


def feature_names(members: Sequence[str]) -> list[str]:
    """``["<member>:map", "<member>:local", "<member>:rank", ...]`` for ``members`` in order."""
    return [f"{member}:{feature}" for member in members for feature in FEATURES_PER_MEMBER]


def local_mean(heatmap: np.ndarray, window: int = LOCAL_WINDOW) -> np.ndarray:
    """Mean of ``heatmap`` over a ``window`` x ``window`` square centred on each pixel.

    Near the border the window is mirrored (OpenCV's ``BORDER_REFLECT_101``), so a constant map
    stays constant.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the window side must be a positive odd number, got {window}")
    values = np.ascontiguousarray(heatmap, dtype=np.float32)
    return cv2.blur(values, (window, window), borderType=cv2.BORDER_REFLECT_101)


def rank_within_image(heatmap: np.ndarray) -> np.ndarray:
    """Each pixel's rank among all pixels of ``heatmap``, scaled to [0, 1].

    With ``r`` the pixel's 1-based rank in ascending order (tied values share the mean of their
    ranks), the feature is ``(r - 1) / (n - 1)`` for ``n`` pixels; a constant map (or a single
    pixel) is 0.5 everywhere.
    """
    values = np.asarray(heatmap, dtype=np.float32).ravel()
    n = values.size
    if n <= 1:
        return np.full(np.shape(heatmap), 0.5, dtype=np.float32)
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts  # pixels strictly below each distinct value
    mean_rank = below + (counts - 1) / 2.0  # 0-based mean rank of the tied run
    return (mean_rank[inverse] / (n - 1)).astype(np.float32).reshape(np.shape(heatmap))


def member_features(heatmap: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES_PER_MEMBER` of one heatmap, stacked: float32 array HxWx3."""
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    return np.stack([values, local_mean(values), rank_within_image(values)], axis=-1)


def feature_stack(heatmaps: Mapping[str, np.ndarray], members: Sequence[str]) -> np.ndarray:
    """Features of every member in ``members`` order: float32 HxWx(3 * len(members)).

    ``heatmaps`` maps each member id to its HxW heatmap; all must have the same shape.
    """
    shapes = {np.shape(heatmaps[member]) for member in members}
    if len(shapes) != 1:
        raise ValueError(f"member heatmaps differ in shape: {sorted(shapes)}")
    return np.concatenate([member_features(heatmaps[member]) for member in members], axis=-1)
