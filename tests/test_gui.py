"""Headless tests of the workbench window (pytest-qt, offscreen)."""

from __future__ import annotations

import csv
import hashlib
import re
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image, PngImagePlugin  # noqa: E402
from PySide6.QtCore import QSettings, QThread, QTimer  # noqa: E402
from PySide6.QtWidgets import QDoubleSpinBox, QMessageBox, QSpinBox  # noqa: E402

from app.display_data import prepare_display, quantise  # noqa: E402
from app.main import configure_pyqtgraph  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from forensics_core.detectors.base import Analysis, Detector, ProgressReporter  # noqa: E402
from forensics_core.postprocess import otsu_threshold  # noqa: E402
from forensics_core.report import CaseInfo  # noqa: E402
from forensics_core.roi import Rect, Roi  # noqa: E402

pytestmark = pytest.mark.gui


class SlowDetector(Detector):
    """Takes about 10 s unless cancelled; reports progress every 20 ms."""

    id = "test-slow"
    display_name = "Slow test detector"
    needs_weights = False

    def analyse(self, evidence, params: Mapping[str, Any], reporter: ProgressReporter, device) -> Analysis:
        for step in range(500):
            reporter.update(step / 500, f"step {step}")
            time.sleep(0.02)
        return Analysis(heatmap=np.zeros((evidence.height, evidence.width), np.float32), score=0.0)


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    pixels[30:60, 40:90] = (pixels[30:60, 40:90] // 8) + 100  # a smooth patch with another noise level
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "UnitTestCam 1.0")
    info.add_text("Comment", "planted patch")
    path = tmp_path / "evidence" / "questioned.png"
    path.parent.mkdir()
    Image.fromarray(pixels).save(path, pnginfo=info)
    return path


@pytest.fixture
def window(qtbot, tmp_path: Path, image_path: Path) -> MainWindow:
    configure_pyqtgraph()
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    assert win.open_image(image_path)
    return win


def run(qtbot, win: MainWindow, detector_id: str = "noise-baseline", **params: Any) -> None:
    with qtbot.waitSignal(win.controller.stopped, timeout=30000):
        assert win.run_detector(detector_id, params, "cpu")


def test_window_shows_evidence_identity(window, image_path):
    sha = hashlib.sha256(image_path.read_bytes()).hexdigest()
    assert window.evidence_panel.values["SHA-256"].text() == sha
    assert window.evidence_panel.values["Format"].text() == "PNG"
    assert "128 x 96" in window.evidence_panel.values["Dimensions"].text()
    assert window.recent.paths()[0] == str(image_path.resolve())


def test_metadata_search_filters_rows(window):
    table = window.evidence_panel.metadata
    assert table.rowCount() >= 2
    window.evidence_panel.search.setText("unittestcam")
    visible = [r for r in range(table.rowCount()) if not table.isRowHidden(r)]
    assert len(visible) == 1 and "UnitTestCam" in table.item(visible[0], 1).text()


def test_parameter_form_follows_declarations(window):
    window.detector_panel.select("noise-baseline")
    form = window.detector_panel.form
    assert isinstance(form.editor("window"), QSpinBox)
    assert isinstance(form.editor("saturation"), QDoubleSpinBox)
    form.editor("window").setValue(16)
    assert form.values()["window"] == 16


def test_run_adds_result_and_overlay(qtbot, window):
    run(qtbot, window, window=16)
    assert len(window.states) == 1
    result = window.states[0].result
    assert result.provenance["parameters"]["window"] == 16
    assert window.image_view.layer.isVisible()
    assert window.results_panel.list.count() == 1
    run(qtbot, window, window=24)  # re-running with other parameters adds a result
    assert len(window.states) == 2 and window.current == 1


def test_display_data_is_prepared_off_the_gui_thread(qtbot, window, monkeypatch):
    """The 8-bit levels and histogram arrive with the result, computed on the worker thread."""
    threads: list[object] = []

    def spy(heatmap):
        threads.append(QThread.currentThread())
        return prepare_display(heatmap)

    monkeypatch.setattr("app.worker.prepare_display", spy)
    run(qtbot, window, window=16)
    assert threads and threads[0] is not window.thread()
    state = window.states[0]
    assert np.array_equal(state.display.levels, quantise(state.result.heatmap))
    histogram = state.whole_histogram()
    assert histogram.counts.sum() == state.result.heatmap.size
    assert histogram.otsu == pytest.approx(otsu_threshold(state.result.heatmap))


