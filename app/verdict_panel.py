"""The selected result's verdict and false-alarm sentence, in words an examiner can sign.

Shows :func:`forensics_core.calibration.verdict.verdict` and
:func:`~forensics_core.calibration.verdict.false_alarm_sentence` of the selected result, coloured
by level (suspicious, not suspicious, not calibrated), where the default threshold comes from and,
when the picture has several results, :func:`~forensics_core.calibration.verdict.overall_verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from forensics_core.calibration.verdict import (
    NOT_SUSPICIOUS,
    SUSPICIOUS,
    false_alarm_sentence,
    overall_verdict,
    threshold_origin,
    verdict,
)
from forensics_core.detectors.base import Result

#: Colour of the verdict's first words by level (red, green; grey when not calibrated).
LEVEL_COLOURS = {SUSPICIOUS: "#c0392b", NOT_SUSPICIOUS: "#2e7d32"}
UNCALIBRATED_COLOUR = "#666666"


def verdict_html(result: Result) -> str:
    """The verdict, the false-alarm sentence and the threshold's origin as rich text."""
    judged = verdict(result)
    colour = LEVEL_COLOURS.get(judged.level, UNCALIBRATED_COLOUR)
    parts = [f"<b style='color:{colour}'>Verdict</b> ({escape(judged.level)}): {escape(judged.text)}"]
    if result.false_alarm_rate is not None:
        parts.append(escape(false_alarm_sentence(result)))
    origin = threshold_origin(result)
    if origin:
        parts.append(escape(f"Default threshold {result.threshold:.4f}{origin}."))
    return "<br>".join(parts)


class VerdictPanel(QLabel):
    """A wrapped, selectable label with the verdict of the selected result (empty without one)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setObjectName("verdictPanel")

    def show_result(self, result: Result | None, all_results: Sequence[Result] = ()) -> None:
        """Show ``result``'s verdict (nothing without one) and, when the picture has several
        results, the verdict over all of them."""
        text = verdict_html(result) if result is not None else ""
        if result is not None and len(all_results) > 1:
            text += f"<br><b>All {len(all_results)} results:</b> {escape(overall_verdict(all_results).text)}"
        self.setText(text)
