"""Help > User guide: docs/user-guide.md, followed by what each installed detector shows and cannot see.

The second part is written from the detector registry (each detector's description and declared
limitations), so a detector added to the registry is described here without editing the guide.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from forensics_core.detectors import list_detectors

#: The guide's source, also readable on its own in the repository.
GUIDE_PATH = Path(__file__).resolve().parents[1] / "docs" / "user-guide.md"


def detectors_markdown() -> str:
    """A Markdown section describing every registered detector: status, method, limitations."""
    lines = ["## Detectors in this installation", ""]
    for detector in list_detectors():
        status = "ready" if detector.is_trained() else "not trained (cannot run)"
        lines.append(f"### {detector.display_name} (`{detector.id}`), {status}")
        lines.append("")
        lines.append(detector.description or "")
        lines.append("")
        if detector.reference:
            lines.append(f"*Paper:* {detector.reference}")
            lines.append("")
        limits = getattr(detector, "limitations", ())
        if limits:
            lines.append("*Cannot see / known false alarms:*")
            lines.append("")
            lines.extend(f"- {limit}" for limit in limits)
            lines.append("")
    return "\n".join(lines)


def guide_markdown() -> str:
    """The whole guide: docs/user-guide.md (or a note that it is missing) and the detector list."""
    try:
        text = GUIDE_PATH.read_text(encoding="utf-8")
    except OSError:
        text = f"# Tamper Workbench user guide\n\nThe guide file {GUIDE_PATH} is missing from this installation.\n"
    return text.rstrip() + "\n\n" + detectors_markdown()


class UserGuideDialog(QDialog):
    """A non-modal window showing the guide."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tamper Workbench user guide")
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(guide_markdown())
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        screen = self.screen().availableGeometry()
        self.resize(min(820, int(screen.width() * 0.8)), min(900, int(screen.height() * 0.85)))


def show_user_guide(parent: QWidget) -> UserGuideDialog:
    """Open the guide beside the window (non-modal) and return its dialog."""
    dialog = UserGuideDialog(parent)
    dialog.show()
    return dialog
