"""An ordered series of a result's extra maps that the examiner steps through (e.g. one per quality).

A detector that produces a family of maps indexed by a parameter (JPEG ghosts: one map per
recompression quality) declares their order in ``Analysis.extra`` with :func:`declare_map_series`;
the GUI reads it back with :func:`map_series` and shows a slider over the maps. Extra maps that
are not in a series are shown as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

#: The key of ``Result.extra`` under which the series is declared.
MAP_SERIES_KEY = "map_series"


@dataclass(frozen=True)
class MapSeries:
    """Extra-map names in order, the quantity they vary over, and each map's value of it."""

    label: str
    names: tuple[str, ...]
    values: tuple[str, ...]
    selected: int


def declare_map_series(label: str, names: Sequence[str], values: Sequence[Any], selected: int = 0) -> dict[str, Any]:
    """The JSON-ready entry to store as ``extra[MAP_SERIES_KEY]``.

    ``names`` are keys of the result's ``extra_maps`` in slider order; ``values`` label each
    step (for example the quality 75); ``selected`` is the step the detector recommends.
    """
    if len(names) != len(values) or not names:
        raise ValueError("a map series needs one value per map and at least one map")
    return {"label": label, "names": list(names), "values": [str(v) for v in values],
            "selected": int(min(max(selected, 0), len(names) - 1))}


def map_series(extra: Mapping[str, Any], extra_maps: Mapping[str, Any]) -> MapSeries | None:
    """The series declared in ``extra``, keeping only maps present in ``extra_maps``; None if none."""
    entry = extra.get(MAP_SERIES_KEY)
    if not isinstance(entry, Mapping):
        return None
    pairs = [(str(n), str(v)) for n, v in zip(entry.get("names", ()), entry.get("values", ())) if n in extra_maps]
    if not pairs:
        return None
    selected = int(entry.get("selected", 0)) if str(entry.get("selected", 0)).lstrip("-").isdigit() else 0
    return MapSeries(label=str(entry.get("label", "")), names=tuple(n for n, _ in pairs),
                     values=tuple(v for _, v in pairs), selected=min(max(selected, 0), len(pairs) - 1))
