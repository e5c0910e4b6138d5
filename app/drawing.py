"""A ViewBox on which the examiner draws ROIs: drag for rectangles and ellipses, click for polygons."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsRectItem

DRAW_KINDS = ("rect", "ellipse", "polygon")


class DrawingViewBox(pg.ViewBox):
    """A ViewBox with an optional armed drawing tool.

    While ``rect`` or ``ellipse`` is armed, a left-drag draws the shape's bounding box; while
    ``polygon`` is armed, left-clicks add vertices and a double-click or right-click closes it.
    ``shapeDrawn(kind, points)`` sends the corners (two points) or vertices in view coordinates;
    the tool disarms itself afterwards. Otherwise the view pans and zooms as usual.
    """

    shapeDrawn = Signal(str, list)
    toolChanged = Signal(str)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tool = ""
        self._points: list[QPointF] = []
        pen = pg.mkPen("#ffff00", width=2, style=Qt.PenStyle.DashLine)
        self._band_rect = QGraphicsRectItem()
        self._band_ellipse = QGraphicsEllipseItem()
        for band in (self._band_rect, self._band_ellipse):
            band.setPen(pen)
            band.setZValue(30)
            band.setVisible(False)
            self.addItem(band, ignoreBounds=True)
        self._preview = pg.PlotCurveItem(pen=pen)
        self._preview.setZValue(30)
        self.addItem(self._preview, ignoreBounds=True)

    def arm(self, kind: str) -> None:
        """Arm a drawing tool (one of :data:`DRAW_KINDS`), or disarm with ''."""
        self.tool = kind if kind in DRAW_KINDS else ""
        self._points = []
        self._preview.setData([], [])
        self._band_rect.setVisible(False)
        self._band_ellipse.setVisible(False)
        self.setCursor(Qt.CursorShape.CrossCursor if self.tool else Qt.CursorShape.ArrowCursor)
        self.toolChanged.emit(self.tool)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph override)
        """Draw a rectangle or ellipse while one is armed; pan otherwise."""
        if self.tool not in ("rect", "ellipse") or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos())
        end = self.mapSceneToView(ev.scenePos())
        band = self._band_rect if self.tool == "rect" else self._band_ellipse
        band.setRect(QRectF(start, end).normalized())
        band.setVisible(True)
        if ev.isFinish():
            kind = self.tool
            self.arm("")
            if abs(end.x() - start.x()) >= 1 and abs(end.y() - start.y()) >= 1:
                self.shapeDrawn.emit(kind, [start, end])

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph override)
        """Add polygon vertices while the polygon tool is armed."""
        if self.tool != "polygon":
            super().mouseClickEvent(ev)
            return
        ev.accept()
        finish = ev.double() or ev.button() == Qt.MouseButton.RightButton
        if ev.button() == Qt.MouseButton.LeftButton and not ev.double():
            self._points.append(self.mapSceneToView(ev.scenePos()))
            closed = self._points + self._points[:1]
            self._preview.setData([p.x() for p in closed], [p.y() for p in closed])
        if finish:
            points = list(self._points)
            self.arm("")
            if len(points) >= 3:
                self.shapeDrawn.emit("polygon", points)
