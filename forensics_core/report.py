"""The examiner's report: pictures of results and a self-contained HTML document to sign.

The HTML embeds every picture as a PNG data URI, so one file carries the whole report; the same
HTML is turned into the PDF (``app.pdf_export``, which adds the case header and page numbers to
every page). The evidence file is re-hashed at export time and a report is refused when the
file changed since it was loaded. A written report gets ``<name>.sha256`` beside it (the
``sha256sum`` format), and the case's audit trail records that hash.

What a report holds, in order: the case (number, examiner, organisation, date and time with
time zone), the evidence's identity with its hashes (monospace, wrapped at a fixed width), the
examiner's notes, metadata, each result (provenance, parameters, overlay with its colour bar,
outline, histogram, per-class maps with colour bars, ROI table with geometry), the bookmarks
as annotated snapshots in the examiner's order, the audit trail, what the heatmap means and
the limitations, the software (version, commit) and library versions, and a signature block.

This module never imports Qt.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_text_atomic
from forensics_core.build_info import software_description
from forensics_core.case.model import Bookmark, CaseInfo
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result, library_versions
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.evidence.jpeg import editing_software_warnings, table_family
from forensics_core.calibration.verdict import calibration_text, false_alarm_sentence, threshold_origin, verdict
from forensics_core.postprocess import histogram, otsu_threshold
from forensics_core.fusion.report_section import fusion_section_html
from forensics_core.report_clone_pairs import clone_pairs_section_html
from forensics_core.render import colorize, outline, overlay, to_uint8_rgb, with_colour_bar
from forensics_core.roi import Ellipse, Polygon, Roi, RoiRow, bounding_box, roi_table

#: Longest side, in pixels, of the pictures embedded in a report.
REPORT_PICTURE_SIDE = 1200
#: At most this many metadata rows are listed in the report's EXIF summary.
EXIF_SUMMARY_ROWS = 40

HEATMAP_MEANING = (
    "A heatmap gives every pixel a value between 0 and 1; higher values mean the detector found "
    "more of the traces it looks for (1 = most suspicious). It is a score, not a probability and "
    "not proof: the binary mask and the outline are that heatmap cut at the stated threshold, and "
    "a different threshold draws a different region."
)
GENERAL_LIMITATIONS = (
    "Known limitations that apply to every detector: strong JPEG recompression, resizing, "
    "denoising and heavy filtering of the whole picture weaken or erase the traces; smooth, "
    "saturated, very dark or very textured areas can produce false alarms; a region that was "
    "manipulated in a way the detector does not model can stay unflagged. A detector marked "
    "'baseline' is a reference method, and a detector marked 'NOT TRAINED' has no learned "
    "weights and its output must not be relied on. Findings must be confirmed by an examiner."
)


#: Hexadecimal digests are printed in monospace lines of this many characters.
HASH_LINE_CHARS = 32
#: A zoomed bookmark smaller than this (pixels, longest side) is enlarged by whole pixels.
BOOKMARK_PICTURE_SIDE = 800
#: At most this many per-class maps of one result are pictured (all are listed).
MAX_CLASS_MAPS = 12
#: Longest side of a per-class map picture.
CLASS_MAP_SIDE = 480
#: The case fields the report and PDF header use, re-exported for callers of this module.
__all__ = ["CaseInfo", "ReportItem", "BookmarkItem", "build_report_html", "write_report_html", "write_report_file"]


@dataclass(frozen=True)
class ReportItem:
    """One result to include, with the threshold the examiner settled on."""

    result: Result
    threshold: float
    label: str = ""


@dataclass(frozen=True)
class BookmarkItem:
    """A bookmark to picture in the report, with the result it shows (None: the original)."""

    bookmark: Bookmark
    result: Result | None


def display_rgb(evidence: Evidence) -> np.ndarray:
    """The evidence as uint8 RGB for pictures (16-bit images are scaled, not clipped)."""
    if evidence.pixels.dtype == np.uint8:
        return np.asarray(evidence.pixels)
    return to_uint8_rgb(evidence.rgb_float())


def _line_width(shape: tuple[int, ...]) -> int:
    return max(1, round(max(shape[0], shape[1]) / 500))


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    text = colour.lstrip("#")
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except (ValueError, IndexError):
        return 0, 200, 255


def draw_rois(picture: np.ndarray, rois: Sequence[Roi]) -> np.ndarray:
    """A copy of the uint8 RGB ``picture`` with each ROI drawn in its colour and labelled by name."""
    out = np.ascontiguousarray(picture.copy())
    width = _line_width(out.shape)
    font_scale = max(0.5, width * 0.45)
    for roi in rois:
        colour = _hex_to_rgb(roi.colour)
        g = roi.geometry
        if isinstance(g, Polygon):
            points = np.rint(np.asarray(g.points, np.float64)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [points], True, colour, width, cv2.LINE_AA)
            anchor = (int(points[:, 0, 0].min()), int(points[:, 0, 1].min()))
        elif isinstance(g, Ellipse):
            centre = (round(g.x + g.width / 2), round(g.y + g.height / 2))
            cv2.ellipse(out, centre, (round(g.width / 2), round(g.height / 2)), 0, 0, 360, colour, width, cv2.LINE_AA)
            anchor = (round(g.x), round(g.y))
        else:
            cv2.rectangle(out, (round(g.x), round(g.y)), (round(g.x + g.width) - 1, round(g.y + g.height) - 1),
                          colour, width, cv2.LINE_AA)
            anchor = (round(g.x), round(g.y))
        (tw, th), base = cv2.getTextSize(roi.name, cv2.FONT_HERSHEY_SIMPLEX, font_scale, width)
        x = min(max(anchor[0], 0), max(out.shape[1] - tw - 4, 0))
        y = max(anchor[1] - 4, th + base + 2)
        cv2.rectangle(out, (x, y - th - base - 2), (x + tw + 4, y + 2), (0, 0, 0), -1)
        cv2.putText(out, roi.name, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, width,
                    cv2.LINE_AA)
    return out


def annotated_image(evidence: Evidence, mask: np.ndarray, rois: Sequence[Roi]) -> np.ndarray:
    """The original with the mask outlined in red and the ROIs drawn and labelled (uint8 RGB)."""
    base = display_rgb(evidence)
    return draw_rois(outline(base, mask, thickness=_line_width(base.shape)), rois)


def histogram_picture(heatmap: np.ndarray, threshold: float, region: np.ndarray | None = None,
                      size: tuple[int, int] = (640, 260)) -> np.ndarray:
    """A uint8 RGB chart of the heatmap histogram (log counts) with threshold and Otsu lines.

    ``region`` restricts the histogram to a boolean mask (an ROI); the threshold used is drawn
    as a solid red line, Otsu's threshold of the same values as a dashed blue line.
    """
    width, height = size
    values = heatmap[region] if region is not None else heatmap
    counts, edges = histogram(values, bins=64, value_range=(0.0, 1.0))
    left, right, top, bottom = 50, 16, 28, 36
    chart = np.full((height, width, 3), 255, np.uint8)
    plot_w, plot_h = width - left - right, height - top - bottom
    scaled = np.log10(1.0 + counts.astype(np.float64))
    peak = scaled.max() if scaled.size and scaled.max() > 0 else 1.0
    for i, value in enumerate(scaled):
        x0 = left + int(plot_w * edges[i])
        x1 = left + int(plot_w * edges[i + 1]) - 1
        y0 = top + plot_h - int(plot_h * value / peak)
        cv2.rectangle(chart, (x0, y0), (max(x0, x1), top + plot_h), (110, 110, 110), -1)
    cv2.rectangle(chart, (left, top), (left + plot_w, top + plot_h), (0, 0, 0), 1)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + int(plot_w * tick)
        cv2.line(chart, (x, top + plot_h), (x, top + plot_h + 4), (0, 0, 0), 1)
        cv2.putText(chart, f"{tick:g}", (x - 10, top + plot_h + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.putText(chart, "log count", (4, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    if values.size:
        otsu = otsu_threshold(values)
        x = left + int(plot_w * min(max(otsu, 0.0), 1.0))
        for y in range(top, top + plot_h, 8):
            cv2.line(chart, (x, y), (x, min(y + 4, top + plot_h)), (30, 80, 220), 2)
        cv2.putText(chart, f"Otsu {otsu:.3f}", (left + 120, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (30, 80, 220), 1, cv2.LINE_AA)
    x = left + int(plot_w * min(max(threshold, 0.0), 1.0))
    cv2.line(chart, (x, top), (x, top + plot_h), (220, 30, 30), 2)
    cv2.putText(chart, f"threshold {threshold:.3f}", (left + 260, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (220, 30, 30), 1, cv2.LINE_AA)
    return chart


def png_data_uri(picture: np.ndarray, max_side: int = REPORT_PICTURE_SIDE) -> str:
    """Encode a uint8 RGB picture (shrunk to ``max_side``) as a ``data:image/png;base64`` URI."""
    height, width = picture.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        picture = cv2.resize(picture, (max(1, round(width * scale)), max(1, round(height * scale))),
                             interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(picture), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ForensicsError("A report picture could not be encoded as PNG.")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def _e(value: object) -> str:
    return html.escape(str(value))


def _rows(pairs: Sequence[tuple[str, object]]) -> str:
    return "".join(f"<tr><th align='left'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def _html_rows(pairs: Sequence[tuple[str, str]]) -> str:
    """Rows whose values are already HTML (e.g. monospace hash blocks)."""
    return "".join(f"<tr><th align='left'>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def hash_html(digest: str, width: int = HASH_LINE_CHARS) -> str:
    """A hex digest in monospace, cut into lines of ``width`` characters (no line is ever clipped)."""
    lines = [digest[i:i + width] for i in range(0, len(digest), width)] or [""]
    return "<tt>" + "<br>".join(_e(line) for line in lines) + "</tt>"


def _figure(picture: np.ndarray, caption: str, width: int = 640, max_side: int = REPORT_PICTURE_SIDE) -> str:
    return (f"<p><img src='{png_data_uri(picture, max_side)}' width='{width}'><br>"
            f"<i>{_e(caption)}</i></p>")


def _kept_together(title: str, body_html: str) -> str:
    """A heading and what follows it in one table cell, so that a page break cannot part them."""
    return f"<table cellpadding='0'><tr><td><h3>{_e(title)}</h3>{body_html}</td></tr></table>"


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def geometry_text(roi: Roi) -> str:
    """The ROI's shape and coordinates in image pixels (x = column, y = row, origin top left)."""
    g = roi.geometry
    if isinstance(g, Polygon):
        points = ", ".join(f"({_fmt(x)}, {_fmt(y)})" for x, y in g.points)
        return f"polygon, {len(g.points)} vertices: {points}"
    x0, y0, x1, y1 = bounding_box(g)
    if isinstance(g, Ellipse):
        return (f"ellipse, centre ({_fmt((x0 + x1) / 2)}, {_fmt((y0 + y1) / 2)}), axes {_fmt(g.width)} x "
                f"{_fmt(g.height)}, in box x {_fmt(x0)}-{_fmt(x1)}, y {_fmt(y0)}-{_fmt(y1)}")
    return f"rectangle, x {_fmt(x0)}-{_fmt(x1)}, y {_fmt(y0)}-{_fmt(y1)} ({_fmt(g.width)} x {_fmt(g.height)})"


