"""What a case holds: the case details, the evidence files, and for each its runs, ROIs, notes
and bookmarks, plus the audit trail. Plain data; reading and writing are in :mod:`.store`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from forensics_core.case.audit import AuditTrail, now_iso
from forensics_core.detectors.base import Result
from forensics_core.roi import Roi


@dataclass(frozen=True)
class CaseInfo:
    """What the examiner types into the report: case number, name, organisation, free notes."""

    case_number: str = ""
    examiner: str = ""
    notes: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class Bookmark:
    """A saved view: which run, how it was shown, where the examiner zoomed, which ROIs were visible.

    ``zoom`` is ``(x0, y0, x1, y1)`` in image pixels, or ``None`` for the whole image.
    """

    caption: str
    run_id: str | None
    mode: str = "heatmap"
    threshold: float = 0.5
    opacity: float = 0.5
    colormap: str = "inferno"
    zoom: tuple[float, float, float, float] | None = None
    visible_rois: tuple[str, ...] = ()
    created: str = field(default_factory=now_iso)


def new_id() -> str:
    """A short random identifier for runs and evidence entries."""
    return secrets.token_hex(6)


@dataclass
class Run:
    """One detector result on one evidence file, with the examiner's threshold.

    ``stored`` names the map file in the case folder and its SHA-256 once it has been written
    (or read), so that saving again does not re-encode it.
    """

    result: Result
    threshold: float
    id: str = field(default_factory=new_id)
    stored: tuple[str, str, list] | None = field(default=None, repr=False, compare=False)


@dataclass
class EvidenceEntry:
    """One evidence file referenced by the case (by path and SHA-256; copied in only on request)."""

    path: Path
    sha256: str
    id: str = field(default_factory=new_id)
    copied: bool = False
    notes: str = ""
    runs: list[Run] = field(default_factory=list)
    rois: list[Roi] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)

    def run_by_id(self, run_id: str | None) -> Run | None:
        """The run with ``run_id``, or None."""
        return next((run for run in self.runs if run.id == run_id), None)


@dataclass
class ViewSettings:
    """How the current result is shown."""

    mode: str = "heatmap"
    opacity: float = 0.5
    colormap: str = "inferno"
    stretch: bool = False


@dataclass
class Case:
    """A case: details, evidence entries (each with its runs, ROIs, notes, bookmarks), audit trail."""

    info: CaseInfo = field(default_factory=CaseInfo)
    evidence: list[EvidenceEntry] = field(default_factory=list)
    created: str = field(default_factory=now_iso)
    current_evidence: int = -1
    current_run: int = -1
    view: ViewSettings = field(default_factory=ViewSettings)
    audit: AuditTrail = field(default_factory=AuditTrail)

    def entry_for(self, sha256: str) -> EvidenceEntry | None:
        """The evidence entry of the file with this SHA-256, or None."""
        return next((entry for entry in self.evidence if entry.sha256 == sha256), None)
