"""Regions of interest: the items in the image view, their table, CSV export and JSON save/load."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from forensics_core.atomic import write_text_atomic
from forensics_core.errors import ForensicsError
from forensics_core.roi import (
    Ellipse,
    Geometry,
    Polygon,
    Rect,
    Roi,
    RoiRow,
    load_rois,
    rasterize,
    roi_stats,
    save_rois,
    table_csv,
)

from app.dialogs import open_path, save_path, show_error, show_warning
from app.drawing import DrawingViewBox
from app.roi_items import item_geometry, label_anchor, make_item

PALETTE = ("#00c8ff", "#39e639", "#ffd21f", "#ff4df0", "#ff8c1a", "#ffffff")
COLUMNS = ("Name", "Shape", "Area px", "Area %", "Mean", "Max", "≥ thr.", "Note")
NAME_COLUMN, NOTE_COLUMN = 0, 7


@dataclass
class RoiEntry:
    """One ROI as the GUI holds it: its pyqtgraph item, label and the plain attributes."""

    item: pg.ROI
    label: pg.TextItem
    name: str
    colour: str
    note: str = ""
    mask: np.ndarray | None = field(default=None, repr=False)

    def roi(self) -> Roi:
        """The plain :class:`Roi` of this entry (geometry read from the item)."""
        return Roi(self.name, item_geometry(self.item), self.colour, self.note)


class RoiPanel(QWidget):
    """Owns the ROIs drawn on ``view``; shows their statistics on the current heatmap.

    ``changed()`` fires when an ROI is added, removed, moved or resized; ``selectionChanged()``
    when another row is selected.
    """

    changed = Signal()
    selectionChanged = Signal()

    def __init__(self, view: DrawingViewBox, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.entries: list[RoiEntry] = []
        self.image_shape: tuple[int, int] | None = None
        self.image_sha256 = ""
        self._heatmap: np.ndarray | None = None
        self._threshold = 0.5
        self._detector = ""
        self._rows: list[RoiRow] = []
        self._names = itertools.count(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        shapes = QHBoxLayout()
        self.add_buttons: dict[str, QPushButton] = {}
        for kind, text in (("rect", "Rectangle"), ("ellipse", "Ellipse"), ("polygon", "Polygon")):
            button = QPushButton(f"Draw {text.lower()}")
            button.setCheckable(True)
            button.setToolTip("Drag on the image to draw it (polygon: click the corners, double-click to close; "
                              "Esc cancels). Then drag it or its handles to move and resize it.")
            button.clicked.connect(lambda checked, k=kind: self.view.arm(k if checked else ""))
            shapes.addWidget(button)
            self.add_buttons[kind] = button
        layout.addLayout(shapes)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.colour_button = QPushButton("Colour…")
        self.delete_button = QPushButton("Delete")
        self.save_button = QPushButton("Save…")
        self.load_button = QPushButton("Load…")
        self.csv_button = QPushButton("Export CSV…")
        for button in (self.colour_button, self.delete_button, self.save_button, self.load_button, self.csv_button):
            actions.addWidget(button)
        layout.addLayout(actions)
        self.view.shapeDrawn.connect(self._shape_drawn)
        self.view.toolChanged.connect(self._tool_changed)
        self.table.itemChanged.connect(self._cell_edited)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.colour_button.clicked.connect(self._choose_colour)
        self.delete_button.clicked.connect(lambda: self.remove(self.selected_index()))
        self.save_button.clicked.connect(self._save_dialog)
        self.load_button.clicked.connect(self._load_dialog)
        self.csv_button.clicked.connect(self._csv_dialog)

    # ---- content --------------------------------------------------------------------------
    def set_image(self, shape: tuple[int, int] | None, sha256: str) -> None:
        """Start over for a new image: remove every ROI."""
        for index in reversed(range(len(self.entries))):
            self.remove(index)
        self.image_shape, self.image_sha256 = shape, sha256
        self._names = itertools.count(1)

    def add_roi(self, roi: Roi) -> RoiEntry:
        """Add an ROI (as an item in the view and a row in the table) and select it."""
        item = make_item(roi.geometry, roi.colour)
        label = pg.TextItem(roi.name, color=roi.colour, anchor=(0, 1), fill=(0, 0, 0, 150))
        label.setParentItem(item)
        label.setPos(label_anchor(item))
        entry = RoiEntry(item, label, roi.name, roi.colour, roi.note)
        self.entries.append(entry)
        self.view.addItem(item)
        item.sigRegionChangeFinished.connect(lambda _item, e=entry: self._geometry_changed(e))
        item.sigClicked.connect(lambda _item, _event, e=entry: self.select(self.entries.index(e)))
        item.sigRemoveRequested.connect(lambda _item, e=entry: self.remove(self.entries.index(e)))
        self._refresh()
        self.select(len(self.entries) - 1)
        self.changed.emit()
        return entry

    def add_shape(self, kind: str) -> RoiEntry | None:
        """Add a new ROI of ``kind`` (rect, ellipse, polygon) in the middle of the visible area."""
        if self.image_shape is None:
            return None
        height, width = self.image_shape
        rect = self.view.viewRect().intersected(pg.QtCore.QRectF(0, 0, width, height))
        w, h = max(rect.width() / 4, 4.0), max(rect.height() / 4, 4.0)
        x, y = rect.center().x() - w / 2, rect.center().y() - h / 2
        if kind == "polygon":
            geometry = Polygon(((x + w / 2, y), (x + w, y + h / 3), (x + 0.8 * w, y + h), (x + 0.2 * w, y + h),
                                (x, y + h / 3)))
        elif kind == "ellipse":
            geometry = Ellipse(x, y, w, h)
        else:
            geometry = Rect(x, y, w, h)
        return self._add_new(geometry)

    def _add_new(self, geometry: Geometry) -> RoiEntry:
        number = next(self._names)
        return self.add_roi(Roi(f"ROI {number}", geometry, PALETTE[(number - 1) % len(PALETTE)]))

    def _shape_drawn(self, kind: str, points: list) -> None:
        if self.image_shape is None:
            return
        if kind == "polygon":
            self._add_new(Polygon(tuple((p.x(), p.y()) for p in points)))
            return
        (x0, x1), (y0, y1) = sorted((points[0].x(), points[1].x())), sorted((points[0].y(), points[1].y()))
        cls = Ellipse if kind == "ellipse" else Rect
        self._add_new(cls(x0, y0, x1 - x0, y1 - y0))

    def _tool_changed(self, tool: str) -> None:
        for kind, button in self.add_buttons.items():
            button.setChecked(kind == tool)

    def remove(self, index: int) -> None:
        """Delete ROI number ``index`` (ignored when out of range)."""
        if not 0 <= index < len(self.entries):
            return
        entry = self.entries.pop(index)
        self.view.removeItem(entry.item)
        self._refresh()
        self.changed.emit()

    def rois(self) -> list[Roi]:
        """Every ROI as plain data, in table order."""
        return [entry.roi() for entry in self.entries]

    def select(self, index: int) -> None:
        """Select row ``index``."""
        if 0 <= index < len(self.entries):
            self.table.selectRow(index)

    def selected_index(self) -> int:
        """Index of the selected ROI, or -1."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def mask(self, index: int) -> np.ndarray:
        """The rasterised mask of ROI ``index`` (cached until the ROI moves)."""
        entry = self.entries[index]
        if entry.mask is None:
            entry.mask = rasterize(item_geometry(entry.item), self.image_shape)
        return entry.mask

    def selected_mask(self) -> np.ndarray | None:
        """Mask of the selected ROI, or None."""
        index = self.selected_index()
        return self.mask(index) if index >= 0 else None

    # ---- statistics and files -------------------------------------------------------------
    def set_heatmap(self, heatmap: np.ndarray | None, threshold: float, detector: str = "") -> None:
        """Recompute the table's statistics on ``heatmap`` at ``threshold`` (None: areas only).

        ``detector`` names the result the heatmap comes from (id and parameters), for the CSV.
        """
        self._heatmap, self._threshold, self._detector = heatmap, threshold, detector
        self._refresh()

    def rows(self) -> list[RoiRow]:
        """The table rows of the last statistics."""
        return list(self._rows)

    def export_csv(self, path: str | Path) -> Path:
        """Write the ROI table as CSV (needs a result for the heatmap statistics)."""
        if self._heatmap is None:
            raise ForensicsError("Run a detector first: the ROI table has no heatmap statistics yet.")
        return write_text_atomic(path, table_csv(self._rows, self._threshold, self.image_sha256, self._detector))

    def save_json(self, path: str | Path) -> Path:
        """Save every ROI (geometry, name, colour, note) to a JSON file."""
        return save_rois(path, self.rois(), self.image_sha256)

    def load_json(self, path: str | Path) -> str:
        """Add the ROIs of a JSON file; returns a warning when they were drawn on another image."""
        if self.image_shape is None:
            raise ForensicsError("Open an image before loading ROIs.")
        rois, sha = load_rois(path)
        for roi in rois:
            self.add_roi(roi)
        if sha and self.image_sha256 and sha != self.image_sha256:
            return "These ROIs were drawn on another image (its SHA-256 differs from this one's)."
        return ""

    # ---- internals ------------------------------------------------------------------------
    def _geometry_changed(self, entry: RoiEntry) -> None:
        entry.mask = None
        entry.label.setPos(label_anchor(entry.item))
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        selected = self.selected_index()
        self._rows = []
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            region = self.mask(row) if self.image_shape is not None else np.zeros((1, 1), bool)
            heatmap = self._heatmap if self._heatmap is not None else np.zeros(region.shape, np.float32)
            stats = roi_stats(region, heatmap, self._threshold)
            self._rows.append(RoiRow(entry.roi(), stats))
            have = self._heatmap is not None
            cells = (entry.name, item_geometry(entry.item).kind, f"{stats.area_px}", f"{stats.area_percent:.2f}",
                     f"{stats.mean:.3f}" if have else "—", f"{stats.max:.3f}" if have else "—",
                     f"{100 * stats.fraction_above:.1f}%" if have else "—", entry.note)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column not in (NAME_COLUMN, NOTE_COLUMN):
                    cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == NAME_COLUMN:
                    cell.setData(Qt.ItemDataRole.DecorationRole, QColor(entry.colour))
                self.table.setItem(row, column, cell)
        if 0 <= selected < len(self.entries):
            self.table.selectRow(selected)
        self.table.blockSignals(False)

    def _cell_edited(self, cell: QTableWidgetItem) -> None:
        entry = self.entries[cell.row()]
        if cell.column() == NAME_COLUMN:
            entry.name = cell.text().strip() or entry.name
            entry.label.setText(entry.name)
        elif cell.column() == NOTE_COLUMN:
            entry.note = cell.text()
        self._refresh()

    def _selection_changed(self) -> None:
        selected = self.selected_index()
        for index, entry in enumerate(self.entries):
            entry.item.setPen(pg.mkPen(entry.colour, width=4 if index == selected else 2))
        self.selectionChanged.emit()

    def set_colour(self, index: int, colour: str) -> None:
        """Change the colour of ROI ``index``."""
        entry = self.entries[index]
        entry.colour = colour
        entry.item.setPen(pg.mkPen(colour, width=4 if index == self.selected_index() else 2))
        entry.label.setColor(colour)
        self._refresh()

    def _choose_colour(self) -> None:
        index = self.selected_index()
        if index < 0:
            return
        colour = QColorDialog.getColor(QColor(self.entries[index].colour), self, "ROI colour")
        if colour.isValid():
            self.set_colour(index, colour.name())

    def _save_dialog(self) -> None:
        path = save_path(self, "Save ROIs", "rois.json", "ROI files (*.json)")
        if path:
            try:
                self.save_json(path)
            except (OSError, ForensicsError) as exc:
                show_error(self, "Cannot save the ROIs", str(exc))

    def _load_dialog(self) -> None:
        path = open_path(self, "Load ROIs", "ROI files (*.json)")
        if not path:
            return
        try:
            warning = self.load_json(path)
        except ForensicsError as exc:
            show_error(self, "Cannot load the ROIs", str(exc))
            return
        if warning:
            show_warning(self, "ROIs from another image", warning)

    def _csv_dialog(self) -> None:
        path = save_path(self, "Export the ROI table", "rois.csv", "CSV files (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except (OSError, ForensicsError) as exc:
                show_error(self, "Cannot export the ROI table", str(exc))
