"""Saving a case off the GUI thread, with a progress dialog; reading it back (no forensics here).

The case itself (folder layout, schema, compact maps, audit trail) is
:mod:`forensics_core.case`; this module only runs :func:`forensics_core.case.save_case` on a
worker thread while a modal progress dialog keeps the window painted, and returns when it is
done, so callers keep a simple, synchronous call.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, QThread, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from forensics_core.case import Case, case_folder, load_case, save_case
from forensics_core.errors import ForensicsError

__all__ = ["case_folder_for", "load_case", "save_case_with_progress"]


def case_folder_for(path: str | Path) -> Path:
    """The case folder for a path picked in a dialog: the folder, its ``case.json``, or ``NAME.json`` → ``NAME/``."""
    target = Path(path)
    if target.suffix.lower() == ".json" and target.name != "case.json":
        return target.with_suffix("")
    return case_folder(target)


class _SaveWorker(QObject):
    """Runs one save on the thread it is moved to; reports progress, then ``done`` or ``failed``."""

    progress = Signal(float, str)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, folder: Path, case: Case, include_extra_maps: bool) -> None:
        super().__init__()
        self.folder, self.case, self.include_extra_maps = folder, case, include_extra_maps

    @Slot()
    def run(self) -> None:
        """Save; never raises (errors become ``failed``)."""
        try:
            written = save_case(self.folder, self.case, self.include_extra_maps, self.progress.emit)
        except (ForensicsError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            self.done.emit(written)


class _Receiver(QObject):
    """Lives on the GUI thread, so that the worker's signals reach it queued (never from the worker thread)."""

    def __init__(self, dialog: QProgressDialog, loop: QEventLoop) -> None:
        super().__init__()
        self.dialog, self.loop, self.outcome = dialog, loop, {}

    @Slot(float, str)
    def progress(self, fraction: float, message: str) -> None:
        """Move the bar."""
        self.dialog.setValue(int(fraction * 1000))
        self.dialog.setLabelText(message)

    @Slot(object)
    def done(self, path: object) -> None:
        """Remember the written path and stop waiting."""
        self.outcome["path"] = path
        self.loop.quit()

    @Slot(str)
    def failed(self, message: str) -> None:
        """Remember the message and stop waiting."""
        self.outcome["error"] = message
        self.loop.quit()


def save_case_with_progress(parent: QWidget | None, folder: Path, case: Case, include_extra_maps: bool = True) -> Path:
    """Save ``case`` into ``folder`` on a worker thread, showing progress; raises ``ForensicsError`` on failure.

    The GUI thread runs a local event loop meanwhile (the window repaints, the bar moves); the
    worker's signals are queued to it, so the loop is left only after the save has ended.
    """
    dialog = QProgressDialog("Saving the case…", "", 0, 1000, parent)
    dialog.setWindowTitle("Saving the case")
    dialog.setCancelButton(None)  # a half-written case is never left: the save is atomic, not cancellable
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    loop = QEventLoop()
    receiver = _Receiver(dialog, loop)
    thread = QThread()
    worker = _SaveWorker(folder, case, include_extra_maps)
    worker.moveToThread(thread)
    worker.progress.connect(receiver.progress)
    worker.done.connect(receiver.done)
    worker.failed.connect(receiver.failed)
    thread.started.connect(worker.run)
    thread.start()
    loop.exec()
    thread.quit()
    thread.wait()
    dialog.close()
    if "error" in receiver.outcome:
        raise ForensicsError(str(receiver.outcome["error"]))
    return Path(str(receiver.outcome["path"]))
