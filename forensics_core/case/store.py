"""A case folder on disk: ``case.json``, ``audit.jsonl``, ``maps/`` and, on request, ``evidence/``.

::

    CASE/
      case.json        case details, evidence references (path + SHA-256), runs, ROIs, notes,
                       bookmarks, view, and the audit trail's entry count and head hash
      audit.jsonl      the hash-chained audit trail (:mod:`.audit`)
      maps/<run>.npz   each run's heatmap, mask and (optionally) extra maps (:mod:`.maps`)
      evidence/        copies of evidence files, only when the examiner asks for them
      reports/         reports exported from the case, each with ``<name>.sha256`` beside it

Saving writes the map files first, then the audit trail, then ``case.json``, each atomically.
Opening is all or nothing: the document is validated (:mod:`.schema`), every referenced file
is read through :mod:`.safe_files`, every map file must match its recorded SHA-256, the audit
chain must be intact and every evidence file must still have its SHA-256; otherwise nothing is
opened and the message lists every problem found.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_text_atomic
from forensics_core.case.audit import AUDIT_FILE, AuditTrail, check_chain, plain_json_value, read_audit
from forensics_core.case.maps import decode_maps, encode_maps
from forensics_core.case.model import Bookmark, Case, CaseInfo, EvidenceEntry, Run, ViewSettings
from forensics_core.case.safe_files import MAX_DOCUMENT_BYTES, MAX_MAPS_BYTES, inside_case, read_case_file
from forensics_core.case.schema import CaseFormatError, validate_case_document
from forensics_core.detectors.base import ClassMapSummary, Result
from forensics_core.errors import EvidenceError, ForensicsError
from forensics_core.evidence.hashing import sha256_file
from forensics_core.roi import geometry_from_dict, geometry_to_dict, Roi

CASE_FILE = "case.json"
MAPS_DIR = "maps"
EVIDENCE_DIR = "evidence"
REPORTS_DIR = "reports"
FORMAT_NAME = "tamper-workbench-case"
FORMAT_VERSION = 2
ProgressFn = Callable[[float, str], None]


class CaseEvidenceError(ForensicsError):
    """Evidence files of a case are missing or changed; the message names each one."""


def case_folder(path: str | os.PathLike[str]) -> Path:
    """The case folder for ``path`` (the folder itself, or its ``case.json``)."""
    target = Path(path)
    return target.parent if target.name == CASE_FILE else target


# ---- writing ---------------------------------------------------------------------------------
def _roi_to_json(roi: Roi) -> dict[str, Any]:
    return {"name": roi.name, "colour": roi.colour, "note": roi.note, **geometry_to_dict(roi.geometry)}


def _bookmark_to_json(bookmark: Bookmark) -> dict[str, Any]:
    data = asdict(bookmark)
    data["zoom"] = list(bookmark.zoom) if bookmark.zoom is not None else None
    data["visible_rois"] = list(bookmark.visible_rois)
    return data


def _run_to_json(run: Run) -> dict[str, Any]:
    result = run.result
    file_name, sha256, scales = run.stored or ("", "", [])
    height, width = result.heatmap.shape
    return {"id": run.id, "detector_id": result.detector_id, "score": float(result.score),
            "threshold": float(run.threshold), "detector_threshold": float(result.threshold),
            "extra": result.extra, "timings": result.timings, "device": result.device,
            "provenance": result.provenance,
            "per_class": {name: summary.to_json() for name, summary in result.per_class.items()},
            "false_alarm_rate": result.false_alarm_rate, "calibration": result.calibration,
            "maps": {"file": file_name, "sha256": sha256, "height": int(height), "width": int(width),
                     "heatmap": "float16", "extra_maps": scales}}


def case_document(case: Case) -> dict[str, Any]:
    """The JSON document of ``case`` (runs must have been stored first, see :func:`save_case`)."""
    current = case.current_evidence if 0 <= case.current_evidence < len(case.evidence) else -1
    run = min(case.current_run, len(case.evidence[current].runs) - 1) if current >= 0 else -1
    return {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "created": case.created,
        "case": asdict(case.info),
        "evidence": [{"id": e.id, "path": str(e.path), "sha256": e.sha256, "copied": e.copied, "notes": e.notes,
                      "runs": [_run_to_json(r) for r in e.runs], "rois": [_roi_to_json(r) for r in e.rois],
                      "bookmarks": [_bookmark_to_json(b) for b in e.bookmarks]} for e in case.evidence],
        "current": {"evidence": current, "run": max(run, -1)},
        "view": asdict(case.view),
        "audit": {"entries": len(case.audit.entries), "head": case.audit.head},
    }


def _strict_json(document: Any) -> str:
    try:
        return json.dumps(document, indent=1, allow_nan=False, default=plain_json_value) + "\n"
    except ValueError as exc:
        raise ForensicsError(f"The case holds a value that is not a finite number and cannot be saved ({exc}).") from None


def save_case(path: str | os.PathLike[str], case: Case, include_extra_maps: bool = True,
              progress: ProgressFn | None = None) -> Path:
    """Write ``case`` into the folder ``path`` (created if needed); returns the ``case.json`` path.

    Pending audit entries are written with it; ``progress(fraction, message)`` is called while
    map files are encoded (the slow part).
    """
    folder = case_folder(path)
    report = progress or (lambda _f, _m: None)
    evidence_paths = {Path(e.path).resolve() for e in case.evidence if not e.copied}
    for name in (CASE_FILE, AUDIT_FILE):
        if (folder / name).resolve() in evidence_paths:
            raise ForensicsError(f"Refusing to write {name} over the evidence file {folder / name}.")
    runs = [run for entry in case.evidence for run in entry.runs]
    for index, run in enumerate(runs):
        target_name = f"{MAPS_DIR}/{run.id}.npz"
        if _stored_as_wanted(run, target_name, folder, include_extra_maps):
            continue
        base = index / max(len(runs), 1)

        def step(fraction: float, message: str, base: float = base) -> None:
            report(base + fraction / max(len(runs), 1) * 0.9, message)

        step(0.0, f"compressing the maps of {run.result.detector_id}")
        heatmap = run.result.heatmap
        data, scales = encode_maps(heatmap, run.result.mask, run.result.extra_maps, include_extra_maps, step)
        write_bytes_atomic(folder / target_name, data)
        run.stored = (target_name, hashlib.sha256(data).hexdigest(), scales)
    report(0.95, "writing the case file")
    if not case.audit.entries:
        case.audit.append("case created", {"case_number": case.info.case_number})
    case.audit.append("case saved", {"folder": str(folder.resolve()), "evidence": len(case.evidence),
                                     "runs": len(runs)})
    try:
        document = case_document(case)
        validate_case_document(json.loads(_strict_json(document)))
        write_text_atomic(folder / AUDIT_FILE, case.audit.text())
        written = write_text_atomic(folder / CASE_FILE, _strict_json(document))
    except BaseException:
        case.audit.entries.pop()  # the save did not happen: its entry goes
        raise
    _remove_unreferenced_maps(folder, {run.stored[0] for run in runs if run.stored})
    report(1.0, "case saved")
    return written


def _stored_as_wanted(run: Run, target_name: str, folder: Path, include_extra_maps: bool) -> bool:
    """True when the run's map file is already in the folder with the per-class maps asked for."""
    if run.stored is None or run.stored[0] != target_name or not (folder / target_name).is_file():
        return False
    shape = run.result.heatmap.shape
    wanted = sorted(name for name, values in run.result.extra_maps.items()
                    if np.shape(values) == shape) if include_extra_maps else []
    return [scale["name"] for scale in run.stored[2]] == wanted


