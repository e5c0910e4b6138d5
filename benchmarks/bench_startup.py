"""Start-up time of the command line: ``tamper-workbench --help``, ``--version`` and ``detectors``.

Each command runs ``--repeat`` times in a fresh interpreter; the script prints the median wall
time and the median CPU time (user + system) of the child process. On a loaded machine the wall
time grows with the load while the CPU time does not, so both are printed (with the load
average). Target (issue 15): ``detectors`` and ``--help`` under 1 s. ``tests/test_cli_startup.py``
enforces the cause structurally: none of these commands imports PyTorch, SciPy, scikit-image or Qt.

    python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["--version"], ["detectors"], ["detectors", "--json"])


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m forensics_core ARGV`` in a fresh interpreter."""
    before = os.times()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "forensics_core", *argv], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def main() -> int:
    """Print the median wall and CPU time of each command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of {args.repeat} runs")
    for argv in COMMANDS:
        runs = [measure(argv) for _ in range(args.repeat)]
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"tamper-workbench {' '.join(argv):18s} wall {wall:5.2f} s   cpu {cpu:5.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
