"""Running a detector on a background thread, with progress, elapsed time and cancel.

The detector's ``cancel`` callback reads a flag that :meth:`RunController.cancel` sets; the
detector checks it at every progress update (at least once a second), raises ``Cancelled`` and
the thread ends. The GUI thread never runs analysis code.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Mapping

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from forensics_core.detectors import Detector
from forensics_core.errors import Cancelled, ForensicsError
from forensics_core.evidence import Evidence

from app.display_data import prepare_display


class DetectorWorker(QObject):
    """Runs ``detector.run`` once in the thread it is moved to, reporting through signals.

    After the detector returns, the display data of its heatmap (8-bit levels, histogram, Otsu)
    is prepared here too, so that the GUI thread only has to show it: ``prepared(result,
    display)`` is emitted just before ``finished(result)``.
    """

    progress = Signal(float, str)
    prepared = Signal(object, object)
    finished = Signal(object)
    failed = Signal(str)
    refused = Signal(str)
    cancelled = Signal()

    def __init__(self, detector: Detector, evidence: Evidence, params: Mapping[str, Any], device: str) -> None:
        super().__init__()
        self.detector = detector
        self.evidence = evidence
        self.params = dict(params)
        self.device = device
        self.stop_flag = threading.Event()

    @Slot()
    def run(self) -> None:
        """Run the detector; emit exactly one of finished, refused, failed or cancelled.

        ``refused`` carries a detector's own explanation of why it cannot analyse this input (a
        :class:`ForensicsError`); ``failed`` is kept for unexpected errors (a bug).
        """
        try:
            result = self.detector.run(self.evidence, self.params, progress=self.progress.emit,
                                       cancel=self.stop_flag.is_set, device=self.device)
            display = prepare_display(result.heatmap)
        except Cancelled:
            self.cancelled.emit()
        except ForensicsError as exc:
            self.refused.emit(str(exc))
        except Exception as exc:  # a bug in a detector must not take the workbench down
            self.failed.emit(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=5)}")
        else:
            self.prepared.emit(result, display)
            self.finished.emit(result)


class RunController(QObject):
    """Owns at most one running :class:`DetectorWorker` and its thread.

    Signals: ``started(detector_id)``, ``progress(fraction, message)``, ``elapsed(seconds)``
    (ticking while a run lasts), and exactly one of ``finished(result)``, ``refused(message)`` (the
    detector explained why it cannot analyse the image), ``failed(message)`` (an unexpected error)
    or ``cancelled()`` per run, followed by ``stopped()`` once the thread has ended. A successful run
    also emits ``delivered(result, display)`` (display data prepared on the worker thread, see
    :mod:`app.display_data`) just before ``finished(result)``.
    """

    started = Signal(str)
    progress = Signal(float, str)
    delivered = Signal(object, object)
    elapsed = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    refused = Signal(str)
    cancelled = Signal()
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: DetectorWorker | None = None
        self._started_at = 0.0
        self._clock = QTimer(self)
        self._clock.setInterval(100)
        self._clock.timeout.connect(lambda: self.elapsed.emit(self.seconds()))

    def is_running(self) -> bool:
        """True while a run's thread is alive."""
        return self._thread is not None

    def seconds(self) -> float:
        """Seconds since the current run started."""
        return time.monotonic() - self._started_at

    def start(self, detector: Detector, evidence: Evidence, params: Mapping[str, Any], device: str) -> bool:
        """Start a run; returns False (and does nothing) when one is already running."""
        if self._thread is not None:
            return False
        thread = QThread()
        worker = DetectorWorker(detector, evidence, params, device)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.prepared.connect(self.delivered)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.refused.connect(self.refused)
        worker.cancelled.connect(self.cancelled)
        for signal in (worker.finished, worker.refused, worker.failed, worker.cancelled):
            signal.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        self._started_at = time.monotonic()
        self._clock.start()
        self.started.emit(detector.id)
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running detector to stop at its next progress check."""
        if self._worker is not None:
            self._worker.stop_flag.set()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel and wait for the running thread (used when the window closes)."""
        if self._thread is None:
            return True
        self.cancel()
        return self._thread.wait(timeout_ms)

    def _on_thread_finished(self) -> None:
        self._clock.stop()
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self.stopped.emit()
