"""What a fusion result says about its members, in rows and in words (for the workbench and the report).

A fusion result's ``extra["members"]`` records, per member detector, how its result was obtained
(``run``, ``reused`` or ``not applicable: ...``), its image score and its false-alarm rate under
its own calibration (:func:`forensics_core.calibration.apply.apply_calibration`); its
``extra_maps["member/<id>"]`` are the members' heatmaps. The sentence over the members follows
the verdict rule of :mod:`forensics_core.calibration.verdict` (suspicious at a false-alarm rate of
at most 5 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensics_core.calibration.verdict import SUSPICIOUS_RATE
from forensics_core.detectors.base import Result

#: Prefix of the member maps in a fusion result's ``extra_maps``.
MEMBER_MAP_PREFIX = "member/"
NO_EVIDENCE = "No detector found evidence of manipulation; this does not prove authenticity."


@dataclass(frozen=True)
class MemberRow:
    """One member of a fusion result: how it was obtained, its score, false-alarm rate and map."""

    member: str
    obtained: str
    score: float | None
    false_alarm_rate: float | None
    heatmap: np.ndarray | None

    @property
    def suspicious(self) -> bool:
        return self.false_alarm_rate is not None and self.false_alarm_rate <= SUSPICIOUS_RATE

    def rate_text(self) -> str:
        """``"false alarms 3.2 %"``, or why there is no rate."""
        if self.score is None:
            return "could not analyse this picture"
        if self.false_alarm_rate is None:
            return "not calibrated"
        return f"false alarms {100.0 * self.false_alarm_rate:.1f} %"


def is_fusion_result(result: Result | None) -> bool:
    """Whether ``result`` is a fusion result with its member records."""
    return result is not None and result.detector_id == "fusion" and isinstance(result.extra.get("members"), dict)


def member_rows(result: Result) -> list[MemberRow]:
    """The members of a fusion result, in the model's order."""
    rows = []
    for member, record in result.extra.get("members", {}).items():
        rate = record.get("false_alarm_rate")
        score = record.get("score")
        rows.append(MemberRow(member, str(record.get("obtained", "")), None if score is None else float(score),
                              None if rate is None else float(rate),
                              result.extra_maps.get(f"{MEMBER_MAP_PREFIX}{member}")))
    return rows


def members_sentence(result: Result) -> str:
    """One sentence over the members: which found evidence at the 5 % level, or none (which does
    not prove authenticity), and which were not calibrated."""
    rows = member_rows(result)
    flagged = [row for row in rows if row.suspicious]
    uncalibrated = [row.member for row in rows if row.score is not None and row.false_alarm_rate is None]
    level = f"{100.0 * SUSPICIOUS_RATE:.0f} %"
    if flagged:
        named = ", ".join(f"{row.member} ({row.rate_text()})" for row in flagged)
        text = f"Detectors that found evidence of manipulation at the {level} level: {named}."
    elif len(uncalibrated) == len([row for row in rows if row.score is not None]):
        text = "None of the detectors is calibrated: their scores cannot be compared with authentic pictures."
    else:
        text = NO_EVIDENCE
    if uncalibrated and (flagged or len(uncalibrated) < len(rows)):
        text += f" Not calibrated, so not counted: {', '.join(uncalibrated)}."
    return text