def roi_table_html(rows: Sequence[RoiRow]) -> str:
    """The ROI table as an HTML table, with each ROI's geometry and coordinates."""
    if not rows:
        return "<p>No regions of interest were drawn.</p>"
    head = ("<tr><th>ROI</th><th>Geometry (image pixels)</th><th>Area (px)</th><th>Area (%)</th><th>Mean</th>"
            "<th>Max</th><th>Above threshold</th><th>Note</th></tr>")
    body = "".join(
        f"<tr><td><font color='{_e(r.roi.colour)}'>&#9632;</font> {_e(r.roi.name)}</td>"
        f"<td><small>{_e(geometry_text(r.roi))}</small></td><td align='right'>{r.stats.area_px}</td>"
        f"<td align='right'>{r.stats.area_percent:.2f}</td><td align='right'>{r.stats.mean:.3f}</td>"
        f"<td align='right'>{r.stats.max:.3f}</td><td align='right'>{100 * r.stats.fraction_above:.1f}%</td>"
        f"<td>{_e(r.roi.note)}</td></tr>"
        for r in rows
    )
    return f"<table border='1' cellspacing='0' cellpadding='3'>{head}{body}</table>"


def _detector_text(detector_id: str) -> tuple[str, str]:
    """The registered detector's description and limitations ('' when it is not registered)."""
    try:
        detector = get_detector(detector_id)
    except ForensicsError:
        return "", ""
    return detector.description, " ".join(detector.limitations)


