"""The colour bar shown under a heatmap: which heatmap value each colour stands for.

Its colours are :func:`forensics_core.render.colormap_lut`, the table the view, ``overlay.png``
and the report use, and its axis gives the values the colour map spans (the map's own range
when stretched, else 0 to 1).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from forensics_core.render import colormap_lut

BAR_HEIGHT_PX = 52


class ColourBar(pg.PlotWidget):
    """A horizontal colour bar with a value axis underneath (not interactive)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(BAR_HEIGHT_PX)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.getAxis("bottom").enableAutoSIPrefix(False)  # heatmap values, never "(x0.001)"
        plot.setContentsMargins(4, 0, 12, 0)
        self.bar = pg.ImageItem()
        self.addItem(self.bar)
        self.name = ""
        self.span = (0.0, 1.0)

    def show_scale(self, colormap: str, low: float, high: float) -> None:
        """Show colour map ``colormap`` spanning heatmap values ``low`` (left) to ``high`` (right)."""
        self.name, self.span = colormap, (float(low), float(high))
        high = max(float(high), float(low) + 1e-6)
        self.bar.setImage(colormap_lut(colormap)[None, :, :], levels=(0, 255), autoLevels=False)
        self.bar.setRect(float(low), 0.0, high - float(low), 1.0)
        self.setXRange(float(low), high, padding=0)
        self.setYRange(0.0, 1.0, padding=0)
        self.getPlotItem().setLabel("bottom", f"heatmap value ({colormap})")

    def colours(self) -> np.ndarray:
        """The (256, 3) colours the bar shows, left to right."""
        return np.asarray(self.bar.image[0])
