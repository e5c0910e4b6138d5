"""GUI pieces of the JPEG detectors: the map-series slider and the detector list entries."""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core.detectors import get_detector
from forensics_core.evidence import load_evidence
from tests.jpeg_fixtures import splice, write_jpeg

pytestmark = pytest.mark.gui


def test_slider_steps_through_the_jpeg_ghost_maps(qtbot, tmp_path):
    from app.map_series_panel import MapSeriesPanel

    picture, _ = splice(q1=90, donor_quality=60)
    result = get_detector("jpeg-ghost").run(load_evidence(write_jpeg(tmp_path / "ghost.jpg", picture, 90)))
    panel = MapSeriesPanel()
    qtbot.addWidget(panel)
    panel.show_result(result)
    assert panel.slider.isVisibleTo(panel) and panel.slider.maximum() == 9
    assert panel.current_name() == f"ghost q={result.extra['best_quality']}"
    assert "(recommended)" in panel.step_label.text()
    panel.slider.setValue(0)
    assert panel.current_name() == "ghost q=50" and panel.step_label.text().startswith("Re-save quality: 50 ")
    shown = panel.image.image
    assert shown is not None and shown.dtype == np.uint8
    panel.show_result(None)
    assert not panel.slider.isVisibleTo(panel) and panel.current_name() is None


def test_main_window_has_the_map_series_tab_and_lists_the_jpeg_detectors(qtbot):
    from app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Map series" in tabs
    for detector_id in ("ela", "jpeg-ghost", "double-jpeg", "jpeg-grid"):
        window.detector_panel.select(detector_id)
        detector = get_detector(detector_id)
        assert detector.reference in window.detector_panel.reference.text()
        assert window.detector_panel.description.text().startswith("What it shows")
