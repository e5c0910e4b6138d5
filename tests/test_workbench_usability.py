"""The workbench as an examiner uses it: layout, wheel, unsaved work, state reset, messages, colours.

Headless (pytest-qt, offscreen). Each test checks one behaviour an examiner met in the first
minutes of using the workbench.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox, QScrollArea, QSpinBox  # noqa: E402

import app.dialogs as dialogs  # noqa: E402
from app.evidence_panel import HASH_LINE_CHARS  # noqa: E402
from app.main import configure_pyqtgraph  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from forensics_core.detectors.base import Analysis, Detector  # noqa: E402
from forensics_core.errors import ForensicsError  # noqa: E402
from forensics_core.render import colorize, colormap_lut  # noqa: E402
from forensics_core.roi import Rect, Roi  # noqa: E402

pytestmark = pytest.mark.gui


def _picture(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    pixels[30:60, 40:90] = (pixels[30:60, 40:90] // 8) + 100
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> tuple[Path, Path]:
    return _picture(tmp_path / "evidence" / "test_exif.png", 1), _picture(tmp_path / "evidence" / "other.png", 2)


@pytest.fixture
def window(qtbot, tmp_path: Path, images, monkeypatch) -> MainWindow:
    configure_pyqtgraph()
    monkeypatch.setattr(dialogs, "places", dialogs.SavePlaces())
    monkeypatch.setattr("app.main_window.places", dialogs.places)
    win = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_image(images[0])
    return win


def run(qtbot, win: MainWindow, **params) -> None:
    with qtbot.waitSignal(win.controller.stopped, timeout=30000):
        assert win.run_detector("noise-baseline", params, "cpu")


def wheel(widget, steps: int = 1) -> None:
    """Send a mouse-wheel turn to ``widget``, as the pointer over it would."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


# ---- item 1: hashes readable in full ------------------------------------------------------------
def test_hash_label_shows_all_64_characters(window):
    field = window.evidence_panel.values["SHA-256"]
    shown = field.shown_lines()
    assert "".join(shown) == window.evidence.sha256 and len(window.evidence.sha256) == 64
    assert len(shown) == 4 and all(len(line) == HASH_LINE_CHARS for line in shown)
    assert field.label.height() >= len(shown) * field.label.fontMetrics().lineSpacing()
    assert field.label.font().fixedPitch() or field.label.fontInfo().fixedPitch()
    assert field.label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_file_name_field_keeps_underscores_unclipped(window):
    field = window.evidence_panel.values["File"]
    assert field.text().endswith("test_exif.png")
    assert field.height() >= field.fontMetrics().height() + 4


# ---- item 2: the wheel changes only focused editors ----------------------------------------------
def test_wheel_over_unfocused_spin_box_and_combo_changes_nothing(qtbot, window):
    window.detector_panel.select("noise-baseline")
    spin = window.detector_panel.form.editor("window")
    assert isinstance(spin, QSpinBox)
    before = spin.value()
    wheel(spin, 3)
    assert spin.value() == before
    device = window.detector_panel.device_choice
    device_before = device.currentIndex()
    wheel(device, -3)
    assert device.currentIndex() == device_before
    colormap = window.overlay_panel.colormap
    wheel(colormap, -2)
    assert colormap.currentIndex() == 0


def test_wheel_over_focused_spin_box_changes_it(qtbot, window):
    window.detector_panel.select("noise-baseline")
    spin = window.detector_panel.form.editor("window")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    before = spin.value()
    wheel(spin, 1)
    assert spin.value() == before + spin.singleStep()


# ---- item 3: Run and Cancel always visible, with shortcuts ---------------------------------------
def test_run_bar_is_visible_outside_the_scroll_area(qtbot, window):
    bar = window.detector_panel.run_bar
    for button in (window.detector_panel.run_button, window.detector_panel.cancel_button):
        assert button.isVisible()
        top_left = button.mapTo(window, QPoint(0, 0))
        assert window.rect().contains(top_left) and window.rect().contains(top_left + QPoint(button.width(),
                                                                                              button.height()))
    parent = bar.parentWidget()
    while parent is not None:
        assert not isinstance(parent, QScrollArea)
        parent = parent.parentWidget()


