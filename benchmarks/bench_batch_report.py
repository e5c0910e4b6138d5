"""Benchmark of the batch ``report`` command on the NoSo copy-move benchmark (18 forged + 13 authentic).

Runs ``tamper-workbench report images/ authentic/ --detector copy-move --detector noise-baseline
--jobs N`` into a temporary folder, then prints the number of images, of PDF and HTML reports
and of index rows, the wall time, and whether ``case verify`` accepts the folder. Skipped (with
a message) without ``../shared``. Asserts nothing; timings depend on the machine's load.

Run: ``python benchmarks/bench_batch_report.py [--jobs N] [--detector ID ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOSO = Path(os.environ.get("TAMPER_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")) \
    / "benchmarks" / "noso"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--detector", action="append", default=None)
    args = parser.parse_args()
    if not NOSO.is_dir():
        print(f"skipped: {NOSO} is absent")
        return
    detectors = args.detector or ["copy-move", "noise-baseline"]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "batch"
        command = [sys.executable, "-m", "forensics_core", "report", str(NOSO / "images"), str(NOSO / "authentic"),
                   *[a for d in detectors for a in ("--detector", d)], "--out", str(out), "--jobs", str(args.jobs),
                   "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        verify = subprocess.run([sys.executable, "-m", "forensics_core", "case", "verify", str(out)],
                                capture_output=True, text=True, check=False)
        index = json.loads((out / "index.json").read_text()) if (out / "index.json").exists() else {"images": []}
        pdfs = len(list(out.glob("*/report.pdf")))
        htmls = len(list(out.glob("*/report.html")))
    print(f"NoSo batch report, detectors {', '.join(detectors)}, --jobs {args.jobs} (exit {done.returncode}):")
    print(f"  images in the index: {len(index['images'])}, failed: {sum('error' in i for i in index['images'])}")
    print(f"  PDF reports: {pdfs}, HTML reports: {htmls}")
    print(f"  wall time: {seconds:.0f} s ({seconds / max(len(index['images']), 1):.1f} s per image)")
    print(f"  case verify: {'ok' if verify.returncode == 0 else 'FAILED'}; load average at the end: "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
