"""pyqtgraph items for rectangle, ellipse and polygon ROIs, and their conversion to plain geometry."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from forensics_core.roi import Ellipse, Geometry, Polygon, Rect


class EllipseItem(pg.EllipseROI):
    """An axis-aligned ellipse ROI (a scale handle, no rotate handle: the geometry has no angle)."""

    def _addHandles(self) -> None:
        self.addScaleHandle([1.0, 1.0], [0.0, 0.0])
        self.addScaleHandle([0.0, 0.0], [1.0, 1.0])


class RectItem(pg.RectROI):
    """An axis-aligned rectangle ROI with corner and side handles."""

    def __init__(self, pos, size, **kwargs) -> None:
        super().__init__(pos, size, sideScalers=True, **kwargs)
        self.addScaleHandle([0.0, 0.0], [1.0, 1.0])


def make_item(geometry: Geometry, colour: str) -> pg.ROI:
    """A movable, resizable pyqtgraph ROI for ``geometry`` drawn in ``colour``."""
    pen = pg.mkPen(colour, width=2)
    hover = pg.mkPen(colour, width=4)
    if isinstance(geometry, Polygon):
        item: pg.ROI = pg.PolyLineROI([list(p) for p in geometry.points], closed=True, pen=pen,
                                      hoverPen=hover, removable=True)
    elif isinstance(geometry, Ellipse):
        item = EllipseItem((geometry.x, geometry.y), (geometry.width, geometry.height), pen=pen,
                           hoverPen=hover, removable=True)
    else:
        item = RectItem((geometry.x, geometry.y), (geometry.width, geometry.height), pen=pen,
                        hoverPen=hover, removable=True)
    item.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
    item.setZValue(20)
    return item


def item_geometry(item: pg.ROI) -> Geometry:
    """The plain geometry of a pyqtgraph ROI, in image (view) coordinates."""
    if isinstance(item, pg.PolyLineROI):
        points = [item.mapToParent(QPointF(h.pos())) for h in item.getHandles()]
        return Polygon(tuple((float(p.x()), float(p.y())) for p in points))
    pos, size = item.pos(), item.size()
    cls = Ellipse if isinstance(item, pg.EllipseROI) else Rect
    return cls(float(pos.x()), float(pos.y()), float(size.x()), float(size.y()))


def label_anchor(item: pg.ROI) -> QPointF:
    """Where the ROI's name is drawn, in the item's own coordinates."""
    if isinstance(item, pg.PolyLineROI) and item.getHandles():
        handles = item.getHandles()
        top = min(handles, key=lambda h: (h.pos().y(), h.pos().x()))
        return QPointF(top.pos())
    return QPointF(0.0, 0.0)