def test_run_and_cancel_shortcuts(qtbot, window):
    assert window.run_action.shortcut().toString() == "Ctrl+R"
    assert window.cancel_action.shortcut().toString() == "Esc"
    assert not window.cancel_action.isEnabled()
    window.detector_panel.select("noise-baseline")
    with qtbot.waitSignal(window.controller.stopped, timeout=30000):
        window.run_action.trigger()
    assert len(window.states) == 1


# ---- item 4: unsaved work is not discarded silently ----------------------------------------------
def test_opening_another_image_asks_about_unsaved_work(qtbot, window, images, monkeypatch):
    assert not window.unsaved
    run(qtbot, window)
    assert window.unsaved
    asked: list[str] = []
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda _parent, what: asked.append(what) or dialogs.CANCEL)
    assert not window.open_image(images[1])
    assert asked == ["test_exif.png"] and len(window.states) == 1
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda _parent, what: dialogs.DISCARD)
    assert window.open_image(images[1])
    assert window.states == [] and window.evidence.path.name == "other.png" and not window.unsaved


def test_quitting_with_unsaved_work_can_be_cancelled(qtbot, window, monkeypatch):
    window.roi_panel.add_roi(Roi("patch", Rect(40, 30, 50, 30)))
    assert window.unsaved
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda _parent, _what: dialogs.CANCEL)
    window.close()
    assert window.isVisible()
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda _parent, _what: dialogs.DISCARD)
    window.close()
    assert not window.isVisible()


def test_saved_work_closes_without_asking(qtbot, window, tmp_path, monkeypatch):
    run(qtbot, window)
    (tmp_path / "case").mkdir()
    window.mark_saved(tmp_path / "case" / "case.json")  # what a successful Save case ends with
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda *_: pytest.fail("asked although saved"))
    window.close()
    assert not window.isVisible()
    assert dialogs.places.start_folder() == tmp_path / "case"


# ---- item 8: a new image starts clean --------------------------------------------------------------
def test_state_is_reset_when_a_new_image_is_opened(qtbot, window, images, monkeypatch):
    run(qtbot, window)
    window.evidence_panel.search.setText("software")
    window.histogram_panel.scope.setCurrentIndex(1)
    window.image_view.hovered.emit(3, 4)
    assert window.detector_panel.message.text().startswith("Done")
    assert window.readout.text()
    monkeypatch.setattr("app.main_window.ask_unsaved", lambda *_: dialogs.DISCARD)
    assert window.open_image(images[1])
    panel = window.detector_panel
    assert panel.progress.value() == 0 and panel.message.text() == "Ready" and panel.elapsed.text() == ""
    assert window.readout.text() == ""
    assert window.evidence_panel.search.text() == ""
    assert window.histogram_panel.scope.currentIndex() == 0
    assert window.roi_panel.rois() == [] and window.states == []


def test_roi_scope_without_an_roi_says_so(qtbot, window):
    run(qtbot, window)
    window.histogram_panel.scope.setCurrentIndex(1)
    assert window.histogram_panel.empty_text.isVisible()
    assert "ROI" in window.histogram_panel.empty_text.toPlainText()
    window.roi_panel.add_roi(Roi("patch", Rect(40, 30, 50, 30)))
    window.roi_panel.select(0)
    assert not window.histogram_panel.empty_text.isVisible()


# ---- item 9: histogram and view controls -----------------------------------------------------------
def test_histogram_before_a_run_keeps_the_unit_axes(window):
    histogram = window.histogram_panel
    _, (y_low, y_high) = histogram.plot.getPlotItem().viewRange()
    assert y_low > -0.1 and y_high < 1.1
    assert histogram.empty_text.isVisible() and "run a detector" in histogram.empty_text.toPlainText()


