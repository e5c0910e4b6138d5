"""The detector panel: choice of detector, its status, paper and limits, its parameters, and the run bar.

The panel itself scrolls (a detector may declare many parameters); its :class:`RunBar` (Run,
Cancel, progress, elapsed time, device) is placed by the window outside the scroll area so that
it is always visible.
"""

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
from forensics_core.device import available_devices

from app.param_form import ParameterForm
from app.wheel_guard import guard_wheel

NO_GPU_NOTE = "Only the CPU is offered: PyTorch finds no CUDA GPU on this machine."
READY = "Ready"


def status_colour(detector: Detector) -> str:
    """Green for ready detectors, red for untrained ones."""
    return "#1a7f1a" if detector.is_trained() else "#c01818"


def status_text(detector: Detector) -> str:
    """The detector's training status in the workbench's words (no command-line instructions)."""
    if detector.is_trained():
        return detector.training_status()
    problem = detector.weights_problem()
    if problem is not None and not problem.untrained:  # weights present but broken: say what is wrong
        return f"Weights unusable, so it cannot run: {problem.message}."
    return ("Not trained: no weights for this detector are installed, so it cannot run (it never runs "
            "with untrained weights). See Help > User guide, 'Detectors that are not trained'.")


class RunBar(QWidget):
    """Run and Cancel buttons, the progress bar, the run's message, elapsed time and device."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the selected detector on the open image (Ctrl+R)")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running detector (Esc)")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button, 1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        layout.addWidget(self.progress)
        self.message = QLabel(READY, wordWrap=True)
        layout.addWidget(self.message)
        facts = QHBoxLayout()
        self.elapsed = QLabel("")
        self.device_label = QLabel("")
        self.device_label.setStyleSheet("color: #444;")
        facts.addWidget(self.elapsed)
        facts.addStretch(1)
        facts.addWidget(self.device_label)
        layout.addLayout(facts)


class DetectorPanel(QWidget):
    """Lets the examiner pick a detector, set its parameters and start or cancel a run."""

    runRequested = Signal(str, dict, str)
    cancelRequested = Signal()

    def __init__(self, detector_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detectors: list[Detector] = list_detectors()
        self._trained = {detector.id: detector.is_trained() for detector in self.detectors}
        layout = QVBoxLayout(self)
        self.choice = QComboBox()
        # Sized to its longest name, the box made the scrolling panel wider than its dock.
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(16)
        for detector in self.detectors:
            suffix = "" if self._trained[detector.id] else "  [not trained]"
            self.choice.addItem(f"{detector.display_name}{suffix}", detector.id)
        layout.addWidget(self.choice)
        self.status = QLabel(wordWrap=True)
        self.reference = QLabel(wordWrap=True)
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color: #444;")
        self.limitations = QLabel(wordWrap=True)
        self.limitations.setStyleSheet("color: #444;")
        for label in (self.status, self.reference, self.description, self.limitations):
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
        devices = available_devices()
        self.device_choice.addItems(list(devices))
        self.device_note = QLabel("" if "cuda" in devices else NO_GPU_NOTE, wordWrap=True)
        self.device_note.setStyleSheet("color: #444;")
        self.device_choice.setToolTip("auto: the GPU when there is one, else the CPU. " + self.device_note.text())
        device_row.addRow("Device:", self.device_choice)
        layout.addLayout(device_row)
        layout.addWidget(self.device_note)
        self.device_note.setVisible(bool(self.device_note.text()))
        layout.addStretch(1)

        self.run_bar = RunBar()
        self.run_button = self.run_bar.run_button
        self.cancel_button = self.run_bar.cancel_button
        self.progress = self.run_bar.progress
        self.message = self.run_bar.message
        self.elapsed = self.run_bar.elapsed
        self.device_label = self.run_bar.device_label
        self._running = False
        guard_wheel(self)
        self.choice.currentIndexChanged.connect(self._show_detector)
        self.run_button.clicked.connect(self._request_run)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.select(detector_id or DEFAULT_DETECTOR)
        self._show_detector()
        self.reset()

    def current(self) -> Detector:
        """The selected detector."""
        return self.detectors[max(self.choice.currentIndex(), 0)]

    def select(self, detector_id: str) -> None:
        """Select the detector with ``detector_id`` (ignored when it is unknown)."""
        index = self.choice.findData(detector_id)
        if index >= 0:
            self.choice.setCurrentIndex(index)

    def can_run(self) -> bool:
        """True when the selected detector is ready and nothing is running."""
        return not self._running and self._trained.get(self.current().id, False)

    def set_running(self, running: bool) -> None:
        """Switch the buttons between the idle and the running state."""
        self._running = running
        self.run_button.setEnabled(self.can_run())
        self.cancel_button.setEnabled(running)
        self.choice.setEnabled(not running)
        self.device_choice.setEnabled(not running)
        if running:
            self.progress.setValue(0)
            self.elapsed.setText("")

    def reset(self) -> None:
        """Forget the last run's progress, message and timing (a new image was opened)."""
        self.progress.setValue(0)
        self.elapsed.setText("")
        self.device_label.setText("")
        self._show_readiness()

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
                            f"{status_text(detector)}</span>"
                            + (" &middot; baseline" if detector.is_baseline else ""))
        self.reference.setText(f"<b>Paper:</b> {detector.reference}")
        self.description.setText(detector.description)
        limits = getattr(detector, "limitations", ())
        self.limitations.setText("<b>Limitations:</b> " + " ".join(limits) if limits else "")
        self.limitations.setVisible(bool(limits))
        self.form.set_parameters(detector.parameters)
        guard_wheel(self.form)
        if not self._running:
            self._show_readiness()

    def _show_readiness(self) -> None:
        self.run_button.setEnabled(self.can_run())
        if self._trained.get(self.current().id, False):
            self.message.setText(READY)
        else:
            self.message.setText(f"{self.current().display_name} is not trained and cannot run.")

    def _request_run(self) -> None:
        if self.can_run():
            self.runRequested.emit(self.current().id, self.form.values(), self.device_choice.currentText())
