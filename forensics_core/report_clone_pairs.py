"""The copy-move section of a report: the matched pairs drawn over the picture, and their table.

Reads the pairs that the ``copy-move`` detector lists in ``Result.extra["pairs"]`` (see
:class:`forensics_core.features.copy_move_regions.ClonePair`); a result without pairs adds nothing.
"""

from __future__ import annotations

import html
from typing import Any, Mapping

import cv2
import numpy as np

from forensics_core.features.copy_move_regions import ClonePair

#: RGB colours: the source of a directed pair, its copy, and both ends of an undirected pair.
SOURCE_COLOUR = (40, 200, 60)
TARGET_COLOUR = (230, 40, 40)
PAIR_COLOUR = (255, 160, 0)


def clone_pairs(extra: Mapping[str, Any]) -> list[ClonePair]:
    """The pairs listed in a result's ``extra`` (none for other detectors)."""
    return [ClonePair.from_dict(item) for item in extra.get("pairs", ())]


def pair_colours(pair: ClonePair) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """Colours of the source box, the copy box and the arrow of ``pair``."""
    if pair.direction == "pair":
        return PAIR_COLOUR, PAIR_COLOUR, PAIR_COLOUR
    return SOURCE_COLOUR, TARGET_COLOUR, TARGET_COLOUR


def draw_clone_pairs(picture: np.ndarray, pairs: list[ClonePair]) -> np.ndarray:
    """A copy of the RGB ``picture`` with each pair's boxes, numbered, and an arrow from the source's
    centre to the copy's centre (a line with arrow heads at both ends for undirected pairs)."""
    out = np.ascontiguousarray(picture.copy())
    thickness = max(2, round(max(out.shape[:2]) / 400))
    for number, pair in enumerate(pairs, start=1):
        source_colour, target_colour, line_colour = pair_colours(pair)
        centres = []
        for box, colour in zip((pair.source_box, pair.target_box), (source_colour, target_colour)):
            x0, y0, x1, y1 = box
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, thickness)
            cv2.putText(out, str(number), (x0 + thickness, max(y0 - 2 * thickness, 12 * thickness)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour, thickness)
            centres.append(((x0 + x1) // 2, (y0 + y1) // 2))
        start, end = centres
        cv2.arrowedLine(out, start, end, line_colour, thickness, tipLength=0.06)
        if pair.direction == "pair":
            cv2.arrowedLine(out, end, start, line_colour, thickness, tipLength=0.06)
    return out


def clone_pairs_table_html(pairs: list[ClonePair]) -> str:
    """The pairs as an HTML table (boxes as x0-x1, y0-y1 in image pixels)."""
    head = ("<tr><th>#</th><th>Direction</th><th>Source box</th><th>Copy box</th><th>Shift (px)</th>"
            "<th>Rotation</th><th>Scale</th><th>Mirror</th><th>Matches</th><th>Correlation</th><th>Found by</th></tr>")

    def box(b: tuple[int, int, int, int]) -> str:
        return f"x {b[0]}-{b[2]}, y {b[1]}-{b[3]}"

    body = "".join(
        f"<tr><td>{n}</td><td>{'source &rarr; copy' if p.direction != 'pair' else 'pair (undirected)'}</td>"
        f"<td>{box(p.source_box)}</td><td>{box(p.target_box)}</td>"
        f"<td>({p.shift[0]:.1f}, {p.shift[1]:.1f})</td><td>{p.rotation_deg:.1f}&deg;</td><td>{p.scale:.3f}</td>"
        f"<td>{'yes' if p.mirror else 'no'}</td><td align='right'>{p.matches}</td>"
        f"<td align='right'>{p.correlation:.3f}</td><td>{html.escape(p.method)}</td></tr>"
        for n, p in enumerate(pairs, start=1))
    return f"<table border='1' cellspacing='0' cellpadding='3'>{head}{body}</table>"


def clone_pairs_section_html(extra: Mapping[str, Any], base: np.ndarray, figure) -> str:
    """The report section of the matched pairs ('' without pairs); ``figure(picture, caption)``
    renders a picture as the report renders its other figures."""
    pairs = clone_pairs(extra)
    if not pairs:
        return ""
    caption = ("Matched regions: green = source, red = copy, arrow from source to copy; orange = a pair "
               "whose direction could not be told. Numbers refer to the table.")
    return ("<h3>Matched regions (copy-move pairs)</h3>" + figure(draw_clone_pairs(base, pairs), caption)
            + clone_pairs_table_html(pairs)
            + "<p><small>Shift: displacement of the source's centre by the transform. Rotation counter-clockwise "
              "as displayed; a mirrored pair is flipped left-right before rotation and scaling. Matches: "
              "keypoint correspondences (keypoint search) or sampled pixels (dense search).</small></p>")
