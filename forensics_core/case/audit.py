"""The case's audit trail: an append-only log in which each entry is chained to the one before.

Every entry records its sequence number, a timestamp with time zone, the action and its details,
and the SHA-256 of the previous entry; its own ``hash`` is the SHA-256 of its canonical JSON
(sorted keys, no spaces) without the ``hash`` field. Editing, inserting, deleting or reordering
any entry breaks the chain from that entry on; cutting entries off the end is caught by the
entry count and head hash recorded in ``case.json``. This is the hash chain of Haber and
Stornetta, "How to time-stamp a digital document", Journal of Cryptology 3(2), 1991, kept
locally (an examiner who needs third-party proof of time should also time-stamp the head hash).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from forensics_core.case.safe_files import MAX_DOCUMENT_BYTES, read_regular_file
from forensics_core.case.schema import TIMESTAMP, CaseFormatError, Int, Json, Obj, Str

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
ENTRY = Obj({"seq": Int(0, 10**9), "time": Str(40, TIMESTAMP), "action": Str(100), "details": Json(),
             "previous": Str(64, r"[0-9a-f]{64}"), "hash": Str(64, r"[0-9a-f]{64}")})


def now_iso() -> str:
    """The local time with its UTC offset, e.g. ``2026-12-01T16:05:09+01:00``."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, strict: NaN is refused)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=plain_json_value).encode("utf-8")


def plain_json_value(value: Any) -> Any:
    """NumPy scalars and arrays, paths and tuples as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON without its ``hash`` field."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


@dataclass
class AuditTrail:
    """The entries of a case's log, oldest first; :meth:`append` chains a new one."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def head(self) -> str:
        """Hash of the newest entry (the genesis value when empty)."""
        return self.entries[-1]["hash"] if self.entries else GENESIS

    def append(self, action: str, details: Mapping[str, Any] | None = None, time: str | None = None) -> dict[str, Any]:
        """Add an entry for ``action`` now (``time``: an ISO timestamp to use instead)."""
        entry: dict[str, Any] = {"seq": len(self.entries), "time": time or now_iso(), "action": action,
                                 "details": json.loads(canonical(dict(details or {}))), "previous": self.head}
        entry["hash"] = entry_hash(entry)
        self.entries.append(entry)
        return entry

    def text(self) -> str:
        """The log as JSON lines, one entry per line."""
        return "".join(canonical(entry).decode("utf-8") + "\n" for entry in self.entries)


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of :func:`check_chain`: ``problems`` is empty when the chain is intact."""

    entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def parse_audit(text: str) -> list[dict[str, Any]]:
    """The entries of an audit log; malformed lines raise :class:`CaseFormatError` naming the line."""
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+0085 is text here
        if not line.strip():
            continue
        try:
            entry = json.loads(line, parse_constant=_refuse_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            raise CaseFormatError(f"Line {number} of the audit trail is not valid JSON ({exc}).") from None
        ENTRY.check(entry, f"audit line {number}")
        entries.append(entry)
    return entries


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def check_chain(entries: list[dict[str, Any]], expected_count: int | None = None,
                expected_head: str | None = None) -> ChainCheck:
    """Re-compute every link; report each entry whose hash or link does not match."""
    problems = []
    previous = GENESIS
    for index, entry in enumerate(entries):
        label = f"entry {index} ({entry.get('time', '?')} {entry.get('action', '?')})"
        if entry.get("seq") != index:
            problems.append(f"{label}: sequence number {entry.get('seq')} where {index} was expected "
                            "(an entry was inserted, deleted or moved)")
        if entry.get("previous") != previous:
            problems.append(f"{label}: does not link to the entry before it (the log was edited before this entry)")
        try:
            recomputed = entry_hash(entry)
        except (TypeError, ValueError):
            recomputed = ""
        if recomputed != entry.get("hash"):
            problems.append(f"{label}: its content does not match its hash (this entry was edited)")
        previous = entry.get("hash", "")
    if expected_count is not None and expected_count != len(entries):
        problems.append(f"the case records {expected_count} audit entries but the log holds {len(entries)} "
                        "(entries were removed from or added to the end)")
    if expected_head is not None and entries and expected_head != entries[-1].get("hash"):
        problems.append("the newest entry is not the one recorded in case.json")
    return ChainCheck(len(entries), tuple(problems))


def read_audit(case_dir: Path) -> list[dict[str, Any]]:
    """The parsed entries of ``case_dir/audit.jsonl`` (an absent log is an empty one)."""
    path = case_dir / AUDIT_FILE
    if not path.exists() and not path.is_symlink():
        return []
    data = read_regular_file(path, MAX_DOCUMENT_BYTES, "audit trail")
    try:
        return parse_audit(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CaseFormatError(f"The audit trail {path} is not UTF-8 text.") from None
