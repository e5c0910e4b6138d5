"""The list of results of the open image (several per image; re-running adds one)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QPushButton, QVBoxLayout, QWidget

from forensics_core.detectors.base import Result


def describe_result(index: int, result: Result) -> str:
    """One line for the list: number, detector, parameters (an empty text parameter, e.g. fusion's default
    member list, is left out), run time, device, score (with its
    false-alarm rate when calibrated), and the detector's note when it has one (for example "No CFA trace: ...")."""
    params = ", ".join(f"{k}={v}" for k, v in result.provenance.get("parameters", {}).items() if v != "")
    seconds = sum(result.timings.values())
    name = f"{result.detector_id} ({params})" if params else result.detector_id
    note = f" · {result.extra['note']}" if result.extra.get("note") else ""
    rate = result.false_alarm_rate
    calibrated = f" (as high in {100 * rate:.1f} % of authentic references)" if rate is not None else ""
    return f"{index}. {name} · {seconds:.2f} s on {result.device} · score {result.score:.3f}{calibrated}{note}"


class ResultsPanel(QWidget):
    """Lists results; ``selected(index)`` when the examiner picks one (-1 for none)."""

    selected = Signal(int)
    removeRequested = Signal(int)
    compareRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        self.compare_button = QPushButton("Side by side…")
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.compare_button)
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self.selected)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.list.currentRow()))
        self.compare_button.clicked.connect(self.compareRequested)

    def set_results(self, results: list[Result], current: int) -> None:
        """Show ``results`` and select row ``current``."""
        self.list.blockSignals(True)
        self.list.clear()
        for index, result in enumerate(results, start=1):
            self.list.addItem(describe_result(index, result))
        self.list.setCurrentRow(current)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(bool(results))
        self.compare_button.setEnabled(len(results) >= 2)
