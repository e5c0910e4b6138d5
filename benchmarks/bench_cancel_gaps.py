"""Longest stretch of computation between two cancel checks, per trained detector, on a large picture.

The detector contract asks for a cancel check (``ProgressReporter.update``) at least once a
second. Gaps are measured in CPU time of the process (all threads), so a busy machine does not
stretch them; a gap that grows with the picture means a loop without a check. Run from the
repository root::

    python benchmarks/bench_cancel_gaps.py [--megapixels 20] [--detectors ID ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _row(detector, evidence) -> str:
    """One table row: the run's cancel checks and the longest CPU time between two of them."""
    checks: list[float] = []

    def cancel() -> bool:
        checks.append(time.process_time())
        return False

    started = time.process_time()
    try:
        detector.run(evidence, cancel=cancel, device="cpu")
    except Exception as exc:  # noqa: BLE001 - reported in the table, the next detector runs
        return f"| {detector.id} | failed: {type(exc).__name__}: {str(exc)[:80]} | | | |"
    moments = [started, *checks, time.process_time()]
    longest = max(b - a for a, b in zip(moments, moments[1:]))
    return (f"| {detector.id} | {len(checks)} | {longest:.2f} | {moments[-1] - started:.1f} "
            f"| {'yes' if longest <= 1.0 else 'NO'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=20.0)
    parser.add_argument("--detectors", nargs="*")
    args = parser.parse_args()
    from PIL import Image

    from forensics_core.detectors import list_detectors
    from forensics_core.evidence import load_evidence

    width = int((args.megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:  # kept to the end: some detectors read the file again
        path = Path(tmp) / "large.jpg"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path, quality=90)
        evidence = load_evidence(path)
        print(f"{width}x{height} ({width * height / 1e6:.1f} MP) JPEG of noise")
        print("| detector | cancel checks | longest gap (CPU s) | whole run (CPU s) | once a second |")
        print("|---|---|---|---|---|")
        for detector in list_detectors():
            if detector.is_trained() and (not args.detectors or detector.id in args.detectors):
                print(_row(detector, evidence), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