def test_gui_stays_responsive_and_cancel_stops_within_a_second(qtbot, window, monkeypatch):
    monkeypatch.setattr("app.main_window.get_detector", lambda _id: SlowDetector())
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    assert window.run_detector("test-slow", {}, "cpu")
    qtbot.wait(600)
    assert window.controller.is_running()
    assert window.detector_panel.progress.value() > 0
    started = time.monotonic()
    with qtbot.waitSignal(window.controller.cancelled, timeout=1000):
        window.detector_panel.cancel_button.click()
    assert time.monotonic() - started < 1.0
    qtbot.waitUntil(lambda: not window.controller.is_running(), timeout=1000)
    timer.stop()
    assert window.states == []
    gaps = np.diff(ticks)
    assert len(ticks) > 20 and gaps.max() < 0.1, f"event loop blocked for {gaps.max():.3f} s"


def test_dragging_the_threshold_updates_mask_and_outline(qtbot, window):
    run(qtbot, window)
    state = window.states[0]
    window.overlay_panel.set_mode("mask")
    window.histogram_panel.line.setValue(0.5)  # below the drag's end (a calibrated default can be as high as 1)
    before = window.current_mask().copy()
    lut_before = window.image_view.layer.lut.copy()
    window.histogram_panel.line.setValue(0.95)  # what a drag does, step by step
    assert state.threshold == pytest.approx(0.95)
    after = window.current_mask()
    np.testing.assert_array_equal(after, state.result.heatmap >= 0.95)
    assert after.sum() < before.sum()
    assert not np.array_equal(window.image_view.layer.lut, lut_before)
    window.overlay_panel.set_mode("outline")
    outline_high = window.image_view.layer.image.copy()
    window.histogram_panel.line.setValue(0.2)
    assert not np.array_equal(window.image_view.layer.image, outline_high)
    window.histogram_panel.otsu_button.click()
    assert state.threshold == pytest.approx(window.histogram_panel.otsu())


def test_roi_statistics_match_numpy_and_roi_histogram(qtbot, window):
    run(qtbot, window)
    heatmap = window.states[0].result.heatmap
    window.roi_panel.add_roi(Roi("patch", Rect(40, 30, 50, 30), "#ff0000", "smooth patch"))
    stats = window.roi_panel.rows()[0].stats
    expected = heatmap[30:60, 40:90]
    threshold = window.states[0].threshold
    assert stats.area_px == 1500
    assert stats.mean == pytest.approx(float(expected.mean()), rel=1e-5)
    assert stats.max == pytest.approx(float(expected.max()))
    assert stats.fraction_above == pytest.approx(float((expected >= threshold).mean()))
    assert window.roi_panel.table.item(0, 2).text() == "1500"
    window.histogram_panel.scope.setCurrentIndex(1)
    window.roi_panel.select(0)
    from forensics_core.postprocess import otsu_threshold

    assert window.histogram_panel.otsu() == pytest.approx(otsu_threshold(expected))


def test_roi_csv_and_json_round_trip(qtbot, window, tmp_path):
    run(qtbot, window)
    window.roi_panel.add_shape("ellipse")
    window.roi_panel.add_roi(Roi("box", Rect(10, 10, 20, 20), "#00ff00", "note"))
    rows = list(csv.DictReader(window.roi_panel.export_csv(tmp_path / "rois.csv").open()))
    assert [r["name"] for r in rows] == ["ROI 1", "box"] and rows[1]["area_px"] == "400"
    saved = window.roi_panel.rois()
    window.roi_panel.save_json(tmp_path / "rois.json")
    window.roi_panel.set_image((96, 128), window.evidence.sha256)
    assert window.roi_panel.rois() == []
    assert window.roi_panel.load_json(tmp_path / "rois.json") == ""
    assert window.roi_panel.rois() == saved


