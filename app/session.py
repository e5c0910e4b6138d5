"""What the window holds for each result: the result, the examiner's threshold and its display layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forensics_core.case.model import new_id
from forensics_core.detectors.base import Result

from app.display_data import DisplayData, HeatmapHistogram, heatmap_histogram, prepare_display
from app.layers import ResultLayer


@dataclass
class ResultState:
    """One result of the open image with the threshold the examiner chose (initially the detector's)."""

    result: Result
    threshold: float
    display: DisplayData | None = field(default=None, repr=False, compare=False)
    #: The run's id in the case (kept across saves, so that bookmarks can name it).
    run_id: str = field(default_factory=new_id, compare=False)
    layer: ResultLayer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.display is None:  # not prepared by the worker thread (e.g. a reopened case)
            self.display = prepare_display(self.result.heatmap)
        self.layer = ResultLayer(self.result.heatmap, self.display.levels)

    @classmethod
    def of(cls, result: Result, display: DisplayData | None = None) -> "ResultState":
        """A state at the detector's own threshold (``display``: data prepared off the GUI thread)."""
        return cls(result, float(result.threshold), display)

    def whole_histogram(self) -> HeatmapHistogram | None:
        """Histogram and Otsu threshold of the whole heatmap (prepared once)."""
        return self.display.histogram if self.display is not None else heatmap_histogram(self.result.heatmap)

    def mask(self) -> np.ndarray:
        """``heatmap >= threshold`` at the examiner's threshold."""
        return self.result.heatmap >= self.threshold
