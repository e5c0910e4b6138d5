"""Detector results already computed, found again instead of re-run.

A detector's heatmap and image score are determined by the evidence (its SHA-256), the detector
(id, version and image-score definition), its validated parameters and the SHA-256 of each weights
file it ran with; the :func:`result_key` of a result is the SHA-256 of exactly these, read from its
provenance. The same
key can be computed *before* a run (:func:`key_for_run`), so that a combination of detectors (the
``fusion`` detector) or a benchmark can reuse a result computed earlier - in the open case, or in a
:class:`ResultStore` on disk - rather than compute it again.

Anything derived afterwards from a stored result and a calibration (false-alarm rate, default
threshold) is not part of the key: whoever reuses a result applies the current calibration to it.

A :class:`ResultStore` keeps each result in its own folder: ``maps.npz`` in the compact format of
case files (:mod:`forensics_core.case.maps`: float16 heatmap, packed mask, 8-bit extra maps) and
``result.json`` written last, naming the maps file's SHA-256. An entry that is incomplete, changed
or unreadable is treated as absent.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from forensics_core.atomic import write_bytes_atomic, write_json_atomic
from forensics_core.detectors.base import ClassMapSummary, Detector, Result

if TYPE_CHECKING:  # pragma: no cover
    from forensics_core.evidence import Evidence

#: The provenance fields that determine a result's heatmap and score.
KEY_FIELDS = ("evidence_sha256", "detector", "detector_version", "score_definition", "parameters", "weights_sha256")
_MAPS_FILE = "maps.npz"
_SUMMARY_FILE = "result.json"


class ResultSource(Protocol):
    """Anything that can hand back a result by key (a dict of results, a :class:`ResultStore`)."""

    def get(self, key: str) -> Result | None:
        """The result stored under ``key``, or None."""


def _key_of(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps({name: fields.get(name) for name in KEY_FIELDS}, sort_keys=True,
                           separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def result_key(result: Result) -> str:
    """The key of a computed result, from its provenance (see :data:`KEY_FIELDS`)."""
    provenance = result.provenance
    return _key_of({**provenance, "weights_sha256": dict(provenance.get("weights_sha256") or {})})


def expected_weights_sha256(detector: Detector, params: Mapping[str, Any]) -> dict[str, str] | None:
    """The SHA-256 of each weights file a run of ``detector`` with ``params`` would use, as the
    manifest records it; ``{}`` for a hand-crafted detector, None when it cannot be known in advance
    (a model given in code, or weights that cannot be used)."""
    from forensics_core.weights import manifest_entry

    if not detector.needs_weights:
        return {}
    if detector._injected_model is not None:
        return None
    chosen = detector.choose_weights(params)
    if chosen.problem() is not None:
        return None
    hashes = {}
    for key in chosen.keys:
        entry = manifest_entry(key, chosen.folder())
        if entry is None:
            return None
        hashes[key] = str(entry["sha256"])
    return hashes


def key_for_run(detector: Detector, evidence_sha256: str, params: Mapping[str, Any] | None = None) -> str | None:
    """The key a run of ``detector`` on the evidence with ``params`` will have (None when unknown)."""
    values = detector.validate_params(params)
    weights = expected_weights_sha256(detector, values)
    if weights is None:
        return None
    return _key_of({"evidence_sha256": evidence_sha256, "detector": detector.id,
                    "detector_version": detector.version, "score_definition": detector.score_definition,
                    "parameters": values, "weights_sha256": weights})


def index_results(results: "list[Result] | tuple[Result, ...]") -> dict[str, Result]:
    """``{result_key: result}`` of results at hand (for example the runs of the open case)."""
    return {result_key(result): result for result in results}


class ResultStore:
    """Results kept on disk under ``folder`` (a derived-files folder, never the evidence's)."""

    def __init__(self, folder: str | os.PathLike[str], include_extra_maps: bool = True) -> None:
        self.folder = Path(folder)
        self.include_extra_maps = include_extra_maps

    def _entry(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a result key: {key!r}")
        return self.folder / key[:2] / key

    def get(self, key: str) -> Result | None:
        """The result stored under ``key``; None when absent, incomplete, changed or unreadable."""
        from forensics_core.case.maps import decode_maps
        from forensics_core.case.schema import CaseFormatError

        entry = self._entry(key)
        try:
            summary = json.loads((entry / _SUMMARY_FILE).read_text(encoding="utf-8"))
            blob = (entry / _MAPS_FILE).read_bytes()
        except (OSError, ValueError):
            return None
        try:
            if hashlib.sha256(blob).hexdigest() != summary["maps_sha256"]:
                return None
            maps = decode_maps(blob, summary["height"], summary["width"], summary["map_scales"])
            result = Result(
                detector_id=summary["detector"], heatmap=maps.heatmap, score=float(summary["score"]),
                threshold=float(summary["threshold"]), mask=maps.mask, extra_maps=maps.extra_maps,
                extra=summary["extra"], timings=summary["timings_s"], device=summary["device"],
                provenance=summary["provenance"],
                per_class={name: ClassMapSummary.from_json(data) for name, data in summary["per_class"].items()},
                false_alarm_rate=summary.get("false_alarm_rate"), calibration=summary.get("calibration") or {})
        except (CaseFormatError, KeyError, TypeError, ValueError):
            return None
        return result if result_key(result) == key else None

    def put(self, result: Result) -> str:
        """Store ``result`` (atomically: maps first, ``result.json`` last) and return its key."""
        from forensics_core.case.maps import encode_maps

        key = result_key(result)
        entry = self._entry(key)
        blob, scales = encode_maps(result.heatmap, result.mask, result.extra_maps, self.include_extra_maps)
        write_bytes_atomic(entry / _MAPS_FILE, blob)
        write_json_atomic(entry / _SUMMARY_FILE, {**result.summary(), "maps_sha256": hashlib.sha256(blob).hexdigest(),
                                                  "map_scales": scales})
        return key

    def run(self, detector: Detector, evidence: "Evidence", params: Mapping[str, Any] | None = None,
            **run_options: Any) -> Result:
        """The stored result of ``detector`` on ``evidence`` with ``params``, computed and stored when
        absent (``run_options`` go to :meth:`Detector.run`)."""
        key = key_for_run(detector, evidence.sha256, params)
        if key is not None:
            stored = self.get(key)
            if stored is not None:
                return stored
        result = detector.run(evidence, params, **run_options)
        self.put(result)
        return result

