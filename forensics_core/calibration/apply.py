"""Apply a detector's calibration to a result: false-alarm rate, reference and default threshold.

Used by :meth:`forensics_core.detectors.base.Detector.run` on every fresh result and by whoever
reuses a stored one (the result cache, the ``fusion`` detector, a reopened case): the stored
heatmap and score do not depend on the calibration, so the calibration in force is applied
again. Applying is idempotent: the detector's own threshold is kept in ``calibration`` and the
mask is always derived from the heatmap and the threshold in force.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from forensics_core.calibration.calibration_file import (
    Calibration,
    CalibrationError,
    load_calibration,
    stale_reason,
)
from forensics_core.detectors.base import Result

#: Values of ``Result.calibration["status"]``.
CALIBRATED = "calibrated"
NOT_CALIBRATED = "not calibrated"
_UNSET: Any = object()


def _detector_threshold(result: Result) -> float:
    """The threshold the detector chose itself (kept across repeated applications)."""
    return float(result.calibration.get("detector_threshold", result.threshold))


def uncalibrated(result: Result, reason: str) -> Result:
    """``result`` stating that it is not calibrated and why, with the detector's own threshold (and
    its own mask, unless an earlier calibration had replaced it)."""
    threshold, mask = result.threshold, result.mask
    if result.calibration.get("threshold_source") == "calibration":
        threshold = _detector_threshold(result)
        mask = result.heatmap >= threshold
    return replace(result, threshold=threshold, mask=mask, false_alarm_rate=None,
                   calibration={"status": NOT_CALIBRATED, "reason": reason,
                                "detector_threshold": _detector_threshold(result)})


def calibration_reference(calibration: Calibration, applied: bool) -> dict[str, Any]:
    """What a result records of the calibration it was compared with (JSON-ready)."""
    return {
        "status": CALIBRATED, "detector": calibration.detector_id, "images": calibration.size,
        "reference": {key: calibration.reference.get(key) for key in ("name", "photos", "provenance", "formats")},
        "score_definition": calibration.score_definition, "default_threshold": calibration.default_threshold,
        "threshold_pixel_rate": calibration.threshold_pixel_rate,
        "threshold_source": "calibration" if applied else "detector",
        "created": dict(calibration.created),
    }


def apply_calibration(result: Result, calibration: Calibration | None = _UNSET) -> Result:
    """A copy of ``result`` with its false-alarm rate and calibration reference.

    Parameters
    ----------
    result : Result
        A detector's result, fresh or reused.
    calibration : Calibration or None, optional
        The calibration to apply; by default the shipped one of the result's detector
        (:func:`~forensics_core.calibration.calibration_file.load_calibration`). None means none.

    Returns
    -------
    Result
        With ``false_alarm_rate`` and ``calibration`` filled in; when the calibration sets the
        detector's threshold, ``threshold`` is its default threshold and ``mask`` is
        ``heatmap >= threshold``. Without a usable calibration (none, refused, or computed for
        other weights or another detector version than the result's), ``false_alarm_rate`` is
        None and ``calibration`` says why.
    """
    if calibration is _UNSET:
        try:
            calibration = load_calibration(result.detector_id)
        except CalibrationError as exc:
            return uncalibrated(result, str(exc))
    if calibration is None:
        return uncalibrated(result, f"no calibration is installed for {result.detector_id}")
    provenance = result.provenance
    reason = stale_reason(calibration, str(provenance.get("detector_version")),
                          dict(provenance.get("weights_sha256") or {}),
                          str(provenance.get("score_definition")), dict(provenance.get("parameters") or {}))
    if calibration.detector_id != result.detector_id:
        reason = f"it is the calibration of {calibration.detector_id}"
    if reason is not None:
        return uncalibrated(result, f"the calibration of {calibration.detector_id} does not apply to this "
                                    f"result: {reason}")
    detector_threshold = _detector_threshold(result)
    record = {**calibration_reference(calibration, calibration.sets_threshold),
              "detector_threshold": detector_threshold}
    rate = calibration.false_alarm_rate(result.score)
    if not calibration.sets_threshold:
        threshold = detector_threshold
        mask = result.mask if threshold == result.threshold else result.heatmap >= threshold
    else:
        threshold = calibration.default_threshold
        mask = result.heatmap >= threshold
    return replace(result, threshold=float(threshold), mask=mask, false_alarm_rate=rate, calibration=record)