def test_report_html_and_pdf(qtbot, window, tmp_path):
    run(qtbot, window)
    window.roi_panel.add_roi(Roi("patch", Rect(40, 30, 50, 30)))
    case = CaseInfo("CASE-42", "A. Examiner", "test notes")
    html = window.export_report(tmp_path / "r.html", "html", [0], case).read_text()
    assert window.evidence.sha256 in html and window.evidence.md5 in html
    assert "Hash re-verified at export time" in html
    assert "Mahdian" in html and "CASE-42" in html
    assert html.count("data:image/png;base64,") >= 4
    pdf = window.export_report(tmp_path / "r.pdf", "pdf", [0], case).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2
    png = window.export_annotated(tmp_path / "annotated.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_corrupt_file_shows_an_error_box(qtbot, window, tmp_path, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _parent, _title, text: shown.append(text)))
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    assert not window.open_image(bad)
    assert shown and "broken.jpg" in shown[0]
    assert window.evidence is not None and window.evidence.path.name == "questioned.png"


def test_case_save_and_reopen(qtbot, window, tmp_path):
    run(qtbot, window)
    window.histogram_panel.line.setValue(0.7)
    window.roi_panel.add_roi(Roi("patch", Rect(40, 30, 50, 30), "#ff0000", "n"))
    window.case = CaseInfo("C-7", "Examiner", "notes")
    window.save_case(tmp_path / "case" / "case.json")
    other = MainWindow(settings=QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    assert other.open_case(tmp_path / "case" / "case.json")
    assert other.case == window.case
    assert other.states[0].threshold == pytest.approx(0.7)
    np.testing.assert_allclose(other.states[0].result.heatmap, window.states[0].result.heatmap, atol=2**-11)  # float16
    assert other.roi_panel.rois() == window.roi_panel.rois()


def test_side_by_side_views_are_linked(qtbot, window):
    run(qtbot, window, window=16)
    run(qtbot, window, window=48)
    from app.side_by_side import SideBySideDialog

    dialog = SideBySideDialog(window.picture, window.states, window.paint_layer)
    qtbot.addWidget(dialog)
    dialog.show()
    left, right = dialog.views
    left.view.setRange(xRange=(10, 50), yRange=(10, 40), padding=0)
    rx, ry = right.view.viewRange()
    lx, ly = left.view.viewRange()
    assert rx == pytest.approx(lx) and ry == pytest.approx(ly)


class FakeMouseEvent:
    """Just enough of pyqtgraph's drag/click events for DrawingViewBox."""

    def __init__(self, view, start, end=None, finish=True, double=False, button=None):
        from PySide6.QtCore import QPointF, Qt

        self._start = view.mapViewToScene(QPointF(*start))
        self._end = view.mapViewToScene(QPointF(*(end or start)))
        self._finish, self._double = finish, double
        self._button = button or Qt.MouseButton.LeftButton

    def button(self):
        return self._button

    def buttonDownScenePos(self):  # noqa: N802
        return self._start

    def scenePos(self):  # noqa: N802
        return self._end

    def isFinish(self):  # noqa: N802
        return self._finish

    def double(self):
        return self._double

    def accept(self):
        pass


def test_drawing_rectangle_and_polygon_rois(window):
    view = window.image_view.view
    window.roi_panel.add_buttons["rect"].click()
    assert view.tool == "rect"
    view.mouseDragEvent(FakeMouseEvent(view, (10, 12), (40, 32)))
    assert view.tool == "" and not window.roi_panel.add_buttons["rect"].isChecked()
    geometry = window.roi_panel.rois()[-1].geometry
    assert (geometry.kind, geometry.x, geometry.y) == ("rect", pytest.approx(10, abs=0.5), pytest.approx(12, abs=0.5))
    assert (geometry.width, geometry.height) == (pytest.approx(30, abs=1), pytest.approx(20, abs=1))
    window.roi_panel.add_buttons["polygon"].click()
    for point in ((50, 10), (90, 10), (70, 50)):
        view.mouseClickEvent(FakeMouseEvent(view, point))
    view.mouseClickEvent(FakeMouseEvent(view, (70, 50), double=True))
    polygon = window.roi_panel.rois()[-1].geometry
    assert polygon.kind == "polygon" and len(polygon.points) == 3
    assert polygon.points[1] == (pytest.approx(90, abs=0.5), pytest.approx(10, abs=0.5))
    assert window.roi_panel.table.rowCount() == 2


def test_per_class_maps_grid(qtbot, window):
    from forensics_core.detectors.base import Result

    rng = np.random.default_rng(0)
    maps = {f"filtered/class{i}": rng.random((96, 128)).astype(np.float32) for i in range(6)}
    heatmap = maps["filtered/class0"]
    result = Result("resampling-test", heatmap, 0.5, 0.5, heatmap >= 0.5, extra_maps=maps,
                    provenance={"evidence_sha256": window.evidence.sha256, "parameters": {}})
    window._on_result(result)
    assert [m.title for m in window.class_maps.maps] == sorted(maps)
    assert len(window.class_maps.graphics.ci.items) == 18  # name, map and histogram for each class
    window.select_result(-1)
    assert window.class_maps.maps == []


def test_per_class_maps_use_the_detectors_histograms(window):
    from app.class_maps_panel import class_maps
    from forensics_core.detectors.base import ClassMapSummary, Result

    classes = ["upsampling", "rotation_cw"]
    maps = {f"{kind}/{c}": np.full((96, 128), 0.25, np.float32) for c in classes for kind in ("raw", "filtered")}
    per_class = {c: ClassMapSummary(map_name=f"filtered/{c}", counts=(1, 2), edges=(0.0, 0.5, 1.0), otsu_threshold=0.4,
                                    bimodality=0.5, kept=c == "upsampling", confidence=None, mean_probability=0.25)
                 for c in classes}
    result = Result("resampling", maps["filtered/upsampling"], 0.5, 0.5, np.zeros((96, 128), bool),
                    extra_maps=maps, per_class=per_class)
    shown = class_maps(result)
    assert [m.title for m in shown] == ["filtered/upsampling · kept (bimodal)", "filtered/rotation_cw · not bimodal"]
    assert shown[0].otsu == 0.4 and list(shown[0].counts) == [1, 2]


def test_colour_range_stretches_the_heatmap_colours(qtbot, window):
    from app.layers import heatmap_lut

    run(qtbot, window)
    state = window.states[0]
    low, high = state.display.level_range
    assert (low, high) == (int(state.layer.levels.min()), int(state.layer.levels.max()))
    stretched = heatmap_lut("inferno", low, high)
    full = heatmap_lut("inferno")
    assert np.array_equal(stretched[low], full[0]) and np.array_equal(stretched[high], full[255])
    window.overlay_panel.set_mode("heatmap")
    assert window.overlay_panel.stretched()
    assert np.array_equal(window.image_view.layer.lut, stretched)
    assert f"{low / 255:.2f} to {high / 255:.2f}" in window.overlay_panel.range_label.text()
    window.overlay_panel.colour_range.setCurrentIndex(1)  # fixed 0 to 1
    assert np.array_equal(window.image_view.layer.lut, full)
    assert "0.00 to 1.00" in window.overlay_panel.range_label.text()
    assert state.threshold == pytest.approx(state.result.threshold)  # display only


def test_parameter_form_is_not_squashed(qtbot, window):
    window.detector_panel.select("resampling")  # the detector with the most parameters
    qtbot.wait(50)
    form = window.detector_panel.form
    for parameter in window.detector_panel.current().parameters:
        editor = form.editor(parameter.name)
        assert editor.height() >= editor.minimumSizeHint().height(), parameter.name


def test_zoom_and_pixel_readout(qtbot, window):
    run(qtbot, window)
    view = window.image_view
    view.one_to_one()
    width_px = view.view.size().width()
    (x0, x1), _ = view.view.viewRange()
    assert x1 - x0 == pytest.approx(width_px, rel=0.02)
    view.fit()
    (x0, x1), (y0, y1) = view.view.viewRange()
    assert x0 <= 0 and x1 >= 128 and y0 <= 0 and y1 >= 96
    view.hovered.emit(5, 7)
    r, g, b = window.evidence.pixels[7, 5]
    text = window.readout.text()
    assert "x 5  y 7" in text and f"RGB ({r}, {g}, {b})" in text
    assert f"heatmap {window.states[0].result.heatmap[7, 5]:.3f}" in text


def test_sixteen_bit_image_is_scaled_for_display(window, tmp_path):
    import cv2

    pixels = np.zeros((40, 50, 3), np.uint16)
    pixels[:, 25:] = 65535
    pixels[:, :25] = 32768
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), pixels)
    assert window.open_image(path)
    assert window.evidence.bit_depth == 16
    shown = window.image_view.base.image
    assert shown.dtype == np.uint8 and shown[0, 49, 0] == 255 and shown[0, 0, 0] == 128
