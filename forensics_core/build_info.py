"""Which software wrote a result: the package version and, in a git checkout, the commit.

A report read in court must say exactly which code produced it; a checkout with uncommitted
changes says so ("with local changes"), because its commit alone does not describe the code.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from forensics_core import __version__

_REPOSITORY = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=_REPOSITORY, capture_output=True, text=True, timeout=5,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@functools.cache
def git_commit() -> str:
    """``<40-hex commit>`` or ``<commit> (with local changes)``; '' outside a git checkout."""
    if not (_REPOSITORY / ".git").exists():
        return ""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return ""
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{commit} (with local changes)" if dirty else commit


def software_description() -> str:
    """``Tamper Workbench 0.1.0, commit abc…`` (the commit only when known)."""
    commit = git_commit()
    return f"Tamper Workbench {__version__}" + (f", commit {commit}" if commit else ", installed package (no git commit)")
