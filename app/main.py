"""Application start-up: the QApplication, pyqtgraph settings and the main window."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

ORGANISATION = "TamperWorkbench"
APPLICATION = "Tamper Workbench"


def configure_pyqtgraph() -> None:
    """Row-major images (``image[row, col]``), white-on-dark plots kept readable, antialiasing."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")


def application() -> QApplication:
    """The running QApplication, created on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    configure_pyqtgraph()
    return app


def run_gui(image_path: str | None = None, detector_id: str | None = None) -> int:
    """Open the workbench (on ``image_path`` if given, with ``detector_id`` selected); return the exit code."""
    from app.main_window import MainWindow

    app = application()
    window = MainWindow(detector_id=detector_id)
    window.resize(1500, 950)
    window.show()
    if image_path:
        window.open_image(image_path)
    return int(app.exec())
