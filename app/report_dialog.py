"""The report dialog: case number, examiner, organisation, notes, which results to include, and the exports.

The report also holds the open file's bookmarks (in the order of the Bookmarks panel) and the
case's audit trail; a ``.sha256`` file is written beside it.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from forensics_core.report import CaseInfo

from app.results_panel import describe_result
from app.session import ResultState


class ReportDialog(QDialog):
    """Collects :class:`CaseInfo` and the indices of the results to include."""

    def __init__(self, case: CaseInfo, states: Sequence[ResultState], current: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.resize(560, 480)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.case_number = QLineEdit(case.case_number)
        self.examiner = QLineEdit(case.examiner)
        self.organisation = QLineEdit(case.organisation)
        self.notes = QPlainTextEdit(case.notes)
        form.addRow("Case number:", self.case_number)
        form.addRow("Examiner:", self.examiner)
        form.addRow("Organisation:", self.organisation)
        form.addRow("Notes:", self.notes)
        layout.addLayout(form)
        self.results = QListWidget()
        for index, state in enumerate(states):
            item = QListWidgetItem(describe_result(index + 1, state.result))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if index == current else Qt.CheckState.Unchecked)
            self.results.addItem(item)
        layout.addWidget(self.results)
        buttons = QDialogButtonBox()
        self.html_button = buttons.addButton("Export HTML…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.pdf_button = buttons.addButton("Export PDF…", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.chosen_format = ""
        self.html_button.clicked.connect(lambda: self._choose("html"))
        self.pdf_button.clicked.connect(lambda: self._choose("pdf"))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def case(self) -> CaseInfo:
        """The case details typed in."""
        return CaseInfo(self.case_number.text().strip(), self.examiner.text().strip(), self.notes.toPlainText(),
                        self.organisation.text().strip())

    def selected(self) -> list[int]:
        """Indices of the checked results."""
        return [i for i in range(self.results.count())
                if self.results.item(i).checkState() == Qt.CheckState.Checked]

    def _choose(self, fmt: str) -> None:
        self.chosen_format = fmt
        self.accept()
