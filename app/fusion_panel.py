"""A fusion result's members side by side: each detector's small map and its false-alarm rate.

The fused map itself is the result's heatmap (the main overlay of the Image tab); this panel shows
what it was made of (:mod:`forensics_core.fusion.summary`): one cell per member detector with its
map, its false-alarm rate under its own calibration and whether its result was reused from the
open case, and one sentence over the members.
"""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from forensics_core.detectors.base import Result
from forensics_core.fusion.summary import MemberRow, is_fusion_result, member_rows, members_sentence
from forensics_core.render import colorize

from app.class_maps_panel import thumbnail

#: Longer side of each member's map in the strip, in screen pixels.
CELL_SIDE = 112
SUSPICIOUS_COLOUR = "#c0392b"
PLACEHOLDER = "Run the fusion detector to see its member detectors' maps side by side."


def _pixmap(values: np.ndarray, colormap: str) -> QPixmap:
    rgb = np.ascontiguousarray(colorize(thumbnail(values), colormap))
    height, width, _ = rgb.shape
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(CELL_SIDE, CELL_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)


def _caption(row: MemberRow) -> str:
    colour = f" style='color:{SUSPICIOUS_COLOUR}'" if row.suspicious else ""
    how = " · reused" if row.obtained == "reused" else ""
    return f"<b>{escape(row.member)}</b><br><span{colour}>{escape(row.rate_text())}</span>{how}"


class FusionPanel(QWidget):
    """A strip under the image: the members of the selected fusion result, side by side in one
    scrolling row, and the sentence over them; hidden for any other result."""

    def __init__(self) -> None:
        super().__init__()
        self.sentence = QLabel(PLACEHOLDER)
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(CELL_SIDE + 64)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.sentence)
        layout.addWidget(scroll)
        self.rows: list[MemberRow] = []
        self.setVisible(False)

    def _clear(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def show_result(self, result: Result | None, colormap: str = "inferno") -> None:
        """Show the members of ``result`` when it is a fusion result, else the placeholder."""
        self._clear()
        self.setVisible(is_fusion_result(result))
        if not is_fusion_result(result):
            self.rows = []
            self.sentence.setText(PLACEHOLDER)
            return
        self.rows = member_rows(result)
        self.sentence.setText(members_sentence(result))
        for index, row in enumerate(self.rows):
            cell = QWidget()
            cell_layout = QVBoxLayout(cell)
            cell_layout.setContentsMargins(2, 2, 2, 2)
            picture = QLabel()
            if row.heatmap is not None:
                picture.setPixmap(_pixmap(row.heatmap, colormap))
            else:
                picture.setText("(no map)")
            picture.setToolTip(f"{row.member}: {row.rate_text()}; result {row.obtained}")
            caption = QLabel(_caption(row))
            caption.setTextFormat(Qt.TextFormat.RichText)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            cell_layout.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
            cell_layout.addWidget(caption)
            self.grid.addWidget(cell, 0, index)