def _remove_unreferenced_maps(folder: Path, keep: set[str]) -> None:
    maps = folder / MAPS_DIR
    if not maps.is_dir():
        return
    for item in maps.iterdir():
        name = f"{MAPS_DIR}/{item.name}"
        if re.fullmatch(r"maps/[0-9a-f]{12}\.npz", name) and name not in keep and item.is_file():
            item.unlink()


def copy_evidence_into_case(folder: str | os.PathLike[str], entry: EvidenceEntry) -> None:
    """Copy the evidence file into ``CASE/evidence/`` (read-only), verify the copy, and refer to it."""
    root = case_folder(folder)
    source = Path(entry.path)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", source.name).lstrip(".-_") or "evidence"
    relative = f"{EVIDENCE_DIR}/{entry.sha256[:12]}-{name}"[:200]
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, temporary)
    if sha256_file(temporary) != entry.sha256:
        temporary.unlink()
        raise EvidenceError(f"The copy of {source} does not match its SHA-256; the evidence changed. Not copied.")
    os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(temporary, target)
    entry.path, entry.copied = Path(relative), True


# ---- reading ---------------------------------------------------------------------------------
def read_case_document(folder: Path) -> dict[str, Any]:
    """The validated ``case.json`` of ``folder`` (strict JSON: NaN and infinities are refused)."""
    data = read_case_file(folder, CASE_FILE, MAX_DOCUMENT_BYTES, "case file")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CaseFormatError(f"{folder / CASE_FILE} is not valid JSON ({exc}).") from None
    validate_case_document(document)
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def evidence_location(folder: Path, entry: dict[str, Any] | EvidenceEntry) -> Path:
    """Where an evidence file is: inside the case when it was copied, else its recorded absolute path."""
    path, copied = (entry["path"], entry["copied"]) if isinstance(entry, dict) else (str(entry.path), entry.copied)
    if copied:
        return inside_case(folder, path)
    if not Path(path).is_absolute():
        raise CaseFormatError(f"The evidence path '{path[:120]}' is neither absolute nor a copy inside the case.")
    return Path(path)