def colour_range(heatmap: np.ndarray, stretch: bool) -> tuple[tuple[float, float], str]:
    """The value range the colours span and the caption text that states it."""
    if stretch:
        low, high = float(heatmap.min()), float(heatmap.max())
        return (low, high), f"colours stretched over this map's values: {low:.2f} = dark, {high:.2f} = bright"
    return (0.0, 1.0), "0 = dark, 1 = bright"


def class_map_pictures(result: Result, colormap: str) -> str:
    """Every full-size per-class map of ``result`` with its colour bar (the first few pictured)."""
    maps = [(name, values) for name, values in sorted(result.extra_maps.items())
            if np.ndim(values) == 2 and np.shape(values) == result.heatmap.shape]
    if not maps:
        return ""
    cells = []
    for name, values in maps[:MAX_CLASS_MAPS]:
        data = np.nan_to_num(np.asarray(values, dtype=np.float32))
        low, high = float(data.min()), float(data.max())
        value_range = (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, high if high > low else low + 1.0)
        scale = max(1, int(np.ceil(max(data.shape) / CLASS_MAP_SIDE)))
        picture = with_colour_bar(colorize(data[::scale, ::scale], colormap, value_range), colormap, value_range)
        cells.append(f"<td align='center'><img src='{png_data_uri(picture, CLASS_MAP_SIDE)}' width='300'><br>"
                     f"<i>{_e(name)} (values {value_range[0]:.2f} to {value_range[1]:.2f})</i></td>")
    rows = ["<tr>" + "".join(cells[i:i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
    more = (f"<p>{len(maps) - MAX_CLASS_MAPS} further maps are not pictured: "
            f"{_e(', '.join(name for name, _ in maps[MAX_CLASS_MAPS:]))}.</p>") if len(maps) > MAX_CLASS_MAPS else ""
    # On a page of their own: Qt's text engine may part a heading from the table under it.
    return (f"<h3 style='page-break-before: always'>Per-class maps</h3>"
            f"<table cellpadding='4'>{''.join(rows)}</table>{more}")


def class_summary_table(result: Result) -> str:
    """How the detector post-processed each per-class map (``Result.per_class``); '' when it has none."""
    if not result.per_class:
        return ""
    head = ("<tr><th>class</th><th>map</th><th>Otsu threshold</th><th>bimodality</th><th>kept (bimodal)</th>"
            "<th>localisation confidence</th><th>mean probability</th></tr>")
    body = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(s.map_name)}</td><td align='right'>{s.otsu_threshold:.3f}</td>"
        f"<td align='right'>{s.bimodality:.3f}</td><td>{'yes' if s.kept else 'no'}</td>"
        f"<td align='right'>{'-' if s.confidence is None else f'{s.confidence:.3f}'}</td>"
        f"<td align='right'>{s.mean_probability:.3f}</td></tr>"
        for name, s in result.per_class.items())
    return ("<h3>Per-class summary</h3><table border='1' cellspacing='0' cellpadding='3'>"
            f"{head}{body}</table>")


def _result_section(index: int, item: ReportItem, base: np.ndarray,
                    rois: Sequence[Roi], opacity: float, colormap: str, stretch: bool) -> str:
    result = item.result
    prov = result.provenance
    mask = result.heatmap >= item.threshold
    weights = prov.get("weights_sha256") or {}
    weights_html = "<br>".join(f"{_e(k)}:<br>{hash_html(str(v))}" for k, v in weights.items()) \
        or "none (no learned weights)"
    params = ", ".join(f"{k}={v}" for k, v in (prov.get("parameters") or {}).items()) or "none"
    if not prov.get("trained"):
        status = "NOT TRAINED"
    else:
        status = "trained weights" if weights else "no learned weights"
    if prov.get("baseline"):
        status += ", baseline"
    pairs = [
        ("Detector", f"{prov.get('detector_name', result.detector_id)} ({result.detector_id}), {status}"),
        ("Paper", prov.get("reference", "")),
        ("Version", prov.get("detector_version", "")),
        ("Parameters", params),
    ]
    after = [
        ("Device", result.device),
        ("Run time", f"{sum(result.timings.values()):.2f} s"),
        ("Image score", f"{result.score:.4f}"),
        ("False-alarm rate", false_alarm_sentence(result)),
        ("Verdict", verdict(result).text),
        ("Calibration", calibration_text(result)),
        ("Threshold used", f"{item.threshold:.4f} (default {result.threshold:.4f}{threshold_origin(result)})"),
        ("Flagged pixels", f"{100.0 * float(mask.mean()):.2f}% of the image"),
    ]
    description, limitations = _detector_text(result.detector_id)
    title = item.label or f"Result {index}: {result.detector_id}"
    parts = [f"<h2>{_e(title)}</h2>",
             f"<table cellpadding='2'>{_rows(pairs)}{_html_rows([('Weights SHA-256', weights_html)])}"
             f"{_rows(after)}</table>"]
    if description:
        parts.append(f"<p><b>What this detector looks for.</b> {_e(description)}</p>")
    if limitations:
        parts.append(f"<p><b>Limitations of this detector.</b> {_e(limitations)}</p>")
    value_range, scale = colour_range(result.heatmap, stretch)
    parts.append(_figure(with_colour_bar(overlay(base, result.heatmap, opacity, colormap, value_range), colormap,
                                         value_range),
                         f"Heatmap ({colormap} colour map, {scale}) over the original, opacity {opacity:.2f}; "
                         "its colour bar below"))
    parts.append(_figure(draw_rois(outline(base, mask, thickness=_line_width(base.shape)), rois),
                         "Mask outline (red) at the threshold used, with the regions of interest"))
    parts.append(_figure(histogram_picture(result.heatmap, item.threshold),
                         "Histogram of the heatmap: threshold used (red), Otsu's threshold (dashed blue)", 520))
    fusion_html = fusion_section_html(result, colormap, png_data_uri)
    parts.append(fusion_html or class_map_pictures(result, colormap))  # a fusion result's maps are its members'
    parts.append(class_summary_table(result))
    parts.append(clone_pairs_section_html(result.extra, base, _figure))
    parts.append("<h3>Regions of interest</h3>")
    parts.append(roi_table_html(roi_table(rois, result.heatmap, item.threshold)))
    return "".join(parts)


def bookmark_picture(base: np.ndarray, item: BookmarkItem, rois: Sequence[Roi]) -> np.ndarray:
    """The view a bookmark saved: its mode, threshold and opacity, the visible ROIs, cropped to its zoom."""
    bookmark, result = item.bookmark, item.result
    visible = [roi for roi in rois if roi.name in bookmark.visible_rois]
    picture, value_range = base, None
    if result is not None and bookmark.mode == "heatmap":
        value_range = (0.0, 1.0)
        picture = overlay(base, result.heatmap, bookmark.opacity, bookmark.colormap, value_range)
    elif result is not None and bookmark.mode == "mask":
        mask = (result.heatmap >= bookmark.threshold)[..., None]
        red = np.array([255, 40, 40], np.float32)
        blended = np.where(mask, (1 - bookmark.opacity) * base + bookmark.opacity * red, base)
        picture = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    elif result is not None and bookmark.mode == "outline":
        picture = outline(base, result.heatmap >= bookmark.threshold, thickness=_line_width(base.shape))
    picture = draw_rois(picture, visible)
    if bookmark.zoom is not None:
        height, width = picture.shape[:2]
        x0, y0, x1, y1 = bookmark.zoom
        c0, c1 = int(np.clip(np.floor(min(x0, x1)), 0, width - 1)), int(np.clip(np.ceil(max(x0, x1)), 1, width))
        r0, r1 = int(np.clip(np.floor(min(y0, y1)), 0, height - 1)), int(np.clip(np.ceil(max(y0, y1)), 1, height))
        if c1 > c0 and r1 > r0:
            picture = picture[r0:r1, c0:c1]
            factor = BOOKMARK_PICTURE_SIDE // max(picture.shape[:2])
            if factor > 1:  # enlarge a small crop pixel for pixel, so that its pixels stay visible
                picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    if value_range is not None:
        picture = with_colour_bar(picture, bookmark.colormap, value_range)
    return picture


def _bookmark_section(items: Sequence[BookmarkItem], base: np.ndarray, rois: Sequence[Roi]) -> str:
    if not items:
        return ""
    parts = ["<h2 style='page-break-before: always'>Bookmarked views</h2><p>In the order the examiner chose.</p>"]
    for number, item in enumerate(items, start=1):
        b = item.bookmark
        what = f"{item.result.detector_id} result" if item.result is not None else "the original"
        zoom = (f"x {_fmt(min(b.zoom[0], b.zoom[2]))}-{_fmt(max(b.zoom[0], b.zoom[2]))}, "
                f"y {_fmt(min(b.zoom[1], b.zoom[3]))}-{_fmt(max(b.zoom[1], b.zoom[3]))}") if b.zoom else "whole image"
        details = (f"{what}, {b.mode} view, threshold {b.threshold:.3f}, opacity {b.opacity:.2f}, {b.colormap}; "
                   f"zoom {zoom}; ROIs shown: {', '.join(b.visible_rois) or 'none'}; saved {b.created}")
        picture = png_data_uri(bookmark_picture(base, item, rois))
        parts.append(_kept_together(f"Bookmark {number}: {b.caption}",
                                    f"<img src='{picture}' width='560'><br><i>{_e(details)}</i>"))
    return "".join(parts)


def _audit_section(entries: Sequence[Mapping[str, Any]]) -> str:
    if not entries:
        return ""
    rows = []
    for entry in entries:
        details = entry.get("details") or {}
        text = "; ".join(f"{k}: {v}" for k, v in details.items()) if isinstance(details, dict) else str(details)
        rows.append(f"<tr><td align='right'>{_e(entry.get('seq', ''))}</td><td>{_e(entry.get('time', ''))}</td>"
                    f"<td>{_e(entry.get('action', ''))}</td><td><small>{_e(text if len(text) <= 300 else text[:300] + '…')}</small></td>"
                    f"<td><tt>{_e(str(entry.get('hash', ''))[:16])}</tt></td></tr>")
    return ("<h2>Audit trail of the case</h2><p>Each entry is chained to the previous one by its SHA-256 "
            "(<tt>tamper-workbench case verify CASE</tt> re-checks the chain); the export of this report is the "
            "next entry and records this file's SHA-256, also written beside it in <tt>.sha256</tt>.</p>"
            "<table border='1' cellspacing='0' cellpadding='2'><tr><th>#</th><th>Time</th><th>Action</th>"
            f"<th>Details</th><th>Hash (first 16)</th></tr>{''.join(rows)}</table>")


def _software_section(items: Sequence[ReportItem]) -> str:
    versions = dict(library_versions())
    for item in items:  # the versions a result was computed with win over today's
        versions.update(item.result.provenance.get("libraries") or {})
    listed = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    return (f"<h2>Software</h2><p>{_e(software_description())}.</p><p>Libraries: {_e(listed)}.</p>")


SIGNATURE_BLOCK = """<h2>Examiner's declaration</h2>
<p>I examined the file identified above and this report states my findings.</p>
<table cellpadding='8' width='100%'>
<tr><td width='50%'>Signature:<br><br>______________________________</td>
<td width='50%'>Date:<br><br>______________________________</td></tr>
<tr><td>Name: {name}</td><td>Organisation: {organisation}</td></tr>
</table>"""


def build_report_html(evidence: Evidence, items: Sequence[ReportItem], rois: Sequence[Roi], case: CaseInfo,
                      opacity: float = 0.5, colormap: str = "inferno", stretch: bool = False,
                      bookmarks: Sequence[BookmarkItem] = (), audit: Sequence[Mapping[str, Any]] = (),
                      now: datetime | None = None) -> str:
    """The full report as one HTML document with embedded pictures.

    ``opacity``, ``colormap`` and ``stretch`` (colours over each map's own range rather than the
    fixed 0 to 1 scale) match what the examiner saw; the caption of each overlay states the scale
    and a colour bar sits under every map. ``bookmarks`` are pictured in the order given;
    ``audit`` is the case's audit trail so far; ``now`` the report time (default: now, local
    time zone).

    The evidence file is re-hashed first; when it changed since loading, ``EvidenceError`` is
    raised and no report is produced.
    """
    evidence.verify_unchanged()
    stamp = now if now is not None and now.tzinfo is not None else (now or datetime.now()).astimezone()
    written = f"{stamp.isoformat(timespec='seconds')} ({stamp.tzname() or 'local time'})"
    base = display_rgb(evidence)
    header = [
        ("Case number", case.case_number or "(none)"),
        ("Examiner", case.examiner or "(none)"),
        ("Organisation", case.organisation or "(none)"),
        ("Report date and time", written),
    ]
    identity = [
        ("File name", evidence.path.name),
        ("Path when examined", str(evidence.path)),
        ("File size", f"{evidence.file_size:,} bytes"),
        ("Format", f"{evidence.format}, {evidence.width} x {evidence.height} px, {evidence.bit_depth}-bit, "
                   f"mode {evidence.original_mode}"),
    ]
    if evidence.jpeg is not None:
        quality = f"{evidence.jpeg.quality:.0f}" if evidence.jpeg.quality is not None else "not IJG-like"
        identity.append(("JPEG", f"quality estimate {quality}, subsampling {evidence.jpeg.subsampling}, "
                                 f"{'progressive' if evidence.jpeg.progressive else 'baseline'}"))
        identity.append(("JPEG quantisation tables", table_family(evidence.jpeg)))
    identity += [("Editing software", warning) for warning in editing_software_warnings(evidence.metadata)]
    hashes = [("SHA-256", hash_html(evidence.sha256)), ("MD5", hash_html(evidence.md5))]
    meta = list(evidence.metadata)
    exif = _rows(meta[:EXIF_SUMMARY_ROWS]) if meta else "<tr><td>No metadata in the file.</td></tr>"
    more = f"<p>{len(meta) - EXIF_SUMMARY_ROWS} further metadata rows are not listed.</p>" \
        if len(meta) > EXIF_SUMMARY_ROWS else ""
    notes = "".join(f"<li>{_e(n)}</li>" for n in evidence.notes)
    sections = "".join(_result_section(i, item, base, rois, opacity, colormap, stretch)
                       for i, item in enumerate(items, start=1))
    case_notes = _e(case.notes).replace("\n", "<br>") if case.notes else "(none)"
    signature = SIGNATURE_BLOCK.format(name=_e(case.examiner or "____________________"),
                                       organisation=_e(case.organisation or "____________________"))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tamper Workbench report {_e(evidence.path.name)}</title>
<meta name="case-number" content="{_e(case.case_number)}"><meta name="author" content="{_e(case.examiner)}">
<meta name="evidence-sha256" content="{evidence.sha256}"><meta name="evidence-md5" content="{evidence.md5}">
<style>body {{ font-family: sans-serif; font-size: 10pt; }} th {{ background: #eeeeee; }}
td, th {{ vertical-align: top; }} .verified {{ color: #006400; font-weight: bold; }}
tt {{ font-family: monospace; }}</style></head>
<body>
<h1>Tamper Workbench examination report</h1>
<table cellpadding='2'>{_rows(header)}</table>
<h2>Evidence</h2>
<table cellpadding='2'>{_rows(identity)}{_html_rows(hashes)}</table>
<p class='verified'><font color='#006400'>Hash re-verified at export time: the SHA-256 of {_e(evidence.path.name)}
was recomputed from the file on disk at {_e(written)} and matches the hash taken when it was loaded.</font></p>
<h3>Examiner's notes</h3><p>{case_notes}</p>
{f"<h3>Loading notes</h3><ul>{notes}</ul>" if notes else ""}
<h3>EXIF and metadata summary</h3><table cellpadding='2'>{exif}</table>{more}
{_kept_together("Original", _figure(base, f"{evidence.path.name} as loaded ({evidence.width} x {evidence.height} px)"))}
{sections if items else "<p>No detector result is included in this report.</p>"}
{_bookmark_section(bookmarks, base, rois)}
<h2>What the heatmap means</h2><p>{_e(HEATMAP_MEANING)}</p>
<h2>Known limitations</h2><p>{_e(GENERAL_LIMITATIONS)}</p>
{_audit_section(audit)}
{_software_section(items)}
<p>Pictures are shrunk to at most {REPORT_PICTURE_SIDE} pixels on their longest side; the analysis used the
full-resolution image.</p>
{signature}
</body></html>
"""


def check_report_path(path: str | os.PathLike[str], evidence: Evidence) -> Path:
    """Refuse to write a derived file over the evidence file itself."""
    target = Path(path)
    if target.resolve() == evidence.path.resolve():
        raise ForensicsError(f"Refusing to write over the evidence file {evidence.path}.")
    return target


def pdf_header(case: CaseInfo, evidence: Evidence) -> str:
    """The line printed at the top of every PDF page: case, file and the start of its SHA-256."""
    return (f"Case {case.case_number or '(none)'} · {evidence.path.name} · SHA-256 {evidence.sha256[:16]}… · "
            "Tamper Workbench report")


def pdf_title(evidence: Evidence) -> str:
    """The PDF's Title."""
    return f"Tamper Workbench report: {evidence.path.name}"


def pdf_subject(evidence: Evidence) -> str:
    """The PDF's Subject: which file, by its full SHA-256."""
    return f"Examination of {evidence.path.name} (SHA-256 {evidence.sha256})"


@dataclass(frozen=True)
class WrittenReport:
    """A report file on disk, its SHA-256 and the ``.sha256`` file beside it."""

    path: Path
    sha256: str
    checksum_path: Path


def write_report_file(path: str | os.PathLike[str], data: bytes, evidence: Evidence) -> WrittenReport:
    """Write report bytes atomically and ``<name>.sha256`` beside them (``sha256sum -c`` checks it)."""
    target = check_report_path(path, evidence)
    digest = hashlib.sha256(data).hexdigest()
    written = write_bytes_atomic(target, data)
    checksum = write_text_atomic(target.with_name(target.name + ".sha256"), f"{digest}  {target.name}\n")
    return WrittenReport(written, digest, checksum)


def write_report_html(path: str | os.PathLike[str], evidence: Evidence, items: Sequence[ReportItem],
                      rois: Sequence[Roi], case: CaseInfo, opacity: float = 0.5, colormap: str = "inferno") -> Path:
    """Build the report (re-verifying the evidence hash) and write it atomically to ``path``."""
    html_text = build_report_html(evidence, items, rois, case, opacity, colormap)
    return write_report_file(path, html_text.encode("utf-8"), evidence).path
