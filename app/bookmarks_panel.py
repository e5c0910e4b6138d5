"""The bookmarks of the open evidence file: saved views with captions, in the order the report uses."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QPushButton, QVBoxLayout, QWidget

from forensics_core.case import Bookmark


def bookmark_line(number: int, bookmark: Bookmark) -> str:
    """One line of the list: number, caption, mode and threshold."""
    zoom = "zoomed" if bookmark.zoom is not None else "whole image"
    return f"{number}. {bookmark.caption} — {bookmark.mode}, threshold {bookmark.threshold:.3f}, {zoom}"


class BookmarksPanel(QWidget):
    """Lists the bookmarks; Add, Go to, Up, Down and Remove act on the list the window gives it.

    Signals: ``addRequested()``, ``goRequested(index)`` and ``changed()`` (after a move or removal).
    """

    addRequested = Signal()
    goRequested = Signal(int)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bookmarks: list[Bookmark] = []
        self.list = QListWidget()
        self.list.setToolTip("Bookmarks go into the report in this order, as annotated snapshots.")
        self.add_button = QPushButton("Bookmark view…")
        self.add_button.setToolTip("Save the current result, view mode, threshold, zoom and visible ROIs (Ctrl+D)")
        self.go_button = QPushButton("Go to")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.go_button, self.up_button, self.down_button, self.remove_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.addRequested)
        self.go_button.clicked.connect(lambda: self._go(self.list.currentRow()))
        self.list.itemDoubleClicked.connect(lambda _item: self._go(self.list.currentRow()))
        self.up_button.clicked.connect(lambda: self.move(self.list.currentRow(), -1))
        self.down_button.clicked.connect(lambda: self.move(self.list.currentRow(), +1))
        self.remove_button.clicked.connect(lambda: self.remove(self.list.currentRow()))

    def show_bookmarks(self, bookmarks: list[Bookmark]) -> None:
        """Show (and from now on edit in place) ``bookmarks``."""
        self.bookmarks = bookmarks
        self._refresh(-1)

    def _refresh(self, selected: int) -> None:
        self.list.clear()
        for number, bookmark in enumerate(self.bookmarks, start=1):
            self.list.addItem(bookmark_line(number, bookmark))
        if 0 <= selected < self.list.count():
            self.list.setCurrentRow(selected)

    def _go(self, index: int) -> None:
        if 0 <= index < len(self.bookmarks):
            self.goRequested.emit(index)

    def move(self, index: int, step: int) -> None:
        """Move bookmark ``index`` up (-1) or down (+1) in the report order."""
        target = index + step
        if 0 <= index < len(self.bookmarks) and 0 <= target < len(self.bookmarks):
            self.bookmarks[index], self.bookmarks[target] = self.bookmarks[target], self.bookmarks[index]
            self._refresh(target)
            self.changed.emit()

    def remove(self, index: int) -> None:
        """Delete bookmark ``index``."""
        if 0 <= index < len(self.bookmarks):
            del self.bookmarks[index]
            self._refresh(min(index, len(self.bookmarks) - 1))
            self.changed.emit()
