"""Saving and reopening a case: a small JSON file plus an ``.npz`` of result arrays beside it.

The JSON records the image path and SHA-256 (checked on reopen), the case details, every
result's summary and the examiner's threshold, the ROIs and the view settings; the ``.npz``
holds the heatmaps, masks and extra maps, and its SHA-256 is recorded in the JSON. Both files
are written atomically (the ``.npz`` first). No Qt here.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_json_atomic
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.report import CaseInfo
from forensics_core.roi import Roi, rois_from_dict, rois_to_dict

CASE_FORMAT = 1


@dataclass
class CaseFile:
    """A case as read back: where the image is, what was found and drawn."""

    image_path: Path
    image_sha256: str
    case: CaseInfo
    results: list[tuple[Result, float]]
    rois: list[Roi]
    view: dict[str, Any] = field(default_factory=dict)


def arrays_path(case_path: Path) -> Path:
    """The ``.npz`` beside a case JSON file."""
    return case_path.with_suffix(".npz")


def save_case(path: str | Path, evidence: Evidence, results: Sequence[tuple[Result, float]],
              rois: Sequence[Roi], case: CaseInfo, view: dict[str, Any]) -> Path:
    """Write the case JSON at ``path`` and its ``.npz`` beside it; returns the JSON path."""
    target = Path(path)
    if target.resolve() == evidence.path.resolve() or arrays_path(target).resolve() == evidence.path.resolve():
        raise ForensicsError(f"Refusing to write a case over the evidence file {evidence.path}.")
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for i, (result, threshold) in enumerate(results):
        arrays[f"r{i}_heatmap"] = result.heatmap.astype(np.float32)
        arrays[f"r{i}_mask"] = result.mask.astype(bool)
        names = sorted(result.extra_maps)
        for j, name in enumerate(names):
            arrays[f"r{i}_extra{j}"] = np.asarray(result.extra_maps[name])
        entries.append({
            "detector_id": result.detector_id, "score": result.score, "threshold": threshold,
            "detector_threshold": result.threshold, "extra_maps": names, "extra": result.extra,
            "timings": result.timings, "device": result.device, "provenance": result.provenance,
        })
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    npz = write_bytes_atomic(arrays_path(target), data)
    document = {
        "format": CASE_FORMAT,
        "image_path": str(evidence.path.resolve()),
        "image_sha256": evidence.sha256,
        "case": asdict(case),
        "arrays": {"file": npz.name, "sha256": hashlib.sha256(data).hexdigest()},
        "results": entries,
        "rois": rois_to_dict(rois, evidence.sha256),
        "view": view,
    }
    return write_json_atomic(target, document)


def load_case(path: str | Path) -> CaseFile:
    """Read a case written by :func:`save_case`; the ``.npz`` must match its recorded SHA-256."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        data = (source.parent / document["arrays"]["file"]).read_bytes()
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ForensicsError(f"The case file {source} cannot be read: {exc}") from None
    if document.get("format") != CASE_FORMAT:
        raise ForensicsError(f"{source} is not a case file of this workbench.")
    if hashlib.sha256(data).hexdigest() != document["arrays"]["sha256"]:
        raise ForensicsError(f"The result arrays beside {source} were changed since the case was saved.")
    arrays = np.load(io.BytesIO(data), allow_pickle=False)
    results = []
    for i, entry in enumerate(document["results"]):
        extra_maps = {name: arrays[f"r{i}_extra{j}"] for j, name in enumerate(entry["extra_maps"])}
        result = Result(detector_id=entry["detector_id"], heatmap=arrays[f"r{i}_heatmap"], score=entry["score"],
                        threshold=entry["detector_threshold"], mask=arrays[f"r{i}_mask"], extra_maps=extra_maps,
                        extra=entry["extra"], timings=entry["timings"], device=entry["device"],
                        provenance=entry["provenance"])
        results.append((result, float(entry["threshold"])))
    return CaseFile(image_path=Path(document["image_path"]), image_sha256=document["image_sha256"],
                    case=CaseInfo(**document["case"]), results=results, rois=rois_from_dict(document["rois"]),
                    view=dict(document.get("view", {})))
