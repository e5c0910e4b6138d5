"""Every per-class map of a result (e.g. the resampling detector's six) with its histogram and Otsu mark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from forensics_core.detectors.base import ClassMapSummary, Result
from forensics_core.postprocess import histogram, otsu_threshold

from app.colour_bar import ColourBar
from app.display_data import quantise
from app.layers import heatmap_lut

#: Maps are shown from a strided copy whose longest side is at most this many pixels.
THUMBNAIL_SIDE = 400
MAPS_PER_ROW = 3


@dataclass(frozen=True)
class ClassMap:
    """One map to show: its title, a thumbnail, its histogram and Otsu's threshold."""

    title: str
    thumbnail: np.ndarray
    counts: np.ndarray
    edges: np.ndarray
    otsu: float


def thumbnail(values: np.ndarray) -> np.ndarray:
    """A strided copy of ``values`` whose longest side is at most :data:`THUMBNAIL_SIDE`."""
    step = max(1, int(np.ceil(max(values.shape) / THUMBNAIL_SIDE)))
    return np.ascontiguousarray(np.clip(values[::step, ::step].astype(np.float32), 0.0, 1.0))


def class_maps(result: Result) -> list[ClassMap]:
    """The maps to show for ``result``.

    When the detector summarised per-class maps (``result.per_class``), each class's map is shown
    with the histogram and Otsu threshold the detector computed at full resolution, and whether
    it was kept as bimodal. Otherwise every extra map is shown with a histogram and Otsu
    threshold of its thumbnail.
    """
    summaries = {name: s for name, s in result.per_class.items() if s.map_name in result.extra_maps}
    if summaries:
        return [_summarised_map(summary, thumbnail(result.extra_maps[summary.map_name]))
                for summary in summaries.values()]
    maps = []
    for name in sorted(result.extra_maps):
        small = thumbnail(result.extra_maps[name])
        counts, edges = histogram(small, bins=48)
        maps.append(ClassMap(name, small, counts, edges, otsu_threshold(small)))
    return maps


def _summarised_map(summary: ClassMapSummary, small: np.ndarray) -> ClassMap:
    """A per-class map (``small``: its thumbnail) with the detector's own histogram, threshold and keep decision."""
    title = summary.map_name + (" · kept (bimodal)" if summary.kept else " · not bimodal")
    return ClassMap(title, small, np.asarray(summary.counts, np.float64), np.asarray(summary.edges, np.float64),
                    summary.otsu_threshold)


class ClassMapsPanel(QWidget):
    """A grid: each per-class map above its histogram with Otsu's threshold marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel(wordWrap=True)
        layout.addWidget(self.caption)
        self.graphics = pg.GraphicsLayoutWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.graphics)
        layout.addWidget(scroll, 1)
        self.colour_bar = ColourBar()
        layout.addWidget(self.colour_bar)
        self.maps: list[ClassMap] = []
        self.show_result(None)

    def show_result(self, result: Result | None, colormap: str = "inferno") -> None:
        """Draw the maps of ``result`` in ``colormap`` on the fixed 0..1 scale (or explain that it has none)."""
        self.graphics.clear()
        self.maps = class_maps(result) if result is not None else []
        self.colour_bar.setVisible(bool(self.maps))
        if not self.maps:
            self.caption.setText("The selected result has no per-class maps. The resampling detector shows "
                                 "one heatmap per resampling class here, each with its histogram and Otsu threshold.")
            return
        self.caption.setText(f"{len(self.maps)} maps of {result.detector_id}, each with its histogram "
                             "(log counts) and Otsu's threshold (dashed blue).")
        lut = heatmap_lut(colormap)
        self.colour_bar.show_scale(colormap, 0.0, 1.0)
        for index, item in enumerate(self.maps):
            group, column = divmod(index, MAPS_PER_ROW)
            self.graphics.addLabel(item.title, row=3 * group, col=column)
            view = self.graphics.addViewBox(row=3 * group + 1, col=column, lockAspect=True, invertY=True,
                                            enableMenu=False)
            view.addItem(pg.ImageItem(quantise(item.thumbnail), levels=(0, 255), lut=lut))
            view.setMouseEnabled(False, False)
            plot = self.graphics.addPlot(row=3 * group + 2, col=column)
            plot.plot(item.edges, np.log10(1.0 + item.counts), stepMode="center", fillLevel=0,
                      brush=(90, 90, 90, 160))
            plot.addLine(x=item.otsu, pen=pg.mkPen("#1f50dc", width=2, style=Qt.PenStyle.DashLine))
            plot.setXRange(0, 1, padding=0.02)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setMaximumHeight(140)
        groups = (len(self.maps) + MAPS_PER_ROW - 1) // MAPS_PER_ROW
        self.graphics.setMinimumHeight(340 * groups)
