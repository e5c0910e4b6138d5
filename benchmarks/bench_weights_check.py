"""How long asking a detector whether it is trained takes, the first time and after (issue 16).

The GUI asks ``is_trained()`` (and ``training_status()``) of every detector when it builds the
detector list and again whenever one is selected; a run asks once more for its provenance. Each
weights file is hashed once per process (for its size and modification time), so only the first
question reads the files. For every detector with weights this prints the time of the first
``is_trained()``, the mean of ten further calls, and of ``training_status()``, in a fresh process
per detector so that the first call really is the first. Prints figures, asserts nothing.

Run from the repository root: ``python benchmarks/bench_weights_check.py``. Times depend on the
machine's load and on whether the files are in the operating system's cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

REPEATS = 10


def _measure(detector_id: str) -> dict[str, float]:
    """In this process: first is_trained, then REPEATS more, then REPEATS training_status calls."""
    from forensics_core import weights
    from forensics_core.detectors import get_detector

    detector = get_detector(detector_id)
    started = time.perf_counter()
    trained = detector.is_trained()
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(REPEATS):
        detector.is_trained()
    again = (time.perf_counter() - started) / REPEATS
    started = time.perf_counter()
    for _ in range(REPEATS):
        detector.training_status()
    status = (time.perf_counter() - started) / REPEATS
    megabytes = sum(size for _, size, _, _ in weights._verified) / 1e6
    return {"trained": trained, "first_ms": 1e3 * first, "again_ms": 1e3 * again, "status_ms": 1e3 * status,
            "hashed_mb": megabytes}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_measure(sys.argv[2])))
        return
    from forensics_core.detectors import list_detectors

    print(f"{'detector':18s} {'trained':>7s} {'first is_trained':>17s} {'later calls':>12s} "
          f"{'training_status':>16s} {'MB hashed':>10s}")
    for detector in list_detectors():
        if not detector.needs_weights:
            continue
        child = subprocess.run([sys.executable, __file__, "--child", detector.id], capture_output=True, text=True,
                               check=True)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{detector.id:18s} {str(figures['trained']):>7s} {figures['first_ms']:14.1f} ms "
              f"{figures['again_ms']:9.3f} ms {figures['status_ms']:13.3f} ms {figures['hashed_mb']:10.1f}")


if __name__ == "__main__":
    main()
