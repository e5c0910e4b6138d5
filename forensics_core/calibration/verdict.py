"""The verdict of a calibrated result, in words an examiner can sign.

The verdict rests only on the false-alarm rate of the result's image score (see
:mod:`forensics_core.calibration.calibration_file`): the share of authentic reference images
that score at least as high.

* **suspicious** when that rate is at most :data:`SUSPICIOUS_RATE` (5 %): a score this high is
  rare among authentic pictures;
* **not suspicious at the 5 % level** otherwise, which never means authentic: a detector sees
  only some kinds of manipulation (its limitations);
* **not calibrated** when the detector has no usable calibration: the score cannot be compared
  with authentic pictures and no verdict is given.

The 5 % level is the conventional significance level; with about 80 reference images the
smallest rate a calibration can state is about 1.2 %, so a 1 % level could never be reached.
A rate is a property of the reference set (formats, cameras, processing): a picture unlike it
can have another false-alarm rate, which the calibration's reliability table measures on
held-out authentic images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from forensics_core.detectors.base import Result

#: False-alarm rate at or below which a result is called suspicious.
SUSPICIOUS_RATE = 0.05
SUSPICIOUS = "suspicious"
NOT_SUSPICIOUS = "not suspicious"
NOT_CALIBRATED = "not calibrated"


@dataclass(frozen=True)
class Verdict:
    """``level`` (:data:`SUSPICIOUS`, :data:`NOT_SUSPICIOUS` or :data:`NOT_CALIBRATED`) and the
    sentence stating it."""

    level: str
    text: str


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.0f} %" if value >= 10 or value == round(value) else f"{value:.1f} %"


def _reference_text(result: Result) -> str:
    record = result.calibration
    reference = record.get("reference") or {}
    name = reference.get("name") or "unnamed reference set"
    return f"{record.get('images', '?')} images, reference set '{name}'"


def false_alarm_sentence(result: Result) -> str:
    """"A score at least this high occurs in X % of authentic reference images (N images, reference
    set ...)", or why the result is not calibrated."""
    if result.false_alarm_rate is None:
        reason = result.calibration.get("reason", "it was not compared with any calibration")
        return f"Not calibrated: {reason}."
    return (f"A score at least this high ({result.score:.4g}) occurs in {_percent(result.false_alarm_rate)} of "
            f"authentic reference images ({_reference_text(result)}).")


def verdict(result: Result) -> Verdict:
    """The verdict of one detector's result (see the module docstring)."""
    rate = result.false_alarm_rate
    if rate is None:
        return Verdict(NOT_CALIBRATED, f"{result.detector_id}: no verdict. {false_alarm_sentence(result)} The "
                                       "score cannot be compared with authentic pictures.")
    exceeded = 1.0 - rate
    if rate <= SUSPICIOUS_RATE:
        return Verdict(SUSPICIOUS, f"{result.detector_id}: suspicious at the {_percent(SUSPICIOUS_RATE)} level: "
                                   f"the score exceeds {_percent(exceeded)} of authentic reference images "
                                   f"({_reference_text(result)}; false-alarm rate {_percent(rate)}).")
    return Verdict(NOT_SUSPICIOUS, f"{result.detector_id}: not suspicious at the {_percent(SUSPICIOUS_RATE)} level: "
                                   f"a score at least this high occurs in {_percent(rate)} of authentic "
                                   f"reference images ({_reference_text(result)}); this does not prove "
                                   "authenticity.")


def overall_verdict(results: Sequence[Result]) -> Verdict:
    """One sentence over several detectors' results of the same picture.

    Suspicious when any calibrated result is (naming which), else "no detector found evidence of
    manipulation; this does not prove authenticity" (naming the detectors that were not
    calibrated, whose results say nothing). Each detector is tested at the 5 % level, so with
    several detectors the chance that at least one raises a false alarm on an authentic picture
    is higher than 5 %: the sentence says how many were consulted.
    """
    verdicts = [verdict(result) for result in results]
    flagged = [r.detector_id for r, v in zip(results, verdicts) if v.level == SUSPICIOUS]
    unknown = [r.detector_id for r, v in zip(results, verdicts) if v.level == NOT_CALIBRATED]
    consulted = len(results) - len(unknown)
    if flagged:
        return Verdict(SUSPICIOUS, f"Suspicious: {', '.join(flagged)} found evidence of manipulation at the "
                                   f"{_percent(SUSPICIOUS_RATE)} level ({consulted} calibrated detectors "
                                   "consulted, each tested separately).")
    if consulted == 0:
        return Verdict(NOT_CALIBRATED, "No verdict: none of these results is calibrated.")
    text = (f"No detector found evidence of manipulation at the {_percent(SUSPICIOUS_RATE)} level ({consulted} "
            "calibrated detectors consulted); this does not prove authenticity.")
    if unknown:
        text += f" Not calibrated, so not counted: {', '.join(unknown)}."
    return Verdict(NOT_SUSPICIOUS, text)


def calibration_text(result: Result) -> str:
    """The calibration a result was compared with, for reports: reference set, size, provenance,
    score definition, and the command and commit that made it ('' when not calibrated)."""
    record = result.calibration
    if result.false_alarm_rate is None:
        return record.get("reason", "not calibrated")
    reference = record.get("reference") or {}
    created = record.get("created") or {}
    return (f"{_reference_text(result)} ({reference.get('photos', '?')} photographs; forms: "
            f"{', '.join(reference.get('formats') or []) or '?'}); provenance: {reference.get('provenance', '?')}; "
            f"image score: {record.get('score_definition', '?')}; made by '{created.get('command', '?')}' at commit "
            f"{created.get('git_commit') or '?'} on {created.get('created', '?')}.")


def threshold_origin(result: Result) -> str:
    """Where a result's default threshold comes from, as a clause for sentences ('' for the detector's own)."""
    record = result.calibration
    if record.get("threshold_source") != "calibration":
        return ""
    share = float(record.get("threshold_pixel_rate", 0.0))
    return (f", from the calibration: marks {_percent(share)} of authentic reference pixels; the detector's "
            f"own was {float(record.get('detector_threshold', result.threshold)):.4f}")