def test_threshold_can_be_typed(qtbot, window):
    run(qtbot, window)
    window.histogram_panel.threshold_box.setValue(0.375)
    assert window.states[0].threshold == pytest.approx(0.375)
    assert window.histogram_panel.threshold() == pytest.approx(0.375)
    window.histogram_panel.line.setValue(0.8)
    assert window.histogram_panel.threshold_box.value() == pytest.approx(0.8)


def test_view_controls_show_their_value_and_follow_the_mode(window):
    panel = window.overlay_panel
    panel.opacity.setValue(60)
    assert panel.opacity_label.text() == "60 %"
    panel.set_mode("outline")
    assert not panel.opacity.isEnabled() and not panel.colormap.isEnabled() and not panel.colour_range.isEnabled()
    panel.set_mode("mask")
    assert panel.opacity.isEnabled() and not panel.colormap.isEnabled()
    panel.set_mode("heatmap")
    assert panel.opacity.isEnabled() and panel.colormap.isEnabled() and panel.colour_range.isEnabled()


# ---- item 10: messages, untrained detectors, devices ----------------------------------------------
class RefusingDetector(Detector):
    id = "test-refusing"
    display_name = "Refusing test detector"
    needs_weights = False

    def analyse(self, evidence, params, reporter, device) -> Analysis:
        raise ForensicsError("This image is too small for the method.")


def test_a_refusal_is_not_called_a_failure(qtbot, window, monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _p, title, text: shown.append((title, text))))
    monkeypatch.setattr("app.main_window.get_detector", lambda _id: RefusingDetector())
    with qtbot.waitSignal(window.controller.stopped, timeout=10000):
        assert window.run_detector("test-refusing", {}, "cpu")
    assert shown == [("The detector cannot analyse this image", "This image is too small for the method.")]
    assert window.states == []


def test_messages_use_the_workbench_words_not_command_lines(window):
    panel = window.detector_panel
    for index in range(panel.choice.count()):
        panel.choice.setCurrentIndex(index)
        for text in (panel.status.text(), panel.message.text(), panel.device_note.text()):
            assert "tamper-workbench" not in text and "--" not in text, text


def test_run_is_disabled_for_an_untrained_detector(window):
    panel = window.detector_panel
    untrained = [d.id for d in panel.detectors if not d.is_trained()]
    if not untrained:
        pytest.skip("every installed detector is trained")
    panel.select(untrained[0])
    assert not panel.run_button.isEnabled()
    assert "not trained" in panel.message.text()
    trained = [d.id for d in panel.detectors if d.is_trained()]
    panel.select(trained[0])
    assert panel.run_button.isEnabled()


@pytest.mark.parametrize("has_gpu", [False, True])
def test_device_list_offers_only_existing_devices(qtbot, monkeypatch, has_gpu):
    import torch

    from app.detector_panel import DetectorPanel

    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_gpu)
    panel = DetectorPanel()
    qtbot.addWidget(panel)
    offered = [panel.device_choice.itemText(i) for i in range(panel.device_choice.count())]
    assert offered == (["auto", "cpu", "cuda"] if has_gpu else ["auto", "cpu"])
    assert bool(panel.device_note.text()) is not has_gpu


