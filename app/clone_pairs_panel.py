"""The copy-move pairs of the selected result: a table (click a row to zoom to the pair) and the
toggle of the pairs drawn over the image."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QCheckBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from forensics_core.detectors.base import Result
from forensics_core.features.copy_move_regions import ClonePair
from forensics_core.report_clone_pairs import clone_pairs

from app.clone_pairs_overlay import ClonePairsOverlay
from app.image_view import ImageView

COLUMNS = ("#", "Direction", "Shift (px)", "Rotation", "Scale", "Mirror", "Matches", "Correlation", "Found by")


def pair_cells(number: int, pair: ClonePair) -> tuple[str, ...]:
    """The table cells of one pair."""
    return (str(number), "source \u2192 copy" if pair.direction != "pair" else "pair",
            f"({pair.shift[0]:.0f}, {pair.shift[1]:.0f})", f"{pair.rotation_deg:.1f}\u00b0", f"{pair.scale:.3f}",
            "yes" if pair.mirror else "no", str(pair.matches), f"{pair.correlation:.3f}", pair.method)


class ClonePairsPanel(QWidget):
    """Table of the selected result's matched pairs; draws them over ``image_view``.

    ``zoomed`` is emitted after the view zoomed to a pair (the main window shows the image tab).
    """

    zoomed = Signal()

    def __init__(self, image_view: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_view = image_view
        self.overlay = ClonePairsOverlay(image_view.view)
        self.pairs: list[ClonePair] = []
        layout = QVBoxLayout(self)
        self.caption = QLabel("Run the copy-move detector to list matched regions.", wordWrap=True)
        self.toggle = QCheckBox("Draw the pairs over the image")
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.overlay.set_visible)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.cellClicked.connect(lambda row, _column: self.zoom_to(row))
        layout.addWidget(self.caption)
        layout.addWidget(self.toggle)
        layout.addWidget(self.table, 1)

    def show_result(self, result: Result | None) -> None:
        """List and draw the pairs of ``result`` (nothing for other detectors or no result)."""
        self.pairs = clone_pairs(result.extra) if result is not None else []
        self.table.setRowCount(len(self.pairs))
        for row, pair in enumerate(self.pairs):
            for column, text in enumerate(pair_cells(row + 1, pair)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.overlay.show_pairs(self.pairs)
        if result is None or result.detector_id != "copy-move":
            self.caption.setText("Run the copy-move detector to list matched regions.")
        elif not self.pairs:
            self.caption.setText("No duplicated regions were verified in this picture.")
        else:
            self.caption.setText(f"{len(self.pairs)} matched pair(s): green = source, red = copy, orange = "
                                 "direction unknown. Click a row to zoom to it.")

    def zoom_to(self, row: int) -> None:
        """Zoom the image view to the box holding both regions of pair ``row``, with a margin."""
        if not 0 <= row < len(self.pairs):
            return
        pair = self.pairs[row]
        x0 = min(pair.source_box[0], pair.target_box[0])
        y0 = min(pair.source_box[1], pair.target_box[1])
        x1 = max(pair.source_box[2], pair.target_box[2])
        y1 = max(pair.source_box[3], pair.target_box[3])
        self.image_view.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.1)
        self.zoomed.emit()
