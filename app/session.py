"""What the window holds for each result: the result, the examiner's threshold and its display layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forensics_core.detectors.base import Result

from app.layers import ResultLayer


@dataclass
class ResultState:
    """One result of the open image with the threshold the examiner chose (initially the detector's)."""

    result: Result
    threshold: float
    layer: ResultLayer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.layer = ResultLayer(self.result.heatmap)

    @classmethod
    def of(cls, result: Result) -> "ResultState":
        """A state at the detector's own threshold."""
        return cls(result, float(result.threshold))

    def mask(self) -> np.ndarray:
        """``heatmap >= threshold`` at the examiner's threshold."""
        return self.result.heatmap >= self.threshold
