"""The detector panel: choice of detector, its status and paper, its parameters, run and cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from forensics_core.detectors import DEFAULT_DETECTOR, Detector, list_detectors
from forensics_core.device import resolve_device

from app.param_form import ParameterForm

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def status_colour(detector: Detector) -> str:
    """Green for ready detectors, red for untrained ones."""
    return "#1a7f1a" if detector.is_trained() else "#c01818"


class DetectorPanel(QWidget):
    """Lets the examiner pick a detector, set its parameters and start or cancel a run."""

    runRequested = Signal(str, dict, str)
    cancelRequested = Signal()

    def __init__(self, detector_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detectors: list[Detector] = list_detectors()
        layout = QVBoxLayout(self)
        self.choice = QComboBox()
        for detector in self.detectors:
            suffix = "" if detector.is_trained() else "  [not trained]"
            self.choice.addItem(f"{detector.display_name}{suffix}", detector.id)
        layout.addWidget(self.choice)
        self.status = QLabel(wordWrap=True)
        self.reference = QLabel(wordWrap=True)
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color: #444;")
        for label in (self.status, self.reference, self.description):
            layout.addWidget(label)
        box = QGroupBox("Parameters")
        box_layout = QVBoxLayout(box)
        self.form = ParameterForm()
        box_layout.addWidget(self.form)
        defaults = QPushButton("Reset to defaults")
        defaults.clicked.connect(self._show_detector)
        box_layout.addWidget(defaults)
        layout.addWidget(box)
        device_row = QFormLayout()
        self.device_choice = QComboBox()
        self.device_choice.addItems(list(DEVICE_CHOICES))
        device_row.addRow("Device:", self.device_choice)
        layout.addLayout(device_row)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        layout.addWidget(self.progress)
        self.message = QLabel("Ready", wordWrap=True)
        self.elapsed = QLabel("")
        self.device_label = QLabel(f"Device: {resolve_device('auto')} (auto)")
        for label in (self.message, self.elapsed, self.device_label):
            layout.addWidget(label)
        layout.addStretch(1)
        self.choice.currentIndexChanged.connect(self._show_detector)
        self.run_button.clicked.connect(self._request_run)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.select(detector_id or DEFAULT_DETECTOR)
        self._show_detector()

    def current(self) -> Detector:
        """The selected detector."""
        return self.detectors[max(self.choice.currentIndex(), 0)]

    def select(self, detector_id: str) -> None:
        """Select the detector with ``detector_id`` (ignored when it is unknown)."""
        index = self.choice.findData(detector_id)
        if index >= 0:
            self.choice.setCurrentIndex(index)

    def set_running(self, running: bool) -> None:
        """Switch the buttons between the idle and the running state."""
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.choice.setEnabled(not running)
        if running:
            self.progress.setValue(0)

    def set_progress(self, fraction: float, message: str) -> None:
        """Show a progress report from the worker."""
        self.progress.setValue(round(1000 * fraction))
        if message:
            self.message.setText(message)

    def set_elapsed(self, seconds: float) -> None:
        """Show the elapsed time of the current run."""
        self.elapsed.setText(f"Elapsed: {seconds:.1f} s")

    def set_device(self, text: str) -> None:
        """Show the device in use."""
        self.device_label.setText(f"Device: {text}")

    def _show_detector(self) -> None:
        detector = self.current()
        self.status.setText(f"<b>Status:</b> <span style='color:{status_colour(detector)}'>"
                            f"{detector.training_status()}</span>"
                            + (" &middot; baseline" if detector.is_baseline else ""))
        self.reference.setText(f"<b>Paper:</b> {detector.reference}")
        self.description.setText(detector.description)
        self.form.set_parameters(detector.parameters)

    def _request_run(self) -> None:
        self.runRequested.emit(self.current().id, self.form.values(), self.device_choice.currentText())
