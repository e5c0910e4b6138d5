"""Small shared helpers for message boxes and file dialogs, and where derived files are saved.

Save dialogs start in the case folder (the folder of the case last saved or opened), else the
folder the examiner last saved into, else their Documents folder: never the software's own
folder. Writing a derived file into the folder that holds the evidence (or below it) needs
explicit confirmation, since derived files are meant to be kept apart from the exhibit.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

#: Answers of :func:`ask_unsaved`.
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


class SavePlaces:
    """Where save dialogs start, and the evidence folder they warn about."""

    def __init__(self) -> None:
        self.case_folder: Path | None = None
        self.last_folder: Path | None = None
        self.evidence_folder: Path | None = None

    def start_folder(self) -> Path:
        """The case folder, else the last folder saved into, else the user's Documents folder."""
        for folder in (self.case_folder, self.last_folder):
            if folder is not None and folder.is_dir():
                return folder
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(documents) if documents and Path(documents).is_dir() else Path.home()

    def beside_evidence(self, path: str | Path) -> bool:
        """True when ``path`` would be written in the evidence's folder or below it."""
        if self.evidence_folder is None:
            return False
        folder = Path(path).resolve().parent
        evidence = self.evidence_folder.resolve()
        return folder == evidence or evidence in folder.parents


#: The workbench's one set of save places (one window, one examiner).
places = SavePlaces()


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    """A modal error box with ``text`` (the workbench's messages are written for people)."""
    QMessageBox.critical(parent, title, text)


def show_warning(parent: QWidget | None, title: str, text: str) -> None:
    """A modal warning box."""
    QMessageBox.warning(parent, title, text)


def confirm_beside_evidence(parent: QWidget | None, path: str | Path) -> bool:
    """Ask before a derived file goes into the evidence's folder; True to write it there anyway."""
    answer = QMessageBox.warning(
        parent, "Write next to the evidence?",
        f"{Path(path).name} would be written into {Path(path).parent}, the folder that holds the evidence.\n\n"
        "Derived files are normally kept apart from the exhibit (in the case folder). Write it there anyway?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def save_path(parent: QWidget | None, title: str, name: str, filters: str) -> str:
    """Ask where to save a derived file; '' when cancelled (or when declined beside the evidence)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(places.start_folder() / name), filters)
    if path and places.beside_evidence(path) and not confirm_beside_evidence(parent, path):
        return ""
    if path:
        places.last_folder = Path(path).parent
    return path


def open_path(parent: QWidget | None, title: str, filters: str) -> str:
    """Ask for a file to open; '' when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(places.start_folder()), filters)
    return path


def ask_unsaved(parent: QWidget | None, what: str) -> str:
    """Ask what to do with unsaved work before it is lost: :data:`SAVE`, :data:`DISCARD` or :data:`CANCEL`."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent, "Unsaved work",
        f"{what} has results, regions of interest or notes that are not saved in a case.\n\n"
        "Save them as a case first?",
        buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: SAVE, buttons.Discard: DISCARD}.get(answer, CANCEL)
