"""The report's section on a fusion result: the sentence over the members, each member's score,
false-alarm rate and small map side by side, and each member's known limitations.

Like :mod:`forensics_core.report_clone_pairs`, it is given the report's picture encoder, so that
pictures are written the same way in every section.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np

from forensics_core.detectors.base import Result
from forensics_core.fusion.summary import is_fusion_result, member_rows, members_sentence
from forensics_core.render import colorize

#: Longer side of each member's map in the report, in pixels.
MEMBER_MAP_SIDE = 160
MAPS_PER_ROW = 4


def _limitations(member: str) -> str:
    from forensics_core.detectors import get_detector
    from forensics_core.errors import ForensicsError

    try:
        return " ".join(get_detector(member).limitations)
    except ForensicsError:
        return ""


def fusion_section_html(result: Result, colormap: str, picture_uri: Callable[[np.ndarray, int], str]) -> str:
    """HTML of the members of a fusion ``result`` ('' for any other result).

    ``picture_uri(rgb, max_side)`` encodes a picture for the report.
    """
    if not is_fusion_result(result):
        return ""
    rows = member_rows(result)
    e = html.escape
    table = "".join(
        f"<tr><td>{e(row.member)}</td><td>{e(row.obtained)}</td>"
        f"<td align='right'>{'-' if row.score is None else f'{row.score:.4f}'}</td>"
        f"<td>{e(row.rate_text())}{' (suspicious)' if row.suspicious else ''}</td></tr>" for row in rows)
    cells = []
    for row in rows:
        if row.heatmap is None:
            continue
        step = max(1, int(np.ceil(max(row.heatmap.shape) / MEMBER_MAP_SIDE)))
        picture = colorize(np.asarray(row.heatmap, np.float32)[::step, ::step], colormap)
        cells.append(f"<td align='center'><img src='{picture_uri(picture, MEMBER_MAP_SIDE)}' "
                     f"width='{MEMBER_MAP_SIDE}'><br><i>{e(row.member)}: {e(row.rate_text())}</i></td>")
    grid = "".join("<tr>" + "".join(cells[i:i + MAPS_PER_ROW]) + "</tr>" for i in range(0, len(cells), MAPS_PER_ROW))
    limitations = "".join(f"<li><b>{e(row.member)}</b>: {e(_limitations(row.member))}</li>" for row in rows)
    return (f"<h3>Detectors combined</h3><p>{e(members_sentence(result))}</p>"
            "<table border='1' cellspacing='0' cellpadding='3'><tr><th>detector</th><th>result</th>"
            f"<th>image score</th><th>false-alarm rate</th></tr>{table}</table>"
            f"<p>Each detector's map (0 = dark, 1 = bright, {e(colormap)} colour map):</p>"
            f"<table cellpadding='3'>{grid}</table>"
            f"<p><b>Limitations of the combined detectors.</b></p><ul>{limitations}</ul>")
