"""The case's evidence files: which are in the case, which is open, and adding another."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from forensics_core.case import Case


class CasePanel(QWidget):
    """Lists every evidence entry of the case; choosing one opens it (its runs, ROIs and bookmarks).

    Signals: ``evidenceChosen(index)``, ``addRequested()`` and ``verifyRequested()``.
    """

    evidenceChosen = Signal(int)
    addRequested = Signal()
    verifyRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No case folder yet (File > Save case)")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.add_button = QPushButton("Add evidence…")
        self.add_button.setToolTip("Add another image to this case (it is referenced by path and SHA-256, not copied)")
        self.verify_button = QPushButton("Verify hashes")
        self.verify_button.setToolTip("Re-hash every evidence file of the case")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.verify_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.addRequested)
        self.verify_button.clicked.connect(self.verifyRequested)
        self.list.itemActivated.connect(lambda _item: self.evidenceChosen.emit(self.list.currentRow()))
        self.list.itemDoubleClicked.connect(lambda _item: self.evidenceChosen.emit(self.list.currentRow()))

    def show_case(self, case: Case, folder: str) -> None:
        """List the entries of ``case``; the open one is marked."""
        self.title.setText(f"Case folder: {folder}" if folder else "No case folder yet (File > Save case)")
        self.list.clear()
        for index, entry in enumerate(case.evidence):
            mark = "▶ " if index == case.current_evidence else "   "
            runs = len(entry.runs)
            self.list.addItem(f"{mark}{entry.path.name}\n     SHA-256 {entry.sha256[:16]}… · {runs} run"
                              f"{'' if runs == 1 else 's'}, {len(entry.bookmarks)} bookmark"
                              f"{'' if len(entry.bookmarks) == 1 else 's'}")
            self.list.item(index).setToolTip(f"{entry.path}\nSHA-256 {entry.sha256}")
