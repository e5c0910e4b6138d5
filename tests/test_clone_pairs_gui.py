"""GUI of the copy-move pairs: the table, the drawn pairs and their toggle, zoom on click."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from skimage import data  # noqa: E402

from app.main import configure_pyqtgraph  # noqa: E402
from app.main_window import MainWindow  # noqa: E402

from tests.test_copy_move import CENTRE, SHIFT, clone  # noqa: E402


@pytest.fixture
def window_with_clone(qtbot, tmp_path: Path) -> MainWindow:
    image, _, _ = clone(data.astronaut(), CENTRE, 50, SHIFT, angle=30.0)
    path = tmp_path / "cloned.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    configure_pyqtgraph()
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    assert win.open_image(path)
    with qtbot.waitSignal(win.controller.stopped, timeout=120000):
        assert win.run_detector("copy-move", {}, "cpu")
    return win


def test_pairs_table_overlay_toggle_and_zoom(window_with_clone):
    win = window_with_clone
    panel = win.clone_pairs
    assert panel.table.rowCount() == len(win.states[0].result.extra["pairs"]) == 1
    assert abs(abs(float(panel.table.item(0, 3).text().rstrip("\u00b0"))) - 30.0) < 2.0
    assert panel.overlay.items and all(item.isVisible() for item in panel.overlay.items)
    panel.toggle.setChecked(False)
    assert not any(item.isVisible() for item in panel.overlay.items)
    panel.toggle.setChecked(True)
    win.tabs.setCurrentIndex(1)
    panel.table.cellClicked.emit(0, 0)
    assert win.tabs.currentIndex() == 0
    (x0, x1), (y0, y1) = win.image_view.view.viewRange()
    pair = panel.pairs[0]
    for box in (pair.source_box, pair.target_box):
        assert x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
    assert x1 - x0 < 512 * 0.99 or y1 - y0 < 512 * 0.99  # zoomed in from the whole picture
    win.remove_result(0)
    assert panel.table.rowCount() == 0 and not panel.overlay.items
