"""Regions of interest: plain geometry, rasterisation, statistics on a heatmap, CSV and JSON.

Coordinates are image pixels with x = column and y = row; pixel (row r, column c) covers the
unit square ``[c, c+1) x [r, r+1)``, so its centre is ``(c + 0.5, r + 0.5)``. A pixel belongs to
an ROI when its centre lies inside the shape. A rectangle with integer corners therefore covers
exactly ``width * height`` pixels.

This module never imports Qt: the GUI turns its ROI items into these dataclasses and back.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
from skimage.draw import polygon as fill_polygon

from forensics_core.atomic import write_json_atomic
from forensics_core.errors import ForensicsError

ROI_FORMAT = 1
DEFAULT_COLOUR = "#00c8ff"


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle: top-left corner ``(x, y)`` and size, in image pixels."""

    x: float
    y: float
    width: float
    height: float
    kind = "rect"


@dataclass(frozen=True)
class Ellipse:
    """Axis-aligned ellipse inscribed in the rectangle ``(x, y, width, height)``."""

    x: float
    y: float
    width: float
    height: float
    kind = "ellipse"


@dataclass(frozen=True)
class Polygon:
    """Closed polygon through ``points`` ((x, y) pairs; the last joins the first)."""

    points: tuple[tuple[float, float], ...]
    kind = "polygon"


Geometry = Union[Rect, Ellipse, Polygon]


@dataclass(frozen=True)
class Roi:
    """A named, coloured region of interest with an examiner's note."""

    name: str
    geometry: Geometry
    colour: str = DEFAULT_COLOUR
    note: str = ""


@dataclass(frozen=True)
class RoiStats:
    """Statistics of one ROI on one heatmap at one threshold."""

    area_px: int
    area_percent: float
    mean: float
    max: float
    fraction_above: float


@dataclass(frozen=True)
class RoiRow:
    """One row of the ROI table: the ROI and its statistics."""

    roi: Roi
    stats: RoiStats


def bounding_box(geometry: Geometry) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of the geometry in image coordinates."""
    if isinstance(geometry, Polygon):
        pts = np.asarray(geometry.points, dtype=np.float64).reshape(-1, 2)
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())
    return geometry.x, geometry.y, geometry.x + geometry.width, geometry.y + geometry.height


def rasterize(geometry: Geometry, shape: tuple[int, int]) -> np.ndarray:
    """Boolean HxW mask of the pixels whose centre lies inside ``geometry`` (clipped to the image)."""
    height, width = int(shape[0]), int(shape[1])
    mask = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = bounding_box(geometry)
    c0, c1 = max(0, int(np.floor(x0 - 0.5))), min(width, int(np.ceil(x1 + 0.5)))
    r0, r1 = max(0, int(np.floor(y0 - 0.5))), min(height, int(np.ceil(y1 + 0.5)))
    if c0 >= c1 or r0 >= r1:
        return mask
    cx = np.arange(c0, c1, dtype=np.float64) + 0.5
    cy = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5
    if isinstance(geometry, Rect):
        inside = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
    elif isinstance(geometry, Ellipse):
        if geometry.width <= 0 or geometry.height <= 0:
            return mask
        a, b = geometry.width / 2.0, geometry.height / 2.0
        inside = ((cx - (x0 + a)) / a) ** 2 + ((cy - (y0 + b)) / b) ** 2 <= 1.0
    else:
        pts = np.asarray(geometry.points, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            return mask
        # Shift so that integer grid points are pixel centres of the crop.
        rows, cols = fill_polygon(pts[:, 1] - 0.5 - r0, pts[:, 0] - 0.5 - c0, shape=(r1 - r0, c1 - c0))
        inside = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        inside[rows, cols] = True
    mask[r0:r1, c0:c1] = np.broadcast_to(inside, (r1 - r0, c1 - c0))
    return mask


def roi_stats(region: np.ndarray, heatmap: np.ndarray, threshold: float) -> RoiStats:
    """Area, mean and max heatmap value, and fraction of pixels with ``heatmap >= threshold``.

    ``region`` is a boolean mask of the heatmap's shape; an empty region has zero statistics.
    """
    if region.shape != heatmap.shape:
        raise ValueError(f"ROI mask {region.shape} and heatmap {heatmap.shape} differ in shape")
    values = heatmap[region]
    area = int(values.size)
    percent = 100.0 * area / heatmap.size if heatmap.size else 0.0
    if area == 0:
        return RoiStats(0, 0.0, 0.0, 0.0, 0.0)
    return RoiStats(
        area_px=area,
        area_percent=percent,
        mean=float(values.mean(dtype=np.float64)),
        max=float(values.max()),
        fraction_above=float(np.count_nonzero(values >= threshold)) / area,
    )


def roi_table(rois: Sequence[Roi], heatmap: np.ndarray, threshold: float) -> list[RoiRow]:
    """Statistics of every ROI on ``heatmap`` at ``threshold``, in the given order."""
    return [RoiRow(roi, roi_stats(rasterize(roi.geometry, heatmap.shape), heatmap, threshold)) for roi in rois]


CSV_COLUMNS = ("name", "kind", "area_px", "area_percent", "mean", "max", "fraction_above",
               "threshold", "colour", "note", "geometry", "evidence_sha256", "detector")


def table_csv(rows: Sequence[RoiRow], threshold: float, evidence_sha256: str = "", detector: str = "") -> str:
    """The ROI table as CSV text (header line, then one line per ROI).

    Each line carries what is needed to check it later: the ROI's geometry in image pixels (the
    JSON of :func:`geometry_to_dict`), the SHA-256 of the image it was drawn on and the detector
    (with its parameters) whose heatmap the statistics describe.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        s = row.stats
        writer.writerow([row.roi.name, row.roi.geometry.kind, s.area_px, f"{s.area_percent:.4f}",
                         f"{s.mean:.6f}", f"{s.max:.6f}", f"{s.fraction_above:.6f}", f"{threshold:.6f}",
                         row.roi.colour, row.roi.note, json.dumps(geometry_to_dict(row.roi.geometry)),
                         evidence_sha256, detector])
    return buffer.getvalue()


