"""The copy-move pairs drawn over the image view: a box around each region, an arrow from source to copy."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsRectItem

from forensics_core.features.copy_move_regions import ClonePair
from forensics_core.report_clone_pairs import pair_colours

#: Above the result layer (z 10) and below ROIs being drawn.
Z_VALUE = 20


class ClonePairsOverlay:
    """Graphics items for a list of pairs in a pyqtgraph ``ViewBox`` (image pixel coordinates).

    Directed pairs: green box = source, red box = copy, red arrow from source to copy. Undirected
    pairs: orange boxes and a line with an arrow head at each end. Each box is numbered as in the
    pairs table.
    """

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.items: list = []
        self.visible = True

    def show_pairs(self, pairs: list[ClonePair]) -> None:
        """Replace the drawn pairs with ``pairs``."""
        self.clear()
        for number, pair in enumerate(pairs, start=1):
            source_colour, target_colour, line_colour = pair_colours(pair)
            centres = []
            for box, colour in zip((pair.source_box, pair.target_box), (source_colour, target_colour)):
                x0, y0, x1, y1 = box
                rect = QGraphicsRectItem(QRectF(x0, y0, x1 - x0, y1 - y0))
                rect.setPen(pg.mkPen(colour, width=2, cosmetic=True))
                label = pg.TextItem(str(number), color=colour, anchor=(0, 1))
                label.setPos(x0, y0)
                self._add(rect)
                self._add(label)
                centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
            (sx, sy), (tx, ty) = centres
            self._add(pg.PlotCurveItem([sx, tx], [sy, ty], pen=pg.mkPen(line_colour, width=2)))
            self._add(_arrow_head((sx, sy), (tx, ty), line_colour))
            if pair.direction == "pair":
                self._add(_arrow_head((tx, ty), (sx, sy), line_colour))
        self.set_visible(self.visible)

    def set_visible(self, visible: bool) -> None:
        """Show or hide every drawn pair (the toggle)."""
        self.visible = visible
        for item in self.items:
            item.setVisible(visible)

    def clear(self) -> None:
        """Remove every drawn pair."""
        for item in self.items:
            self.view.removeItem(item)
        self.items = []

    def _add(self, item) -> None:
        item.setZValue(Z_VALUE)
        self.view.addItem(item)
        self.items.append(item)


def _arrow_head(start: tuple[float, float], end: tuple[float, float], colour: tuple[int, int, int]) -> pg.ArrowItem:
    """An arrow head at ``end`` pointing away from ``start`` (y grows downwards in the view)."""
    angle = math.degrees(math.atan2(end[1] - start[1], end[0] - start[0]))
    # ArrowItem's angle 0 points left (the head at the tip, tail to the right); flip to point along the line.
    head = pg.ArrowItem(pos=end, angle=180 + angle, headLen=14, tipAngle=30, brush=pg.mkBrush(colour),
                        pen=pg.mkPen(colour))
    return head
