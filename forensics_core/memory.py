"""The memory budget of an analysis: how much a detector run may use, and refusing beyond it.

A picture well under the pixel limit can still need more memory than the computer has once a
detector expands it into floating-point feature maps (a 14000 x 14000 picture is 196 megapixels;
at 96 bytes of working set per pixel that is 18.8 GB). Every detector therefore states an
estimate of its peak working set (:meth:`forensics_core.detectors.base.Detector.estimate_peak_bytes`)
and a run whose estimate exceeds the budget is refused before it starts, with a message naming
the budget and how to raise it. The default budget is a share of the computer's memory (or of
the container's limit, when one is set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from forensics_core.errors import ForensicsError

#: Share of the computer's memory an analysis may plan to use by default.
DEFAULT_SHARE = 0.6
_FALLBACK_TOTAL = 8 << 30  # when the system does not tell its memory size
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class MemoryBudgetError(ForensicsError):
    """A run would need more memory than the budget allows."""


def total_memory_bytes() -> int:
    """Physical memory of the computer, or the container's memory limit when that is smaller."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = _FALLBACK_TOTAL
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


def default_memory_budget() -> int:
    """The budget used when none is given: ``DEFAULT_SHARE`` of :func:`total_memory_bytes`."""
    return int(total_memory_bytes() * DEFAULT_SHARE)


def format_bytes(count: float) -> str:
    """``count`` bytes for people: "512 MB", "12.5 GB" (powers of 1024)."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(count)} bytes"


def parse_memory_size(text: str) -> int:
    """Bytes from "4G", "512M", "1.5g", "2000000" (units K, M, G, T are powers of 1024).

    Raises :class:`ForensicsError` for anything else, or for a size that is not positive.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ForensicsError(
            f"Memory size {text!r} is not understood; write a number with an optional unit, "
            "for example 16G or 800M."
        )
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not value >= 1:
        raise ForensicsError(f"Memory size {text!r} must be at least one byte.")
    return int(value)


def check_budget(what: str, needed: int, budget: int | None) -> None:
    """Raise :class:`MemoryBudgetError` when ``needed`` bytes exceed ``budget`` (None: default)."""
    limit = default_memory_budget() if budget is None else int(budget)
    if needed <= limit:
        return
    origin = (
        f"{DEFAULT_SHARE:.0%} of this computer's {format_bytes(total_memory_bytes())}"
        if budget is None
        else "as set"
    )
    raise MemoryBudgetError(
        f"{what} would need about {format_bytes(needed)} of memory, more than the memory budget "
        f"of {format_bytes(limit)} ({origin}). If this computer has the memory, raise the budget "
        "(command line: --max-memory, for example --max-memory "
        f"{max(1, -(-needed // (1 << 30)))}G); otherwise analyse it on a computer with more memory."
    )
