"""Known-answer tests of forensics_core.roi (pure NumPy, no Qt)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from forensics_core.errors import ForensicsError
from forensics_core.roi import (
    Ellipse,
    Polygon,
    Rect,
    Roi,
    load_rois,
    rasterize,
    roi_stats,
    roi_table,
    save_rois,
    table_csv,
)


def test_rect_statistics_match_numpy():
    rng = np.random.default_rng(0)
    heatmap = rng.random((60, 80)).astype(np.float32)
    region = rasterize(Rect(10, 20, 30, 15), heatmap.shape)
    assert region.sum() == 30 * 15
    assert region[20:35, 10:40].all()
    expected = heatmap[20:35, 10:40]
    stats = roi_stats(region, heatmap, 0.7)
    assert stats.area_px == 450
    assert stats.area_percent == pytest.approx(100 * 450 / (60 * 80))
    assert stats.mean == pytest.approx(float(expected.mean()), rel=1e-6)
    assert stats.max == pytest.approx(float(expected.max()))
    assert stats.fraction_above == pytest.approx(float((expected >= 0.7).mean()))


def test_rect_is_clipped_to_the_image():
    region = rasterize(Rect(-5, -5, 10, 10), (20, 20))
    assert region.sum() == 25 and region[:5, :5].all()
    assert not rasterize(Rect(50, 50, 5, 5), (20, 20)).any()


def test_ellipse_area_close_to_pi_ab():
    region = rasterize(Ellipse(10, 10, 80, 40), (100, 100))
    assert region.sum() == pytest.approx(np.pi * 40 * 20, rel=0.02)
    assert region[30, 50] and not region[10, 10]


def test_polygon_triangle_and_square():
    square = rasterize(Polygon(((2, 3), (12, 3), (12, 9), (2, 9))), (20, 20))
    assert square.sum() == 60 and square[3:9, 2:12].all()
    triangle = rasterize(Polygon(((0, 0), (40, 0), (0, 40))), (50, 50))
    assert triangle.sum() == pytest.approx(800, rel=0.06)


def test_empty_roi_has_zero_stats():
    heatmap = np.ones((10, 10), np.float32)
    stats = roi_stats(np.zeros_like(heatmap, bool), heatmap, 0.5)
    assert stats.area_px == 0 and stats.mean == 0.0


def test_json_round_trip(tmp_path):
    rois = [
        Roi("splice", Rect(1.5, 2, 30, 40), "#ff0000", "left of the cup"),
        Roi("oval", Ellipse(5, 6, 7, 8)),
        Roi("poly", Polygon(((0, 0), (10, 0), (5, 8))), "#00ff00", "note, with comma"),
    ]
    path = save_rois(tmp_path / "rois.json", rois, image_sha256="ab" * 32)
    loaded, sha = load_rois(path)
    assert loaded == rois
    assert sha == "ab" * 32


def test_malformed_json_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "rois": [{"kind": "rect", "x": 1}]}')
    with pytest.raises(ForensicsError):
        load_rois(bad)
    bad.write_text("not json")
    with pytest.raises(ForensicsError):
        load_rois(bad)


def test_csv_content():
    heatmap = np.zeros((10, 10), np.float32)
    heatmap[:5, :5] = 1.0
    rows = roi_table([Roi("a", Rect(0, 0, 5, 5), note="hot"), Roi("b", Rect(5, 5, 5, 5))], heatmap, 0.5)
    parsed = list(csv.DictReader(io.StringIO(table_csv(rows, 0.5))))
    assert [r["name"] for r in parsed] == ["a", "b"]
    assert parsed[0]["area_px"] == "25" and float(parsed[0]["fraction_above"]) == 1.0
    assert float(parsed[1]["mean"]) == 0.0 and parsed[0]["note"] == "hot"
    assert float(parsed[0]["area_percent"]) == 25.0