def geometry_to_dict(geometry: Geometry) -> dict[str, Any]:
    """JSON-ready form of a geometry (``kind`` plus its coordinates)."""
    if isinstance(geometry, Polygon):
        return {"kind": "polygon", "points": [[float(x), float(y)] for x, y in geometry.points]}
    return {"kind": geometry.kind, "x": float(geometry.x), "y": float(geometry.y),
            "width": float(geometry.width), "height": float(geometry.height)}


def geometry_from_dict(data: dict[str, Any]) -> Geometry:
    """Inverse of :func:`geometry_to_dict`; raises ``ForensicsError`` on malformed input."""
    try:
        kind = data["kind"]
        if kind == "polygon":
            return Polygon(tuple((float(x), float(y)) for x, y in data["points"]))
        cls = {"rect": Rect, "ellipse": Ellipse}[kind]
        return cls(float(data["x"]), float(data["y"]), float(data["width"]), float(data["height"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ForensicsError(f"Malformed ROI geometry {data!r}: {exc}") from None


def rois_to_dict(rois: Sequence[Roi], image_sha256: str = "") -> dict[str, Any]:
    """JSON-ready document holding ``rois`` (and the hash of the image they were drawn on)."""
    return {
        "format": ROI_FORMAT,
        "image_sha256": image_sha256,
        "rois": [{"name": r.name, "colour": r.colour, "note": r.note, **geometry_to_dict(r.geometry)}
                 for r in rois],
    }


def rois_from_dict(document: dict[str, Any]) -> list[Roi]:
    """The ROIs of a document written by :func:`rois_to_dict`."""
    if not isinstance(document, dict) or document.get("format") != ROI_FORMAT:
        raise ForensicsError("Not an ROI file of this workbench (missing or unknown 'format').")
    rois = []
    for item in document.get("rois", []):
        if not isinstance(item, dict):
            raise ForensicsError(f"Malformed ROI entry {item!r}.")
        rois.append(Roi(name=str(item.get("name", "ROI")), geometry=geometry_from_dict(item),
                        colour=str(item.get("colour", DEFAULT_COLOUR)), note=str(item.get("note", ""))))
    return rois


def save_rois(path: str | os.PathLike[str], rois: Sequence[Roi], image_sha256: str = "") -> Path:
    """Write ``rois`` to a JSON file atomically."""
    return write_json_atomic(path, rois_to_dict(rois, image_sha256))


def load_rois(path: str | os.PathLike[str]) -> tuple[list[Roi], str]:
    """Read an ROI JSON file; returns the ROIs and the image SHA-256 recorded in it ('' if none)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForensicsError(f"The ROI file {path} cannot be read: {exc}") from None
    return rois_from_dict(document), str(document.get("image_sha256", ""))
