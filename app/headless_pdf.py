"""PDF rendering without a display, for the command line's batch reports.

Qt needs a ``QGuiApplication`` for fonts even when nothing is shown; without a display the
``offscreen`` platform plugin is used (``QT_QPA_PLATFORM=offscreen`` is set unless the caller
chose a platform already).
"""

from __future__ import annotations

import os

from app.pdf_export import PdfInfo, html_to_pdf_bytes

_application = None


def _ensure_application() -> None:
    """Create the application object once; a widgets ``QApplication``, so that the process can still
    open windows later (a plain ``QGuiApplication`` would forbid them)."""
    global _application
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _application = QApplication(["tamper-workbench"])


def render_pdf(html: str, title: str, author: str, subject: str, header: str) -> bytes:
    """The PDF bytes of ``html`` with document information and the per-page header."""
    _ensure_application()
    return html_to_pdf_bytes(html, PdfInfo(title=title, author=author, subject=subject, header=header))
