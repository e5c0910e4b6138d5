"""The examiner's report: pictures of results and a self-contained HTML document.

The HTML embeds every picture as a PNG data URI, so one file carries the whole report; the GUI
turns the same HTML into a PDF. The evidence file is re-hashed at export time and a report is
refused when the file changed since it was loaded.

This module never imports Qt.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from forensics_core import __version__
from forensics_core.atomic import write_text_atomic
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.postprocess import histogram, otsu_threshold
from forensics_core.render import outline, overlay, to_uint8_rgb, with_colour_bar
from forensics_core.roi import Ellipse, Polygon, Roi, RoiRow, roi_table

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


@dataclass(frozen=True)
class CaseInfo:
    """What the examiner types into the report: case number, name, free notes."""

    case_number: str = ""
    examiner: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ReportItem:
    """One result to include, with the threshold the examiner settled on."""

    result: Result
    threshold: float
    label: str = ""


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


def _figure(picture: np.ndarray, caption: str, width: int = 640) -> str:
    return (f"<p><img src='{png_data_uri(picture)}' width='{width}'><br>"
            f"<i>{_e(caption)}</i></p>")


def roi_table_html(rows: Sequence[RoiRow]) -> str:
    """The ROI table as an HTML table (empty string when there are no ROIs)."""
    if not rows:
        return "<p>No regions of interest were drawn.</p>"
    head = ("<tr><th>ROI</th><th>Shape</th><th>Area (px)</th><th>Area (%)</th><th>Mean</th>"
            "<th>Max</th><th>Above threshold</th><th>Note</th></tr>")
    body = "".join(
        f"<tr><td><font color='{_e(r.roi.colour)}'>&#9632;</font> {_e(r.roi.name)}</td>"
        f"<td>{_e(r.roi.geometry.kind)}</td><td align='right'>{r.stats.area_px}</td>"
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


def _result_section(index: int, item: ReportItem, base: np.ndarray,
                    rois: Sequence[Roi], opacity: float, colormap: str, stretch: bool) -> str:
    result = item.result
    prov = result.provenance
    mask = result.heatmap >= item.threshold
    weights = prov.get("weights_sha256") or {}
    weights_text = "; ".join(f"{k}: {v}" for k, v in weights.items()) or "none (no learned weights)"
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
        ("Weights SHA-256", weights_text),
        ("Device", result.device),
        ("Run time", f"{sum(result.timings.values()):.2f} s"),
        ("Image score", f"{result.score:.4f}"),
        ("Threshold used", f"{item.threshold:.4f} (detector default {result.threshold:.4f})"),
        ("Flagged pixels", f"{100.0 * float(mask.mean()):.2f}% of the image"),
    ]
    description, limitations = _detector_text(result.detector_id)
    title = item.label or f"Result {index}: {result.detector_id}"
    parts = [f"<h2>{_e(title)}</h2>", f"<table cellpadding='2'>{_rows(pairs)}</table>"]
    if description:
        parts.append(f"<p><b>What this detector looks for.</b> {_e(description)}</p>")
    if limitations:
        parts.append(f"<p><b>Limitations of this detector.</b> {_e(limitations)}</p>")
    if stretch:
        value_range = (float(result.heatmap.min()), float(result.heatmap.max()))
        scale = f"colours stretched over this map's values: {value_range[0]:.2f} = dark, {value_range[1]:.2f} = bright"
    else:
        value_range, scale = (0.0, 1.0), "0 = dark, 1 = bright"
    parts.append(_figure(with_colour_bar(overlay(base, result.heatmap, opacity, colormap, value_range),
                                         colormap, value_range),
                         f"Heatmap ({colormap} colour map, {scale}) over the original, opacity {opacity:.2f}; "
                         "its colour bar below"))
    parts.append(_figure(draw_rois(outline(base, mask, thickness=_line_width(base.shape)), rois),
                         "Mask outline (red) at the threshold used, with the regions of interest"))
    parts.append(_figure(histogram_picture(result.heatmap, item.threshold),
                         "Histogram of the heatmap: threshold used (red), Otsu's threshold (dashed blue)", 520))
    parts.append("<h3>Regions of interest</h3>")
    parts.append(roi_table_html(roi_table(rois, result.heatmap, item.threshold)))
    return "".join(parts)


def build_report_html(evidence: Evidence, items: Sequence[ReportItem], rois: Sequence[Roi], case: CaseInfo,
                      opacity: float = 0.5, colormap: str = "inferno", stretch: bool = False) -> str:
    """The full report as one HTML document with embedded pictures.

    ``opacity``, ``colormap`` and ``stretch`` (colours over each map's own range rather than the
    fixed 0 to 1 scale) match what the examiner saw; the caption of each overlay states the scale.

    The evidence file is re-hashed first; when it changed since loading, ``EvidenceError`` is
    raised and no report is produced.
    """
    evidence.verify_unchanged()
    verified_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = display_rgb(evidence)
    identity = [
        ("Case number", case.case_number or "(none)"),
        ("Examiner", case.examiner or "(none)"),
        ("File name", evidence.path.name),
        ("File size", f"{evidence.file_size:,} bytes"),
        ("Format", f"{evidence.format}, {evidence.width} x {evidence.height} px, {evidence.bit_depth}-bit, "
                   f"mode {evidence.original_mode}"),
        ("SHA-256", evidence.sha256),
        ("MD5", evidence.md5),
    ]
    if evidence.jpeg is not None:
        quality = f"{evidence.jpeg.quality:.0f}" if evidence.jpeg.quality is not None else "not IJG-like"
        identity.append(("JPEG", f"quality estimate {quality}, subsampling {evidence.jpeg.subsampling}, "
                                 f"{'progressive' if evidence.jpeg.progressive else 'baseline'}"))
    meta = list(evidence.metadata)
    exif = _rows(meta[:EXIF_SUMMARY_ROWS]) if meta else "<tr><td>No metadata in the file.</td></tr>"
    more = f"<p>{len(meta) - EXIF_SUMMARY_ROWS} further metadata rows are not listed.</p>" \
        if len(meta) > EXIF_SUMMARY_ROWS else ""
    notes = "".join(f"<li>{_e(n)}</li>" for n in evidence.notes)
    sections = "".join(_result_section(i, item, base, rois, opacity, colormap, stretch)
                       for i, item in enumerate(items, start=1))
    case_notes = _e(case.notes).replace("\n", "<br>") if case.notes else "(none)"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tamper Workbench report {_e(evidence.path.name)}</title>
<style>body {{ font-family: sans-serif; font-size: 10pt; }} th {{ background: #eeeeee; }}
td, th {{ vertical-align: top; }} .verified {{ color: #006400; font-weight: bold; }}</style></head>
<body>
<h1>Tamper Workbench examination report</h1>
<table cellpadding='2'>{_rows(identity)}</table>
<p class='verified'><font color='#006400'>Hash re-verified at export time: the SHA-256 of {_e(evidence.path.name)}
was recomputed from the file on disk at {verified_at} and matches the hash taken when it was loaded
({evidence.sha256}).</font></p>
<h3>Examiner's notes</h3><p>{case_notes}</p>
{f"<h3>Loading notes</h3><ul>{notes}</ul>" if notes else ""}
<h3>EXIF and metadata summary</h3><table cellpadding='2'>{exif}</table>{more}
<h3>Original</h3>{_figure(base, f"{evidence.path.name} as loaded ({evidence.width} x {evidence.height} px)")}
{sections if items else "<p>No detector result is included in this report.</p>"}
<h2>What the heatmap means</h2><p>{_e(HEATMAP_MEANING)}</p>
<h2>Known limitations</h2><p>{_e(GENERAL_LIMITATIONS)}</p>
<hr><p>Tamper Workbench {__version__}; report written {verified_at} (UTC). Pictures are shrunk to at most
{REPORT_PICTURE_SIDE} pixels on their longest side; the analysis used the full-resolution image.</p>
</body></html>
"""


def check_report_path(path: str | os.PathLike[str], evidence: Evidence) -> Path:
    """Refuse to write a derived file over the evidence file itself."""
    target = Path(path)
    if target.resolve() == evidence.path.resolve():
        raise ForensicsError(f"Refusing to write over the evidence file {evidence.path}.")
    return target


def write_report_html(path: str | os.PathLike[str], evidence: Evidence, items: Sequence[ReportItem],
                      rois: Sequence[Roi], case: CaseInfo, opacity: float = 0.5, colormap: str = "inferno") -> Path:
    """Build the report (re-verifying the evidence hash) and write it atomically to ``path``."""
    target = check_report_path(path, evidence)
    return write_text_atomic(target, build_report_html(evidence, items, rois, case, opacity, colormap))