@dataclass(frozen=True)
class EvidenceCheck:
    """Whether one evidence file is still what the case recorded."""

    path: Path
    recorded_sha256: str
    status: str  # "ok", "changed", "missing", "not a regular file", "unreadable"
    actual_sha256: str = ""

    def message(self) -> str:
        """One line for the examiner."""
        if self.status == "ok":
            return f"{self.path}: unchanged (SHA-256 {self.recorded_sha256})"
        if self.status == "changed":
            return (f"{self.path}: CHANGED since it was added to the case (SHA-256 now {self.actual_sha256}, "
                    f"recorded {self.recorded_sha256})")
        return f"{self.path}: {self.status.upper()} (recorded SHA-256 {self.recorded_sha256})"


def check_evidence_file(path: Path, recorded_sha256: str) -> EvidenceCheck:
    """Re-hash one evidence file (only a regular file is read)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return EvidenceCheck(path, recorded_sha256, "missing")
    except OSError:
        return EvidenceCheck(path, recorded_sha256, "unreadable")
    if not stat.S_ISREG(info.st_mode):
        return EvidenceCheck(path, recorded_sha256, "not a regular file")
    try:
        actual = sha256_file(path)
    except EvidenceError:
        return EvidenceCheck(path, recorded_sha256, "unreadable")
    return EvidenceCheck(path, recorded_sha256, "ok" if actual == recorded_sha256 else "changed", actual)


def check_all_evidence(folder: Path, document: dict[str, Any]) -> list[EvidenceCheck]:
    """One :class:`EvidenceCheck` per evidence entry of a validated document."""
    return [check_evidence_file(evidence_location(folder, e), e["sha256"]) for e in document["evidence"]]


def _run_from_json(folder: Path, data: dict[str, Any]) -> Run:
    maps = data["maps"]
    blob = read_case_file(folder, maps["file"], MAX_MAPS_BYTES, "map file")
    if hashlib.sha256(blob).hexdigest() != maps["sha256"]:
        raise CaseFormatError(f"The map file {maps['file']} was changed since the case was saved (SHA-256 differs).")
    stored = decode_maps(blob, maps["height"], maps["width"], maps["extra_maps"])
    result = Result(detector_id=data["detector_id"], heatmap=stored.heatmap, score=data["score"],
                    threshold=data["detector_threshold"], mask=stored.mask, extra_maps=stored.extra_maps,
                    extra=data["extra"], timings=data["timings"], device=data["device"],
                    provenance=data["provenance"], per_class=_per_class_from_json(data.get("per_class", {})),
                    false_alarm_rate=data.get("false_alarm_rate"), calibration=data.get("calibration", {}))
    return Run(result, data["threshold"], data["id"], (maps["file"], maps["sha256"], maps["extra_maps"]))


def _per_class_from_json(data: dict[str, Any]) -> dict[str, ClassMapSummary]:
    try:
        return {name: ClassMapSummary.from_json(entry) for name, entry in data.items()}
    except ValueError as exc:
        raise CaseFormatError(f"A run's per-class summary cannot be read: {exc}.") from None


def _roi_from_json(data: dict[str, Any]) -> Roi:
    return Roi(name=data["name"], geometry=geometry_from_dict(data), colour=data["colour"], note=data["note"])


def _bookmark_from_json(data: dict[str, Any]) -> Bookmark:
    zoom = tuple(data["zoom"]) if data["zoom"] is not None else None
    return Bookmark(caption=data["caption"], run_id=data["run_id"], mode=data["mode"], threshold=data["threshold"],
                    opacity=data["opacity"], colormap=data["colormap"], zoom=zoom,
                    visible_rois=tuple(data["visible_rois"]), created=data["created"])


def load_case(path: str | os.PathLike[str], verify_evidence: bool = True) -> Case:
    """Open a case folder completely or not at all.

    Raises :class:`CaseFormatError` for a malformed or tampered case (document, map files or
    audit trail) and :class:`CaseEvidenceError` naming every evidence file that is missing or
    changed (``verify_evidence=False`` skips that check, for inspection only).
    """
    folder = case_folder(path)
    if not folder.is_dir():
        raise CaseFormatError(f"{folder} is not a case folder (a folder holding {CASE_FILE}).")
    document = read_case_document(folder)
    chain = check_chain(read_audit(folder), document["audit"]["entries"], document["audit"]["head"])
    if not chain.ok:
        raise CaseFormatError("The case's audit trail was altered: " + "; ".join(chain.problems))
    if verify_evidence:
        failed = [check for check in check_all_evidence(folder, document) if check.status != "ok"]
        if failed:
            raise CaseEvidenceError("The case was not opened because evidence files changed or went missing:\n"
                                    + "\n".join(check.message() for check in failed))
    entries = []
    for data in document["evidence"]:
        entries.append(EvidenceEntry(
            path=Path(data["path"]), sha256=data["sha256"], id=data["id"], copied=data["copied"], notes=data["notes"],
            runs=[_run_from_json(folder, run) for run in data["runs"]],
            rois=[_roi_from_json(roi) for roi in data["rois"]],
            bookmarks=[_bookmark_from_json(b) for b in data["bookmarks"]]))
    info = document["case"]
    view = document["view"]
    case = Case(info=CaseInfo(info["case_number"], info["examiner"], info["notes"], info["organisation"]),
                evidence=entries, created=document["created"], current_evidence=document["current"]["evidence"],
                current_run=document["current"]["run"],
                view=ViewSettings(view["mode"], view["opacity"], view["colormap"], view["stretch"]),
                audit=AuditTrail(read_audit(folder)))
    case.audit.append("case opened", {"folder": str(folder.resolve())})
    return case
