"""The image view: the picture, one result layer above it, zoom, pan and the pixel under the cursor."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent

from app.drawing import DrawingViewBox


class ImageView(pg.GraphicsLayoutWidget):
    """A pyqtgraph view of an RGB uint8 picture with an optional layer (heatmap, mask or outline).

    Wheel zooms, left-drag pans (or draws an ROI while a drawing tool is armed); image coordinates are pixels with x = column, y = row.
    ``hovered`` sends the pixel under the cursor, or (-1, -1) outside the picture.
    """

    hovered = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.setBackground("#202020")
        self.view = DrawingViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.addItem(self.view)
        self.base = pg.ImageItem()
        self.layer = pg.ImageItem()
        self.layer.setZValue(10)
        self.view.addItem(self.base)
        self.view.addItem(self.layer)
        self._shape: tuple[int, int] | None = None
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_picture(self, rgb: np.ndarray) -> None:
        """Show a new HxWx3 uint8 picture and fit it to the view."""
        self._shape = (int(rgb.shape[0]), int(rgb.shape[1]))
        self.base.setImage(rgb, levels=(0, 255))
        self.hide_layer()
        self.fit()

    def show_layer(self, data: np.ndarray, lut: np.ndarray, opacity: float) -> None:
        """Show an HxW uint8 layer through a 256-entry RGBA lookup table at ``opacity``."""
        self.layer.setImage(data, levels=(0, 255), lut=lut, autoLevels=False)
        self.layer.setOpacity(opacity)
        self.layer.setVisible(True)

    def set_layer_opacity(self, opacity: float) -> None:
        """Change only the layer's opacity (no re-rendering)."""
        self.layer.setOpacity(opacity)

    def hide_layer(self) -> None:
        """Show the original picture alone."""
        self.layer.setVisible(False)

    def fit(self) -> None:
        """Fit the whole picture into the view."""
        if self._shape is not None:
            height, width = self._shape
            self.view.setRange(xRange=(0, width), yRange=(0, height), padding=0.01)

    def one_to_one(self) -> None:
        """Zoom so that one image pixel is one screen pixel, keeping the centre."""
        if self._shape is None:
            return
        rect = self.view.viewRect()
        centre = rect.center()
        size = self.view.size()
        half_w, half_h = size.width() / 2.0, size.height() / 2.0
        self.view.setRange(xRange=(centre.x() - half_w, centre.x() + half_w),
                           yRange=(centre.y() - half_h, centre.y() + half_h), padding=0)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Escape disarms an ROI drawing tool."""
        if event.key() == Qt.Key.Key_Escape and self.view.tool:
            self.view.arm("")
        else:
            super().keyPressEvent(event)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self._shape is None:
            return
        point = self.view.mapSceneToView(scene_pos)
        x, y = math.floor(point.x()), math.floor(point.y())
        height, width = self._shape
        if 0 <= x < width and 0 <= y < height and self.view.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit(x, y)
        else:
            self.hovered.emit(-1, -1)
