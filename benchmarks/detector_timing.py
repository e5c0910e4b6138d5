"""Timing and figure formatting shared by the detector benchmarks (``bench_*.py``).

Wall-clock time grows with the machine's load; CPU time (all of this process's threads) much
less, so the benchmarks print both.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from forensics_core.detectors import get_detector
from forensics_core.evidence import load_evidence


def wall_and_cpu_seconds(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock seconds, CPU seconds (all threads) and the return value of one call of ``run``."""
    started, cpu_started = time.perf_counter(), time.process_time()
    value = run()
    return time.perf_counter() - started, time.process_time() - cpu_started, value


def time_detectors(detector_ids: list[str] | tuple[str, ...], path: Path, warm_up: Path | None,
                   report: Callable[[str, float, float], None] | None = None) -> dict[str, tuple[float, float]]:
    """Wall-clock and CPU seconds of one CPU run of each detector on the picture at ``path``.

    Each detector first runs once on the small picture ``warm_up`` (when given), so that imports
    and caches are not timed; ``report(detector_id, wall, cpu)`` is called after each.
    """
    evidence = load_evidence(path)
    small = load_evidence(warm_up) if warm_up is not None else None
    seconds = {}
    for detector_id in detector_ids:
        detector = get_detector(detector_id)
        if small is not None:
            detector.run(small, device="cpu")
        wall, cpu, _ = wall_and_cpu_seconds(lambda: detector.run(evidence, device="cpu"))
        seconds[detector_id] = (wall, cpu)
        if report is not None:
            report(detector_id, wall, cpu)
    return seconds


def figure(summary: dict | str, key: str, digits: int = 3) -> str:
    """``summary[key]`` with ``digits`` decimals, ``n/a`` when missing or not finite; a summary that is
    a refusal message stands in the pixel AUC column."""
    if isinstance(summary, str):
        return summary if key == "pixel_auc" else "n/a"
    value = summary.get(key, float("nan"))
    return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"
