"""``tamper-workbench case verify CASE``: is everything in a case folder what its records say?

Checks, in order: the audit trail's hash chain (and, when ``case.json`` is present, its entry
count and head hash), every evidence file's SHA-256, every map file's SHA-256, and every file
whose SHA-256 an audit entry recorded (exported reports, index pages).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from forensics_core.case.audit import check_chain, read_audit
from forensics_core.case.safe_files import MAX_MAPS_BYTES, inside_case, read_regular_file
from forensics_core.case.schema import CaseFormatError
from forensics_core.case.store import CASE_FILE, case_folder, check_all_evidence, read_case_document


@dataclass
class Verification:
    """Lines that passed and problems found; ``ok`` when there is no problem."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


def _file_sha256(folder: Path, name: str) -> str:
    return hashlib.sha256(read_regular_file(inside_case(folder, name), MAX_MAPS_BYTES, "file")).hexdigest()


def verify_case(path: str | Path) -> Verification:
    """Check a case folder (or a batch output folder, which has an audit trail but may lack case.json)."""
    folder = case_folder(path)
    outcome = Verification()
    if not folder.is_dir():
        raise CaseFormatError(f"{folder} is not a folder.")
    document = read_case_document(folder) if (folder / CASE_FILE).exists() else None
    entries = read_audit(folder)
    if document is None and not entries:
        raise CaseFormatError(f"{folder} holds neither {CASE_FILE} nor an audit trail: not a case folder.")
    expected = (document["audit"]["entries"], document["audit"]["head"]) if document else (None, None)
    chain = check_chain(entries, *expected)
    if chain.ok:
        outcome.passed.append(f"audit trail: {chain.entries} entries, hash chain intact")
    outcome.problems.extend(f"audit trail: {p}" for p in chain.problems)
    if document is not None:
        for check in check_all_evidence(folder, document):
            (outcome.passed if check.status == "ok" else outcome.problems).append(f"evidence {check.message()}")
        for evidence in document["evidence"]:
            for run in evidence["runs"]:
                maps = run["maps"]
                try:
                    same = _file_sha256(folder, maps["file"]) == maps["sha256"]
                except CaseFormatError as exc:
                    outcome.problems.append(f"maps of run {run['id']}: {exc}")
                    continue
                (outcome.passed if same else outcome.problems).append(
                    f"maps of run {run['id']} ({run['detector_id']}): "
                    + ("SHA-256 matches" if same else "CHANGED since the case was saved"))
    for entry in entries:
        details = entry.get("details", {})
        recorded = details.get("sha256") if isinstance(details, dict) else None
        name = details.get("file") if isinstance(details, dict) else None
        if not (isinstance(recorded, str) and isinstance(name, str)):
            continue
        try:
            actual = _file_sha256(folder, name)
        except CaseFormatError as exc:
            outcome.problems.append(f"{name} (audit entry {entry['seq']}): {exc}")
            continue
        (outcome.passed if actual == recorded else outcome.problems).append(
            f"{name}: " + ("SHA-256 matches the audit trail" if actual == recorded
                           else f"CHANGED since it was written (SHA-256 now {actual}, recorded {recorded})"))
    return outcome
