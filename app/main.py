"""Application start-up: the QApplication, pyqtgraph settings and the main window."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from forensics_core.shipped import shipped_folder

ORGANISATION = "TamperWorkbench"
APPLICATION = "Tamper Workbench"
#: Name of the freedesktop entry and icon (resources/tamper-workbench.desktop, resources/icons/).
DESKTOP_ENTRY = "tamper-workbench"


def configure_pyqtgraph() -> None:
    """Row-major images (``image[row, col]``), dark-on-white plots (white background, black axes), antialiasing."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")


def application_icon() -> QIcon:
    """The window icon from the PNG sizes drawn by ``resources/make_icons.py``."""
    icon = QIcon()
    for png in sorted((shipped_folder("resources") / "icons").glob(f"{DESKTOP_ENTRY}-*.png")):
        icon.addFile(str(png))
    return icon


def application() -> QApplication:
    """The running QApplication, created on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName(DESKTOP_ENTRY)
    app.setWindowIcon(application_icon())
    configure_pyqtgraph()
    return app


def run_gui(image_path: str | None = None, detector_id: str | None = None, self_test: bool = False) -> int:
    """Open the workbench (on ``image_path`` if given, with ``detector_id`` selected); return the exit code.

    With ``self_test`` the window opens ``image_path``, is drawn once and closes again: a check
    that an installation can start the GUI (``packaging/smoke_test.sh``).
    """
    from app.main_window import MainWindow

    app = application()
    window = MainWindow(detector_id=detector_id)
    window.resize(1500, 950)
    window.show()
    if self_test:
        return self_test_window(app, window, image_path)
    if image_path:
        window.open_image(image_path)
    return int(app.exec())


def self_test_window(app: QApplication, window, image_path: str | None, timeout_s: float = 30.0) -> int:
    """Wait until ``window`` is on screen, open ``image_path`` in it, close it; 0 when all worked.

    The image is checked before it is opened so that a failure prints a message instead of
    waiting on a modal error box.
    """
    from forensics_core.errors import ForensicsError
    from forensics_core.evidence import load_evidence

    started = time.perf_counter()
    if not image_path:
        print("self-test: no image given", file=sys.stderr)
        return 2
    try:
        expected = load_evidence(image_path).sha256
    except ForensicsError as exc:
        print(f"self-test: {exc}", file=sys.stderr)
        return 2
    while not (window.windowHandle() and window.windowHandle().isExposed()):
        app.processEvents()
        if time.perf_counter() - started > timeout_s:
            print("self-test: the window was never shown", file=sys.stderr)
            return 1
        time.sleep(0.01)
    if not window.open_image(image_path) or window.evidence is None or window.evidence.sha256 != expected:
        print(f"self-test: the window did not open {image_path}", file=sys.stderr)
        return 1
    app.processEvents()
    window.grab()  # paints the whole window with the picture once
    if not window.close():
        print("self-test: the window refused to close", file=sys.stderr)
        return 1
    app.processEvents()
    print(f"self-test ok: window shown and {Path(image_path).name} opened and closed "
          f"in {time.perf_counter() - started:.2f} s")
    return 0
