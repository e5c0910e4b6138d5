"""GUI case work: several evidence files, bookmarks, audit trail, background save, report with sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.main import configure_pyqtgraph  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from forensics_core.case import load_case, verify_case  # noqa: E402
from forensics_core.report import CaseInfo  # noqa: E402
from forensics_core.roi import Rect, Roi  # noqa: E402


def picture(path: Path, seed: int, shape=(64, 80)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)).save(path)
    return path


def new_window(qtbot, tmp_path: Path, name: str) -> MainWindow:
    configure_pyqtgraph()
    win = MainWindow(settings=QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    return win


def run(qtbot, win: MainWindow) -> None:
    with qtbot.waitSignal(win.controller.stopped, timeout=30000):
        assert win.run_detector("noise-baseline", {}, "cpu")


@pytest.fixture
def images(tmp_path):
    return picture(tmp_path / "evidence" / "one.png", 1), picture(tmp_path / "evidence" / "two.png", 2, (50, 70))


def test_case_with_two_evidence_files_bookmarks_and_audit_round_trips(qtbot, tmp_path, images):
    one, two = images
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(one)
    run(qtbot, win)
    win.roi_panel.add_roi(Roi("box", Rect(5, 5, 20, 15), "#ff0000"))
    win.set_threshold(0.42)
    win.image_view.view.setRange(xRange=(2, 40), yRange=(3, 30), padding=0)
    first = win.add_bookmark("box at 0.42")
    assert first.zoom is not None and first.visible_rois == ("box",) and first.threshold == pytest.approx(0.42)
    assert win.add_evidence(two)
    assert win.evidence.path == two.resolve() and win.states == [] and win.roi_panel.rois() == []
    run(qtbot, win)
    win.add_bookmark("whole second")
    win.case = CaseInfo("K-9", "A. Examiner", "notes", "Lab")
    win.save_case(tmp_path / "case")
    assert verify_case(tmp_path / "case").ok

    other = new_window(qtbot, tmp_path, "b")
    assert other.open_case(tmp_path / "case" / "case.json")
    assert other.case == win.case and len(other.case_session.evidence) == 2
    assert other.evidence.path == two.resolve() and len(other.states) == 1
    assert other.switch_evidence(0)
    assert other.evidence.path == one.resolve() and other.roi_panel.rois()[0].name == "box"
    assert other.states[0].threshold == pytest.approx(0.42)
    other.go_to_bookmark(0)
    assert other.overlay_panel.mode() == first.mode
    actions = [e["action"] for e in other.case_session.audit.entries]
    for expected in ("evidence opened", "detector run", "ROIs changed", "view bookmarked", "evidence added",
                     "case saved", "case opened"):
        assert expected in actions
    run_entry = next(e for e in other.case_session.audit.entries if e["action"] == "detector run")
    assert run_entry["details"]["detector"] == "noise-baseline" and "window" in run_entry["details"]["parameters"]


def test_changed_evidence_refuses_the_case_and_names_the_file(qtbot, tmp_path, images, monkeypatch):
    one, two = images
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(one)
    assert win.add_evidence(two)
    win.save_case(tmp_path / "case")
    with two.open("ab") as handle:
        handle.write(b"changed")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _p, _t, text: shown.append(text)))
    other = new_window(qtbot, tmp_path, "b")
    assert not other.open_case(tmp_path / "case")
    assert shown and str(two.resolve()) in shown[0] and "CHANGED" in shown[0] and str(one.resolve()) not in shown[0]
    assert other.evidence is None  # nothing half-opened


def test_report_has_sha256_file_bookmarks_and_is_in_the_audit_trail(qtbot, tmp_path, images):
    one, _ = images
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(one)
    run(qtbot, win)
    win.add_bookmark("my caption")
    win.save_case(tmp_path / "case")
    case = CaseInfo("K-1", "Dr. Example", "", "Lab")
    target = tmp_path / "case" / "reports" / "report.pdf"
    written = win.export_report(target, "pdf", [0], case)
    data = written.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert (target.parent / "report.pdf.sha256").read_text() == f"{digest}  report.pdf\n"
    assert b"/Subject" in data and data.startswith(b"%PDF")
    html = win.report_html([0], case)
    assert "Bookmark 1: my caption" in html and "Audit trail of the case" in html and "Signature" in html
    win.save_case(tmp_path / "case")
    entries = [json.loads(line) for line in (tmp_path / "case" / "audit.jsonl").read_text().splitlines()]
    exported = [e for e in entries if e["action"] == "report exported"]
    assert exported and exported[0]["details"]["sha256"] == digest and exported[0]["details"]["file"] == "reports/report.pdf"
    assert verify_case(tmp_path / "case").ok
    written.write_bytes(data + b"%")
    assert any("reports/report.pdf" in p for p in verify_case(tmp_path / "case").problems)


def test_case_is_saved_off_the_gui_thread_with_progress(qtbot, tmp_path, images, monkeypatch):
    import threading

    import app.case_io as case_io

    seen: dict[str, object] = {}
    real_save = case_io.save_case

    def recording_save(folder, case, include_extra_maps=True, progress=None):
        seen["thread"] = threading.current_thread()
        return real_save(folder, case, include_extra_maps, lambda f, m: (seen.setdefault("progress", []).append(f),
                                                                          progress(f, m)))

    monkeypatch.setattr(case_io, "save_case", recording_save)
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(images[0])
    run(qtbot, win)
    written = win.save_case(tmp_path / "case")
    assert written == tmp_path / "case" / "case.json" and written.exists()
    assert seen["thread"] is not threading.main_thread()
    assert seen["progress"] and seen["progress"][-1] == 1.0


def test_a_refused_case_leaves_the_open_work_untouched(qtbot, tmp_path, images, monkeypatch):
    one, two = images
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(two)
    win.save_case(tmp_path / "case")
    two.unlink()
    assert win.open_image(one)
    run(qtbot, win)
    before = (win.case_session, win.evidence, list(win.states))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *_args: None))
    assert not win.open_case(tmp_path / "case")
    assert (win.case_session, win.evidence, list(win.states)) == before


def test_evidence_is_copied_only_when_asked_and_class_maps_can_be_left_out(qtbot, tmp_path, images):
    from dataclasses import replace

    one, _ = images
    win = new_window(qtbot, tmp_path, "a")
    assert win.open_image(one)
    run(qtbot, win)
    state = win.states[0]
    state.result = replace(state.result, extra_maps={"class a": state.result.heatmap * 0.5})
    win.save_case(tmp_path / "case")
    assert not (tmp_path / "case" / "evidence").exists()
    assert list(load_case(tmp_path / "case").evidence[0].runs[0].result.extra_maps) == ["class a"]
    assert win.copy_open_evidence()
    copies = list((tmp_path / "case" / "evidence").iterdir())
    assert len(copies) == 1 and copies[0].read_bytes() == one.read_bytes()
    win.keep_class_maps.setChecked(False)
    win.save_case(tmp_path / "case")
    assert verify_case(tmp_path / "case").ok
    one.unlink()
    other = new_window(qtbot, tmp_path, "b")
    assert other.open_case(tmp_path / "case")
    assert other.case_session.evidence[0].copied and other.states[0].result.extra_maps == {}
