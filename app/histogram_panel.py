"""Histogram of the current heatmap (whole image or the selected ROI) with a draggable threshold."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.display_data import HISTOGRAM_BINS, HeatmapHistogram, heatmap_histogram
from app.wheel_guard import guard_wheel

__all__ = ["HISTOGRAM_BINS", "SCOPES", "HistogramPanel"]
SCOPES = ("Whole image", "Selected ROI")
#: What the empty plot says before any run.
NO_RESULT = "No heatmap yet: run a detector"


class HistogramPanel(QWidget):
    """pyqtgraph histogram (log counts) with the Otsu threshold marked and a threshold line to drag.

    The threshold can also be typed in the number box beside the Otsu button. ``thresholdChanged(value)``
    fires live while the line is dragged or the number changes; ``scopeChanged()`` when the
    examiner switches between the whole image and the selected ROI. An empty histogram keeps the
    0..1 axes and says why it is empty.
    """

    thresholdChanged = Signal(float)
    scopeChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.scope = QComboBox()
        self.scope.addItems(list(SCOPES))
        top.addWidget(self.scope)
        self.otsu_button = QPushButton("Otsu")
        self.otsu_button.setToolTip("Return the threshold to Otsu's threshold of the values shown")
        top.addWidget(self.otsu_button)
        top.addWidget(QLabel("Threshold:"))
        self.threshold_box = QDoubleSpinBox()
        self.threshold_box.setRange(0.0, 1.0)
        self.threshold_box.setDecimals(3)
        self.threshold_box.setSingleStep(0.01)
        self.threshold_box.setToolTip("Heatmap values at or above the threshold form the mask (also: drag the red line)")
        top.addWidget(self.threshold_box)
        top.addStretch(1)
        layout.addLayout(top)
        self.readout = QLabel("")
        self.readout.setStyleSheet("color: #444;")
        layout.addWidget(self.readout)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "heatmap value")
        self.plot.setLabel("left", "log10(1 + count)")
        self.plot.setXRange(0, 1, padding=0.04)
        self.plot.setMinimumHeight(150)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(90, 90, 90, 160), pen=pg.mkPen("#333"))
        self.plot.addItem(self.curve)
        self.otsu_line = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen("#1f50dc", width=2, style=Qt.PenStyle.DashLine))
        self.line = pg.InfiniteLine(angle=90, movable=True, bounds=(0.0, 1.0), pen=pg.mkPen("#d02020", width=3),
                                    hoverPen=pg.mkPen("#ff6060", width=4))
        self.plot.addItem(self.otsu_line)
        self.plot.addItem(self.line)
        self.empty_text = pg.TextItem("", color="#555", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty_text)
        self.empty_text.setPos(0.5, 0.5)
        layout.addWidget(self.plot, 1)
        self._otsu = 0.5
        self._has_data = False
        self.line.sigPositionChanged.connect(self._line_moved)
        self.threshold_box.valueChanged.connect(self._box_changed)
        guard_wheel(self)
        self.otsu_button.clicked.connect(lambda: self.set_threshold(self._otsu, emit=True))
        self.scope.currentIndexChanged.connect(lambda _i: self.scopeChanged.emit())
        self.set_values(None, 0.5)

    def roi_scope(self) -> bool:
        """True when the histogram should show the selected ROI only."""
        return self.scope.currentIndex() == 1

    def otsu(self) -> float:
        """Otsu's threshold of the values shown."""
        return self._otsu

    def threshold(self) -> float:
        """The threshold line's position."""
        return float(self.line.value())

    def set_values(self, values: np.ndarray | None, threshold: float, empty_message: str = NO_RESULT) -> None:
        """Show the histogram of ``values`` with the line at ``threshold``; None or no value
        clears it and shows ``empty_message`` instead."""
        data = heatmap_histogram(values) if values is not None else None
        self.set_histogram(data, threshold, empty_message)

    def set_histogram(self, data: HeatmapHistogram | None, threshold: float,
                      empty_message: str = NO_RESULT) -> None:
        """Show an already computed histogram (None clears it and shows ``empty_message``)."""
        self.empty_text.setText("" if data is not None else empty_message)
        self.empty_text.setVisible(data is None)
        if data is None:
            self.curve.setData([0.0, 1.0], [0.0])
            self._otsu = 0.5
            self.otsu_line.setVisible(False)
            self.plot.enableAutoRange(y=False)
            self.plot.setYRange(0.0, 1.0, padding=0.04)
        else:
            self.curve.setData(data.edges, np.log10(1.0 + data.counts.astype(np.float64)))
            self._otsu = data.otsu if data.otsu is not None else 0.5
            self.otsu_line.setValue(self._otsu)
            self.otsu_line.setVisible(data.otsu is not None)
            self.plot.enableAutoRange(y=True)
        self._has_data = data is not None
        self.set_threshold(threshold, emit=False)

    def set_threshold(self, value: float, emit: bool) -> None:
        """Move the threshold line and number; emit ``thresholdChanged`` only when ``emit``."""
        self.line.blockSignals(not emit)
        self.line.setValue(float(np.clip(value, 0.0, 1.0)))
        self.line.blockSignals(False)
        self._show_readout()

    def _line_moved(self) -> None:
        self._show_readout()
        self.thresholdChanged.emit(self.threshold())

    def _box_changed(self, value: float) -> None:
        if abs(value - self.threshold()) > 5e-4:  # the box rounds to 3 decimals; the line does not
            self.line.setValue(value)

    def _show_readout(self) -> None:
        self.threshold_box.blockSignals(True)
        self.threshold_box.setValue(self.threshold())
        self.threshold_box.blockSignals(False)
        if self._has_data:
            otsu = f"Otsu {self._otsu:.3f} (dashed blue)" if self.otsu_line.isVisible() else "no Otsu threshold"
            self.readout.setText(f"threshold {self.threshold():.3f} (red line) · {otsu}")
        else:
            self.readout.setText("")