# ---- item 6: side by side fits the screen ---------------------------------------------------------
def test_side_by_side_fits_the_screen_with_long_parameter_lists(qtbot, window):
    from app.side_by_side import SideBySideDialog

    run(qtbot, window, window=16)
    run(qtbot, window, window=48)
    for state in window.states:
        state.result.provenance["parameters"].update({f"very_long_parameter_name_{i}": "x" * 30 for i in range(12)})
    dialog = SideBySideDialog(window.picture, window.states, window.paint_layer, 0, window)
    qtbot.addWidget(dialog)
    dialog.show()
    screen = window.screen().availableGeometry()
    assert dialog.width() <= screen.width()
    assert all(choice.width() < screen.width() // 2 for choice in dialog.choices)
    assert "very_long_parameter_name_11" in dialog.choices[0].itemData(0, Qt.ItemDataRole.ToolTipRole)


# ---- item 11: where derived files go, and what the ROI CSV records ---------------------------------
def test_save_dialogs_start_in_the_case_folder_and_warn_beside_the_evidence(window, images, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    places = dialogs.places
    assert places.start_folder() != Path.cwd() or Path.cwd() == Path.home()
    places.case_folder = tmp_path
    started: list[str] = []
    beside = str(images[0].parent / "report.html")

    def fake_dialog(_parent, _title, start, _filters):
        started.append(start)
        return beside, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    monkeypatch.setattr(dialogs, "confirm_beside_evidence", lambda _parent, _path: False)
    assert dialogs.save_path(window, "Export report", "report.html", "HTML (*.html)") == ""
    assert started == [str(tmp_path / "report.html")]
    monkeypatch.setattr(dialogs, "confirm_beside_evidence", lambda _parent, _path: True)
    assert dialogs.save_path(window, "Export report", "report.html", "HTML (*.html)") == beside


def test_roi_csv_records_geometry_evidence_and_detector(qtbot, window, tmp_path):
    run(qtbot, window, window=16)
    window.roi_panel.add_roi(Roi("box", Rect(10, 12, 20, 30), "#00ff00", "note"))
    rows = list(csv.DictReader(window.roi_panel.export_csv(tmp_path / "rois.csv").open()))
    assert json.loads(rows[0]["geometry"]) == {"kind": "rect", "x": 10.0, "y": 12.0, "width": 20.0, "height": 30.0}
    assert rows[0]["evidence_sha256"] == window.evidence.sha256
    assert "noise-baseline" in rows[0]["detector"] and "window=16" in rows[0]["detector"]


# ---- item 12: one colour table, and colour bars ----------------------------------------------------
def test_screen_overlay_and_colour_bar_share_one_colour_table(qtbot, window):
    run(qtbot, window)
    window.overlay_panel.colour_range.setCurrentIndex(1)  # fixed 0 to 1
    for name in ("inferno", "viridis", "cividis"):
        window.overlay_panel.colormap.setCurrentText(name)
        np.testing.assert_array_equal(window.image_view.layer.lut[:, :3], colormap_lut(name))
        np.testing.assert_array_equal(window.colour_bar.colours(), colormap_lut(name))
        levels = np.arange(256, dtype=np.float32)[None, :] / 255.0
        np.testing.assert_array_equal(colorize(levels, name)[0], colormap_lut(name))
    assert window.colour_bar.isVisible() and window.colour_bar.span == (0.0, 1.0)
    window.overlay_panel.set_mode("outline")
    assert not window.colour_bar.isVisible()


def test_per_class_maps_follow_the_chosen_colour_map(qtbot, window):
    from forensics_core.detectors.base import Result

    rng = np.random.default_rng(0)
    maps = {f"class{i}": rng.random((96, 128)).astype(np.float32) for i in range(2)}
    result = Result("test", maps["class0"], 0.5, 0.5, maps["class0"] >= 0.5, extra_maps=maps,
                    provenance={"evidence_sha256": window.evidence.sha256, "parameters": {}})
    window._on_result(result)
    window.overlay_panel.colormap.setCurrentText("viridis")
    assert window.class_maps.colour_bar.name == "viridis"
    np.testing.assert_array_equal(window.class_maps.colour_bar.colours(), colormap_lut("viridis"))


# ---- item 13: the user guide -----------------------------------------------------------------------
def test_user_guide_opens_from_help_and_lists_every_detector(qtbot, window):
    from app.user_guide import show_user_guide

    actions = [a.text() for a in window.menuBar().actions()]
    assert "&Help" in actions
    dialog = show_user_guide(window)
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    assert "Reading a heatmap" in text and "Threshold and histogram" in text
    for detector in window.detector_panel.detectors:
        assert detector.display_name in text
