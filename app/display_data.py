"""Display data of a heatmap, prepared once (on the worker thread when a run finishes).

Pure NumPy, no Qt: the 8-bit display copy of the heatmap and the whole-image histogram with
Otsu's threshold. The statistics come from :mod:`forensics_core.postprocess` on the float map;
this module only calls it ahead of time so that delivering a result to the window does not
block the GUI thread on a large image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensics_core.postprocess import histogram, otsu_threshold

#: Bins of the threshold panel's histogram.
HISTOGRAM_BINS = 64


def quantise(heatmap: np.ndarray) -> np.ndarray:
    """HxW float heatmap in [0, 1] to uint8 0..255 for display."""
    return np.clip(np.rint(heatmap * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class HeatmapHistogram:
    """Histogram (``counts``, ``edges``) of some heatmap values and their Otsu threshold (None: no values)."""

    counts: np.ndarray
    edges: np.ndarray
    otsu: float | None


@dataclass(frozen=True)
class DisplayData:
    """What the window shows of one heatmap: its 8-bit levels, their lowest and highest value
    (``level_range``, for stretching the colour map) and its whole-image histogram."""

    levels: np.ndarray
    histogram: HeatmapHistogram | None
    level_range: tuple[int, int] = (0, 255)


def heatmap_histogram(values: np.ndarray) -> HeatmapHistogram | None:
    """Histogram and Otsu threshold of ``values`` (None when there is no value to show)."""
    if values is None or values.size == 0:
        return None
    counts, edges = histogram(values, bins=HISTOGRAM_BINS, value_range=(0.0, 1.0))
    try:
        otsu: float | None = otsu_threshold(values)
    except ValueError:  # no finite value
        otsu = None
    return HeatmapHistogram(counts, edges, otsu)


def prepare_display(heatmap: np.ndarray) -> DisplayData:
    """The display data of ``heatmap`` (safe to call off the GUI thread)."""
    levels = quantise(heatmap)
    level_range = (int(levels.min()), int(levels.max())) if levels.size else (0, 255)
    return DisplayData(levels, heatmap_histogram(heatmap), level_range)
