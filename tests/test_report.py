"""Tests of forensics_core.report (no Qt)."""

from __future__ import annotations

from html import escape as html_escape

import numpy as np
import pytest
from PIL import Image

from forensics_core.detectors import get_detector
from forensics_core.errors import EvidenceError, ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.report import (
    CaseInfo,
    ReportItem,
    build_report_html,
    draw_rois,
    histogram_picture,
    write_report_html,
)
from forensics_core.roi import Ellipse, Polygon, Rect, Roi


@pytest.fixture
def evidence(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "in" / "photo.png"
    path.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(path)
    return load_evidence(path)


def test_report_holds_identity_provenance_and_pictures(evidence, tmp_path):
    result = get_detector("noise-baseline").run(evidence, device="cpu")
    rois = [Roi("hot <spot>", Rect(5, 5, 20, 10), "#ff0000", "check")]
    path = write_report_html(tmp_path / "out" / "report.html", evidence, [ReportItem(result, 0.4)], rois,
                             CaseInfo("K-1", "Dr. X", "line 1\nline 2"))
    html = path.read_text()
    assert evidence.sha256 in html and evidence.md5 in html
    assert "Hash re-verified at export time" in html
    assert html_escape(result.provenance["reference"]) in html and "window=32" in html
    assert "Threshold used" in html and "0.4000" in html
    assert "hot &lt;spot&gt;" in html and "line 1<br>line 2" in html
    assert html.count("data:image/png;base64,") == 4  # original, overlay, outline, histogram
    assert "What the heatmap means" in html and "Known limitations" in html


def test_report_is_refused_when_the_evidence_changed(evidence):
    result = get_detector("noise-baseline").run(evidence, device="cpu")
    with evidence.path.open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(EvidenceError, match="CHANGED"):
        build_report_html(evidence, [ReportItem(result, 0.5)], [], CaseInfo())


def test_report_never_overwrites_the_evidence(evidence):
    with pytest.raises(ForensicsError):
        write_report_html(evidence.path, evidence, [], [], CaseInfo())


def test_histogram_picture_marks_threshold():
    heatmap = np.concatenate([np.full(500, 0.1), np.full(500, 0.9)]).reshape(20, 50).astype(np.float32)
    chart = histogram_picture(heatmap, 0.5)
    assert chart.shape == (260, 640, 3) and chart.dtype == np.uint8
    red = (chart[:, :, 0] > 200) & (chart[:, :, 1] < 60) & (chart[:, :, 2] < 60)
    assert red.any()


def test_draw_rois_draws_every_kind():
    picture = np.zeros((100, 100, 3), np.uint8)
    rois = [Roi("a", Rect(10, 10, 30, 30), "#ff0000"), Roi("b", Ellipse(50, 50, 30, 20), "#00ff00"),
            Roi("c", Polygon(((60, 5), (90, 5), (75, 30))), "#0000ff")]
    out = draw_rois(picture, rois)
    assert out[:, :, 0].any() and out[:, :, 1].any() and out[:, :, 2].any()
    assert not picture.any()


def test_colorize_stretches_over_a_value_range():
    from forensics_core.render import colorize

    heatmap = np.array([[0.1, 0.25, 0.4]], np.float32)
    stretched = colorize(heatmap, "inferno", (0.1, 0.4))
    full = colorize(np.array([[0.0, 0.5, 1.0]], np.float32), "inferno")
    assert np.array_equal(stretched, full)
    assert not np.array_equal(colorize(heatmap, "inferno"), full)


@pytest.mark.parametrize("stretch", [False, True])
def test_report_states_the_colour_scale_of_each_overlay(evidence, stretch):
    result = get_detector("noise-baseline").run(evidence, device="cpu")
    html = build_report_html(evidence, [ReportItem(result, 0.5)], [], CaseInfo(), stretch=stretch)
    low, high = result.heatmap.min(), result.heatmap.max()
    expected = f"stretched over this map's values: {low:.2f} = dark, {high:.2f} = bright" if stretch else \
        "0 = dark, 1 = bright"
    assert html_escape(expected) in html


def test_report_for_sign_off_holds_case_software_signature_and_wrapped_hashes(evidence):
    from datetime import datetime, timedelta, timezone

    from forensics_core.build_info import software_description

    result = get_detector("noise-baseline").run(evidence, device="cpu")
    when = datetime(2026, 3, 4, 10, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    html = build_report_html(evidence, [ReportItem(result, 0.5)], [], CaseInfo("K-5", "Dr. Y", "", "Lab of Z"),
                             now=when)
    assert "K-5" in html and "Dr. Y" in html and "Lab of Z" in html
    assert "2026-03-04T10:05:06+02:00" in html  # date and time with the time zone
    assert f"<tt>{evidence.sha256[:32]}<br>{evidence.sha256[32:]}</tt>" in html  # monospace, 32 per line
    assert html_escape(software_description()) in html and "numpy" in html
    assert "Signature:" in html and "Date:" in html and "Organisation: Lab of Z" in html
    assert html.count("heatmap value") == 0  # colour bar text is in the picture, not the HTML
    assert "its colour bar below" in html


def test_roi_table_states_geometry_in_image_pixels(evidence):
    from forensics_core.report import geometry_text

    assert geometry_text(Roi("r", Rect(5, 6, 20, 10))) == "rectangle, x 5.0-25.0, y 6.0-16.0 (20.0 x 10.0)"
    assert geometry_text(Roi("e", Ellipse(0, 0, 10, 4))).startswith("ellipse, centre (5.0, 2.0), axes 10.0 x 4.0")
    assert geometry_text(Roi("p", Polygon(((1, 2), (3, 4), (5, 0))))) == \
        "polygon, 3 vertices: (1.0, 2.0), (3.0, 4.0), (5.0, 0.0)"
    result = get_detector("noise-baseline").run(evidence, device="cpu")
    html = build_report_html(evidence, [ReportItem(result, 0.5)], [Roi("r", Rect(5, 6, 20, 10))], CaseInfo())
    assert "rectangle, x 5.0-25.0, y 6.0-16.0" in html


def test_per_class_maps_each_get_a_picture(evidence):
    from dataclasses import replace

    result = get_detector("noise-baseline").run(evidence, device="cpu")
    maps = {f"class {i}": np.full(result.heatmap.shape, i / 4, np.float32) for i in range(3)}
    html = build_report_html(evidence, [ReportItem(replace(result, extra_maps=maps), 0.5)], [], CaseInfo())
    assert "Per-class maps" in html and all(f"class {i} (values" in html for i in range(3))
    assert html.count("data:image/png;base64,") == 4 + 3


def test_bookmarks_are_pictured_in_the_chosen_order(evidence):
    from forensics_core.case import Bookmark
    from forensics_core.report import BookmarkItem, bookmark_picture, display_rgb

    result = get_detector("noise-baseline").run(evidence, device="cpu")
    zoomed = Bookmark("second", None, "heatmap", 0.3, 0.5, "inferno", (10, 10, 30, 20), ("box",))
    whole = Bookmark("first", None, "outline", 0.6)
    items = [BookmarkItem(whole, result), BookmarkItem(zoomed, result)]
    html = build_report_html(evidence, [], [Roi("box", Rect(12, 12, 5, 5))], CaseInfo(), bookmarks=items)
    assert html.index("Bookmark 1: first") < html.index("Bookmark 2: second")
    picture = bookmark_picture(display_rgb(evidence), items[1], [Roi("box", Rect(12, 12, 5, 5))])
    assert picture.shape[1] == 20 * (800 // 20)  # the 20-px wide zoom, enlarged pixel for pixel


def test_written_report_has_its_sha256_beside_it(evidence, tmp_path):
    import hashlib

    from forensics_core.report import write_report_file

    written = write_report_file(tmp_path / "out" / "report.pdf", b"%PDF-1.4 test", evidence)
    assert written.sha256 == hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    assert (tmp_path / "out" / "report.pdf.sha256").read_text() == f"{written.sha256}  report.pdf\n"
