"""Small shared helpers for message boxes and file dialogs."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    """A modal error box with ``text`` (the workbench's messages are written for people)."""
    QMessageBox.critical(parent, title, text)


def show_warning(parent: QWidget | None, title: str, text: str) -> None:
    """A modal warning box."""
    QMessageBox.warning(parent, title, text)


def save_path(parent: QWidget | None, title: str, name: str, filters: str) -> str:
    """Ask where to save; '' when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, title, name, filters)
    return path


def open_path(parent: QWidget | None, title: str, filters: str) -> str:
    """Ask for a file to open; '' when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", filters)
    return path
