"""Cases: several evidence files with their runs, ROIs, notes and bookmarks, and an audit trail.

See :mod:`.store` for the folder layout, :mod:`.schema` for what a valid ``case.json`` is,
:mod:`.audit` for the hash-chained log and :mod:`.verify` for ``tamper-workbench case verify``.
No Qt here.
"""

from forensics_core.case.audit import AuditTrail, check_chain
from forensics_core.case.model import Bookmark, Case, CaseInfo, EvidenceEntry, Run, ViewSettings
from forensics_core.case.schema import CaseFormatError
from forensics_core.case.store import (
    CaseEvidenceError,
    case_folder,
    check_evidence_file,
    copy_evidence_into_case,
    load_case,
    save_case,
)
from forensics_core.case.verify import Verification, verify_case

__all__ = [
    "AuditTrail", "Bookmark", "Case", "CaseEvidenceError", "CaseFormatError", "CaseInfo", "EvidenceEntry", "Run",
    "Verification", "ViewSettings", "case_folder", "check_chain", "check_evidence_file", "copy_evidence_into_case",
    "load_case", "save_case", "verify_case",
]
