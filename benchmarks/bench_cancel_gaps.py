"""Longest stretch of computation between two cancel checks, per trained detector, on a large picture.

The detector contract asks for a cancel check (``ProgressReporter.update``) at least once a
second. Gaps are measured in CPU time of the process (all threads), so a busy machine does not
stretch them; a gap that grows with the picture means a loop without a check. Run from the
repository root::

    python benchmarks/bench_cancel_gaps.py [--megapixels 20] [--detectors ID ...] [--import-torch-first]
    python benchmarks/bench_cancel_gaps.py --gui-imports-torch

The first detector of a process pays for importing PyTorch (device selection) before its first
check; ``--import-torch-first`` imports it beforehand, as the GUI does while it starts, which
``--gui-imports-torch`` checks (a fresh process builds the main window off screen and says
whether PyTorch was imported, and how long the window took).
"""

from __future__ import annotations

import argparse
import os
import traceback
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _caller() -> str:
    """Where in the project the current cancel check was made (the innermost project frame)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "forensics_core" in frame.filename and not frame.filename.endswith("base.py"):
            return f"{Path(frame.filename).name}:{frame.lineno}"
    return "Detector.run"


def _row(detector, evidence, where: bool = False) -> str:
    """One table row: the run's cancel checks and the longest CPU time between two of them."""
    checks: list[float] = []
    places: list[str] = []

    def cancel() -> bool:
        checks.append(time.process_time())
        if where:
            places.append(_caller())
        return False

    started = time.process_time()
    try:
        detector.run(evidence, cancel=cancel, device="cpu")
    except Exception as exc:  # noqa: BLE001 - reported in the table, the next detector runs
        return f"| {detector.id} | failed: {type(exc).__name__}: {str(exc)[:80]} | | | |"
    moments = [started, *checks, time.process_time()]
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    longest = max(gaps)
    row = (f"| {detector.id} | {len(checks)} | {longest:.2f} | {moments[-1] - started:.1f} "
           f"| {'yes' if longest <= 1.0 else 'NO'} |")
    if where:
        index = gaps.index(longest)
        bounds = ["start", *places, "end"]
        row += f" {bounds[index]} -> {bounds[index + 1]} |"
    return row


_GUI_PROBE = """
import sys, time
started = time.perf_counter()
from app.main import application
from app.main_window import MainWindow
application()
imported_with_modules = 'torch' in sys.modules
window = MainWindow()
print(imported_with_modules, 'torch' in sys.modules, round(time.perf_counter() - started, 1))
"""


def gui_imports_torch() -> str:
    """Whether building the GUI's main window (off screen, in a fresh process) imports PyTorch."""
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", _GUI_PROBE], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1], env=environment, check=True)
    with_modules, after_window, seconds = done.stdout.split()[-3:]
    return (f"GUI start-up (fresh process, off screen): PyTorch imported by the GUI's modules: {with_modules}; "
            f"imported once the main window is built (before any run): {after_window}; "
            f"{seconds} s to build the window")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=20.0)
    parser.add_argument("--detectors", nargs="*")
    parser.add_argument("--import-torch-first", action="store_true",
                        help="import PyTorch before the first run, as the GUI does while it starts")
    parser.add_argument("--where", action="store_true",
                        help="add a column naming the checks (file:line) around the longest gap")
    parser.add_argument("--gui-imports-torch", action="store_true",
                        help="only check whether the GUI imports PyTorch while it starts")
    args = parser.parse_args()
    if args.gui_imports_torch:
        print(gui_imports_torch())
        return 0
    if args.import_torch_first:
        import torch  # noqa: F401 - what the GUI's start-up does (its device list)
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
        print("| detector | cancel checks | longest gap (CPU s) | whole run (CPU s) | once a second |"
              + (" longest gap between |" if args.where else ""))
        print("|---|---|---|---|---|" + ("---|" if args.where else ""))
        for detector in list_detectors():
            if detector.is_trained() and (not args.detectors or detector.id in args.detectors):
                print(_row(detector, evidence, args.where), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
