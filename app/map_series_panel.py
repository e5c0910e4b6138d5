"""A slider over a result's ordered series of extra maps (e.g. one JPEG-ghost map per re-save quality).

The detector declares the series (:mod:`forensics_core.map_series`); this panel shows one map
at a time, over a thumbnail of the picture's geometry, with the slider's value (for example
"Re-save quality: 60") and which step the detector recommends. Any detector that declares a
series gets the slider; nothing here knows about JPEG.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QVBoxLayout, QWidget

from forensics_core.detectors.base import Result
from forensics_core.map_series import MapSeries, map_series

from app.class_maps_panel import thumbnail
from app.display_data import quantise
from app.layers import heatmap_lut


class MapSeriesPanel(QWidget):
    """One map of the selected result's series, a slider to step through them, and their labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel(wordWrap=True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self._show_step)
        self.step_label = QLabel()
        self.graphics = pg.GraphicsLayoutWidget()
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        layout.addWidget(self.caption)
        layout.addWidget(self.slider)
        layout.addWidget(self.step_label)
        layout.addWidget(self.graphics, 1)
        self.result: Result | None = None
        self.series: MapSeries | None = None
        self.show_result(None)

    def show_result(self, result: Result | None) -> None:
        """Show ``result``'s series at the step its detector recommends, or explain that it has none."""
        self.result = result
        self.series = map_series(result.extra, result.extra_maps) if result is not None else None
        has_series = self.series is not None
        self.slider.setVisible(has_series)
        self.step_label.setVisible(has_series)
        self.graphics.setVisible(has_series)
        if self.series is None:
            self.caption.setText("The selected result has no map series. Detectors that compute one map per "
                                 "setting (JPEG ghosts: one per re-save quality) show them here with a slider.")
            return
        self.caption.setText(f"{len(self.series.names)} maps of {result.detector_id}: move the slider to step "
                             f"through '{self.series.label}'. The recommended step is "
                             f"{self.series.values[self.series.selected]} (the result's heatmap).")
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.series.names) - 1)
        self.slider.setValue(self.series.selected)
        self.slider.blockSignals(False)
        self._show_step(self.series.selected)

    def _show_step(self, index: int) -> None:
        if self.series is None or self.result is None:
            return
        name = self.series.names[index]
        recommended = " (recommended)" if index == self.series.selected else ""
        self.step_label.setText(f"{self.series.label}: {self.series.values[index]}{recommended} - map '{name}'")
        self.image.setImage(quantise(thumbnail(self.result.extra_maps[name])), levels=(0, 255),
                            lut=heatmap_lut("inferno"))
        self.view.autoRange(padding=0.0)

    def current_name(self) -> str | None:
        """The name of the map shown now (None without a series)."""
        return None if self.series is None else self.series.names[self.slider.value()]
