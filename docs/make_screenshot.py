"""Re-create ``docs/screenshot.png``: the real workbench window on the bundled sample.

Opens the sample, runs the default detector on the CPU, draws two regions of interest (the
planted patch from the sample's ground truth and a reference box on untouched table), shows the
heatmap view and saves a picture of the whole window. Run it under a real X server, for example::

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshot.py

(with ``QT_QPA_PLATFORM=offscreen`` the picture lacks the window decorations but is otherwise the
same). Look at the result before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

from app.main import application  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from forensics_core.detectors import DEFAULT_DETECTOR  # noqa: E402
from forensics_core.roi import Ellipse, Rect, Roi  # noqa: E402

SAMPLE = ROOT / "resources" / "samples" / "sample_resampled.png"
OUT = ROOT / "docs" / "screenshot.png"


def wait(milliseconds: int) -> None:
    """Let the event loop run for a while."""
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def main() -> int:
    """Make the screenshot; returns the exit code."""
    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(settings=QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.show()
        if not window.open_image(SAMPLE):
            return 1
        done = QEventLoop()
        window.controller.stopped.connect(done.quit)
        window.run_detector(DEFAULT_DETECTOR, {}, "cpu")
        done.exec()
        window.roi_panel.add_roi(Roi("suspect", Ellipse(488, 150, 108, 200), "#30d040", "planted 1.6x upscale"))
        window.roi_panel.add_roi(Roi("reference", Rect(20, 300, 60, 80), "#20b0ff", "untouched table"))
        window.overlay_panel.set_mode("heatmap")
        wait(1500)
        window.grab().save(str(OUT))
        window.unsaved = False  # a picture for the documentation: nothing to keep, so no question on closing
        window.close()
    app.quit()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
