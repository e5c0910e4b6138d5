"""GUI responsiveness figures for the workbench window (prints only, never asserts).

Run from the repository root::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py

1. Event-loop blocking while the real ``noise-baseline`` detector runs on the background
   thread over a 12-megapixel image: a 10 ms QTimer records ticks; the longest gap is reported.
2. Interactive redraw on the same image with a result present: a threshold change (made the
   way dragging the histogram line makes it) and an opacity slider change, per view mode.

All figures are wall-clock times on this machine and include whatever else it is doing.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.main import configure_pyqtgraph  # noqa: E402
from app.main_window import MainWindow  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
MIN_RUN_SECONDS = 3.0  # keep running the detector back to back until at least this long
MAX_RUNS = 5
REPEATS = 10
BLOCK_LIMIT_MS = 100.0
REDRAW_LIMIT_MS = 50.0


def make_image(path: Path) -> Path:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    pixels[1000:2000, 1500:2500] = (pixels[1000:2000, 1500:2500] // 8) + 100  # a patch with another noise level
    Image.fromarray(pixels).save(path)
    return path


def pump(app: QApplication, until, timeout: float = 120.0) -> None:
    """Process events until ``until()`` is true (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)


def settle(app: QApplication) -> None:
    """Process events until the queue is drained (a few passes, for chained deferred updates)."""
    for _ in range(3):
        app.processEvents()


def bench_blocking(app: QApplication, win: MainWindow) -> None:
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    done = {"stopped": 0}
    win.controller.stopped.connect(lambda: done.__setitem__("stopped", done["stopped"] + 1))
    run_windows: list[tuple[float, float]] = []  # (start, end of computation) of each background run
    timer.start()
    begin = time.monotonic()
    runs = 0
    while runs < MAX_RUNS and (runs == 0 or time.monotonic() - begin < MIN_RUN_SECONDS):
        target = done["stopped"] + 1
        started = time.monotonic()
        if not win.run_detector("noise-baseline", {}, "cpu"):
            print("  could not start noise-baseline")
            break
        computed: list[float] = []
        worker = win.controller._worker  # record, in the worker thread, when the detector itself finished
        if worker is not None:
            worker.finished.connect(lambda _r: computed.append(time.monotonic()), Qt.ConnectionType.DirectConnection)
        pump(app, lambda: done["stopped"] >= target)
        run_windows.append((started, computed[0] if computed else time.monotonic()))
        runs += 1
    pump(app, lambda: False, timeout=0.2)  # let the result's redraw finish and a few more ticks land
    timer.stop()
    total = time.monotonic() - begin
    t = np.array(ticks)
    gaps = np.diff(t) * 1000.0
    print(f"1. Event loop while noise-baseline runs in the background ({WIDTH}x{HEIGHT}, {runs} run(s), "
          f"{total:.1f} s, {len(ticks)} ticks of a 10 ms timer)")
    if len(gaps) == 0:
        print("  no ticks recorded")
        return
    # gaps wholly inside a detector's computation vs. gaps spanning the end of one (result delivered + drawn)
    during = [g for g, a, b in zip(gaps, t[:-1], t[1:]) if any(s <= a and b <= e for s, e in run_windows)]
    delivery = [g for g, a, b in zip(gaps, t[:-1], t[1:]) if any(a <= e < b for _s, e in run_windows)]
    worst_all = float(gaps.max())
    print(f"  max gap, whole period (incl. result delivery + overlay redraw): {worst_all:7.1f} ms  "
          f"-> {'under' if worst_all < BLOCK_LIMIT_MS else 'NOT under'} {BLOCK_LIMIT_MS:.0f} ms")
    if during:
        worst = float(max(during))
        print(f"  max gap, while the detector was computing:                  {worst:7.1f} ms  "
              f"-> {'under' if worst < BLOCK_LIMIT_MS else 'NOT under'} {BLOCK_LIMIT_MS:.0f} ms")
    if delivery:
        print("  gap at each result's delivery (main thread: result list, overlay, histogram, ROI table): "
              + ", ".join(f"{g:.0f}" for g in delivery) + " ms")
    print(f"  median gap: {float(np.median(gaps)):.1f} ms; gaps > {BLOCK_LIMIT_MS:.0f} ms: "
          f"{int((gaps >= BLOCK_LIMIT_MS).sum())}")


def report(label: str, samples: list[float]) -> None:
    med, worst = statistics.median(samples), max(samples)
    verdict = "under" if worst < REDRAW_LIMIT_MS else ("median under" if med < REDRAW_LIMIT_MS else "NOT under")
    print(f"  {label:<28} median {med:7.1f} ms   max {worst:7.1f} ms   -> {verdict} {REDRAW_LIMIT_MS:.0f} ms")


def bench_redraw(app: QApplication, win: MainWindow) -> None:
    print(f"2. Redraw on a {WIDTH}x{HEIGHT} image with a result present ({REPEATS} repetitions each)")
    if not win.states:
        print("  no result present; skipped")
        return
    line = win.histogram_panel.line
    slider = win.overlay_panel.opacity
    for mode in ("heatmap", "mask", "outline"):
        win.overlay_panel.set_mode(mode)
        settle(app)
        samples: list[float] = []
        for i in range(REPEATS):
            value = 0.3 + 0.04 * i  # a different threshold each time
            start = time.perf_counter()
            line.setValue(value)  # what a drag of the histogram line does, step by step
            settle(app)
            samples.append((time.perf_counter() - start) * 1000.0)
        report(f"{mode}: threshold change", samples)
        samples = []
        for i in range(REPEATS):
            value = 20 + 5 * i
            start = time.perf_counter()
            slider.setValue(value)
            settle(app)
            samples.append((time.perf_counter() - start) * 1000.0)
        note = " (opacity not applied in outline view)" if mode == "outline" else ""
        report(f"{mode}: opacity change", samples)
        if note:
            print(f"  {note.strip()}")


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    configure_pyqtgraph()
    print("Tamper Workbench GUI responsiveness benchmark")
    print(f"machine: {platform.platform()}; processor: {platform.processor() or platform.machine()}; "
          f"os.cpu_count() = {os.cpu_count()}; Qt platform: {os.environ.get('QT_QPA_PLATFORM')}")
    print("figures are wall-clock times (noisy on a shared machine)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        image = make_image(tmp_path / "synthetic_12mp.png")
        print(f"synthetic {WIDTH}x{HEIGHT} RGB PNG written in {time.perf_counter() - t0:.1f} s")
        win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        win.resize(1200, 800)
        win.show()
        settle(app)
        t0 = time.perf_counter()
        if not win.open_image(image):
            print("could not open the synthetic image")
            return
        settle(app)
        print(f"image opened in {time.perf_counter() - t0:.1f} s")
        print()
        bench_blocking(app, win)
        print()
        bench_redraw(app, win)
        win.close()
        settle(app)


if __name__ == "__main__":
    main()
