"""A detector's calibration: its scores on authentic reference pictures, stored and checked.

A calibration is a JSON file ``weights/calibration/<detector>.json`` written by
``tamper-workbench calibrate DETECTOR`` and recorded in ``weights/manifest.json`` like weights,
under the table ``calibrations``::

    {"format": 1, "models": {...},
     "calibrations": {"<detector>": {"file": "calibration/<detector>.json", "sha256": ..., "bytes": ...,
                                     "reference": {...}, "command": ...}}}

It holds the sorted image scores of the authentic reference pictures (from which the false-alarm
rate of any score follows), quantiles of their heatmaps' pixels (from which the default threshold
follows), what the reference set is, and the detector version and weights it was computed with.
A file that does not match its manifest SHA-256, is malformed, or was computed with other weights
or another detector version than the shipped ones is refused with a message saying why: a result
is then reported as not calibrated, never calibrated against the wrong distribution.

False-alarm rate with the +1 convention: with ``N`` reference scores of which ``k`` are at least
the score ``s``, the rate is ``(k + 1) / (N + 1)``. This is the rank p-value of ``s`` among
authentic scores ([Vovk2005]_, ch. 2): if the questioned picture's score and the ``N`` reference
scores are exchangeable (the picture is authentic and like the reference set), the probability
that the rate is at most ``a`` is at most ``a``. A finite sample never states a rate of 0: the
smallest rate it can state is ``1 / (N + 1)``.

References
----------
.. [Vovk2005] V. Vovk, A. Gammerman and G. Shafer, *Algorithmic Learning in a Random World*,
   Springer, 2005 (conformal p-values).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from forensics_core.atomic import strict_json, write_bytes_atomic, write_json_atomic
from forensics_core.calibration.reliability import empirical_false_alarm_rate
from forensics_core.errors import WeightsError

CALIBRATION_FORMAT = 1
CALIBRATION_KIND = "tamper-workbench-calibration"
#: The manifest table that lists calibration files.
MANIFEST_TABLE = "calibrations"
#: Folder of calibration files inside a weights folder.
CALIBRATION_FOLDER = "calibration"
#: Share of authentic reference pixels at or above the default threshold.
DEFAULT_PIXEL_FALSE_ALARM = 0.01


class CalibrationError(WeightsError):
    """A calibration file cannot be used (tampered, malformed, stale); the message says why."""


@dataclass(frozen=True)
class Calibration:
    """One detector's calibration (see the module docstring).

    ``reference_scores`` are sorted ascending. ``pixel_quantiles`` maps a level ("0.99") to the
    value that share of authentic reference pixels lies below. ``default_threshold`` is the
    smallest level at or above which at most 1 % of the authentic reference pixels lie (1.0 when
    more of them are at 1.0) and ``threshold_pixel_rate`` the share of those pixels it marks, as
    measured; ``parameters`` are the detector parameters it was computed with (the defaults);
    ``sets_threshold`` says whether it replaces the detector's own threshold (False
    for detectors whose mask is the decision of their paper's test). ``reference`` describes the
    reference set (name, images, photos, provenance, formats), ``created`` how the file was made
    (command, git commit, time).
    """

    detector_id: str
    detector_version: str
    weights_sha256: Mapping[str, str]
    score_definition: str
    reference_scores: tuple[float, ...]
    pixel_quantiles: Mapping[str, float]
    default_threshold: float
    threshold_pixel_rate: float
    sets_threshold: bool
    reference: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    created: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of authentic reference images."""
        return len(self.reference_scores)

    def false_alarm_rate(self, score: float) -> float:
        """Share of authentic reference images scoring at least ``score``, with the +1 convention:
        ``(#{reference >= score} + 1) / (N + 1)`` (see the module docstring)."""
        return empirical_false_alarm_rate(self.reference_scores, score)

    def exceeded_share(self, score: float) -> float:
        """Share of authentic reference images whose score is strictly below ``score``."""
        scores = np.asarray(self.reference_scores, dtype=np.float64)
        return int(np.searchsorted(scores, float(score), side="left")) / max(scores.size, 1)

    def describe_reference(self) -> str:
        """``"<name>, N images from P photographs"`` for sentences."""
        name = self.reference.get("name", "unnamed reference set")
        photos = self.reference.get("photos")
        return f"{name}, {self.size} images" + (f" from {photos} photographs" if photos else "")

    def to_json(self) -> dict[str, Any]:
        """The file's JSON document."""
        return {
            "format": CALIBRATION_FORMAT, "kind": CALIBRATION_KIND, "detector": self.detector_id,
            "detector_version": self.detector_version, "weights_sha256": dict(self.weights_sha256),
            "score_definition": self.score_definition, "reference_scores": list(self.reference_scores),
            "pixel_quantiles": dict(self.pixel_quantiles), "default_threshold": self.default_threshold,
            "threshold_pixel_rate": self.threshold_pixel_rate, "sets_threshold": self.sets_threshold,
            "reference": dict(self.reference), "parameters": dict(self.parameters), "created": dict(self.created),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "calibration") -> Calibration:
        """The calibration of a parsed document; :class:`CalibrationError` names what is wrong."""

        def fail(what: str) -> CalibrationError:
            return CalibrationError(f"The calibration {where} is malformed: {what}; it was not used.")

        if not isinstance(data, dict) or data.get("kind") != CALIBRATION_KIND:
            raise fail("it is not a Tamper Workbench calibration")
        if data.get("format") != CALIBRATION_FORMAT:
            raise fail(f"unknown format {data.get('format')!r}")
        try:
            scores = tuple(_number(v) for v in data["reference_scores"])
            quantiles = {str(k): _number(v) for k, v in data["pixel_quantiles"].items()}
            hashes = {str(k): str(v) for k, v in data["weights_sha256"].items()}
            calibration = cls(
                detector_id=_text(data["detector"]), detector_version=_text(data["detector_version"]),
                weights_sha256=hashes, score_definition=_text(data["score_definition"]),
                reference_scores=scores, pixel_quantiles=quantiles,
                default_threshold=_number(data["default_threshold"]),
                threshold_pixel_rate=_number(data["threshold_pixel_rate"]),
                sets_threshold=_flag(data["sets_threshold"]), reference=dict(data["reference"]),
                parameters=dict(data["parameters"]), created=dict(data["created"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from None
        if not scores:
            raise fail("it holds no reference scores")
        if list(scores) != sorted(scores):
            raise fail("its reference scores are not sorted")
        if not 0.0 <= calibration.default_threshold <= 1.0:
            raise fail("its default threshold lies outside [0, 1]")
        return calibration


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_calibration(data: bytes, where: str) -> Calibration:
    """The calibration in the bytes of a file (strict JSON: NaN and infinities are refused)."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CalibrationError(f"The calibration {where} is not valid JSON ({exc}); it was not used.") from None
    return Calibration.from_json(document, where)


def calibration_relative_path(detector_id: str) -> str:
    """Where a detector's calibration lies inside a weights folder."""
    return f"{CALIBRATION_FOLDER}/{detector_id}.json"


def calibration_manifest_entry(detector_id: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The manifest entry of ``detector_id``'s calibration, or None when it has none."""
    from forensics_core.weights import read_manifest, weights_dir

    folder = folder or weights_dir()
    table = read_manifest(folder).get(MANIFEST_TABLE) or {}
    if not isinstance(table, dict):
        raise CalibrationError(f"The '{MANIFEST_TABLE}' table of {folder / 'manifest.json'} is not a table.")
    entry = table.get(detector_id)
    if entry is None:
        return None
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("file", "sha256")):
        raise CalibrationError(f"The calibration entry '{detector_id}' of {folder / 'manifest.json'} is malformed.")
    return entry


def read_calibration(detector_id: str, folder: Path | None = None) -> Calibration | None:
    """The calibration of ``detector_id`` in ``folder`` (default: the shipped weights folder),
    checked against its manifest SHA-256; None when the manifest lists none.

    Raises :class:`CalibrationError` when the file is missing, lies outside the folder, was
    changed since the manifest was written, is malformed, or belongs to another detector.
    """
    from forensics_core.weights import weights_dir, weights_file

    folder = folder or weights_dir()
    entry = calibration_manifest_entry(detector_id, folder)
    if entry is None:
        return None
    path = weights_file(f"calibration of {detector_id}", entry, folder)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CalibrationError(f"The calibration file of {detector_id} cannot be read ({path}: "
                               f"{exc.strerror}); it was not used.") from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise CalibrationError(f"The calibration file {path} does not match its SHA-256 in the manifest: it was "
                               "changed or corrupted, and was not used.")
    calibration = parse_calibration(data, str(path))
    if calibration.detector_id != detector_id:
        raise CalibrationError(f"The calibration file {path} is for '{calibration.detector_id}', not "
                               f"'{detector_id}'; it was not used.")
    return calibration


def stale_reason(calibration: Calibration, detector_version: str, weights_sha256: Mapping[str, str] | None,
                 score_definition: str, parameters: Mapping[str, Any]) -> str | None:
    """Why ``calibration`` does not describe a detector with this version, weights, score
    definition and parameters (None when it does; ``weights_sha256`` None means not known: never
    matches)."""
    if calibration.detector_version != detector_version:
        return (f"it was computed with version {calibration.detector_version} of the detector, not "
                f"{detector_version}")
    if weights_sha256 is None or dict(calibration.weights_sha256) != dict(weights_sha256):
        return "it was computed with other weights than these"
    if calibration.score_definition != score_definition:
        return f"it calibrates the score '{calibration.score_definition}', not '{score_definition}'"
    if dict(calibration.parameters) != dict(parameters):
        changed = sorted(name for name in set(calibration.parameters) | set(parameters)
                         if calibration.parameters.get(name) != parameters.get(name))
        return f"it was computed with other parameters ({', '.join(changed)} differ)"
    return None


def load_calibration(detector_id: str, folder: Path | None = None) -> Calibration | None:
    """The shipped calibration of ``detector_id``, or None when there is none.

    Raises :class:`CalibrationError` when the file is refused (see :func:`read_calibration`) or
    is stale: computed with another version of the detector, other weights than the shipped
    ones (the ones the manifest lists now), another score definition or other default parameters.
    """
    from forensics_core.detectors import get_detector
    from forensics_core.result_cache import expected_weights_sha256

    calibration = read_calibration(detector_id, folder)
    if calibration is None:
        return None
    detector = get_detector(detector_id)
    reason = stale_reason(calibration, detector.version,
                          expected_weights_sha256(detector, detector.validate_params({})),
                          detector.score_definition, detector.validate_params({}))
    if reason is not None:
        raise CalibrationError(f"The calibration of {detector_id} is stale: {reason}. Compute it again with "
                               f"'tamper-workbench calibrate {detector_id}'; it was not used.")
    return calibration


def save_calibration(calibration: Calibration, folder: Path, command: str) -> dict[str, Any]:
    """Write ``calibration`` as ``<folder>/calibration/<id>.json`` and record it in the manifest.

    The file is written atomically first; the manifest is re-read just before it is written
    (atomically), and only this detector's entry of its ``calibrations`` table changes. Returns
    the manifest entry.
    """
    from forensics_core.weights import MANIFEST_NAME, read_manifest

    relative = calibration_relative_path(calibration.detector_id)
    data = strict_json(calibration.to_json()).encode("utf-8")
    write_bytes_atomic(folder / relative, data)
    reference = calibration.reference
    entry = {"detector": calibration.detector_id, "file": relative, "sha256": hashlib.sha256(data).hexdigest(),
             "bytes": len(data), "images": calibration.size,
             "reference": {key: reference.get(key) for key in ("name", "images", "photos", "provenance", "formats")},
             "command": command}
    manifest = read_manifest(folder)
    table = dict(manifest.get(MANIFEST_TABLE) or {})
    table[calibration.detector_id] = entry
    manifest[MANIFEST_TABLE] = dict(sorted(table.items()))
    write_json_atomic(folder / MANIFEST_NAME, manifest)
    return entry
