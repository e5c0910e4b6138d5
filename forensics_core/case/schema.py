"""A small, strict schema language for case documents, and the case schema itself.

Case folders travel between examiners and may be hostile (see the project's issue on untrusted
input), so a case document is checked field by field before anything in it is used: every key is
known, every string is bounded, every number is finite and in range, every list is bounded, and
file names that point into the case folder have a fixed, harmless shape. A failure names the
field (``evidence[2].runs[0].threshold``) and what was wrong with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from forensics_core.errors import ForensicsError


class CaseFormatError(ForensicsError):
    """A case file is malformed, hostile or from an unknown version; nothing of it was opened."""


class Spec:
    """A rule for one JSON value; :meth:`check` raises :class:`CaseFormatError` naming ``where``."""

    def check(self, value: Any, where: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _fail(where: str, what: str) -> None:
    raise CaseFormatError(f"Case file field '{where or 'document'}' {what}.")


@dataclass(frozen=True)
class Str(Spec):
    """A string of at most ``max_length`` characters, optionally matching ``pattern`` in full."""

    max_length: int = 10_000
    pattern: str | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            _fail(where, f"must be text, not {type(value).__name__}")
        if len(value) > self.max_length:
            _fail(where, f"is longer than {self.max_length} characters")
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            _fail(where, f"has an invalid form ({value[:80]!r})")
        if self.choices and value not in self.choices:
            _fail(where, f"must be one of {', '.join(self.choices)}, not {value[:40]!r}")


@dataclass(frozen=True)
class Num(Spec):
    """A finite number (NaN and infinities are refused) in ``[low, high]``."""

    low: float = -1e12
    high: float = 1e12
    integer: bool = False

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(where, f"must be a number, not {type(value).__name__}")
        if self.integer and not isinstance(value, int):
            _fail(where, "must be a whole number")
        if not math.isfinite(value):
            _fail(where, "must be a finite number (NaN and infinity are refused)")
        if not self.low <= value <= self.high:
            _fail(where, f"must lie between {self.low:g} and {self.high:g}, not {value:g}")


def Int(low: int = -(2**53), high: int = 2**53) -> Num:  # noqa: N802 (reads like a type in a schema)
    """A whole number in ``[low, high]``."""
    return Num(low, high, integer=True)


@dataclass(frozen=True)
class Bool(Spec):
    """``true`` or ``false``."""

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, bool):
            _fail(where, f"must be true or false, not {type(value).__name__}")


@dataclass(frozen=True)
class Nullable(Spec):
    """``null`` or a value matching ``inner``."""

    inner: Spec

    def check(self, value: Any, where: str) -> None:
        if value is not None:
            self.inner.check(value, where)


@dataclass(frozen=True)
class List(Spec):
    """A list of at most ``max_items`` values, each matching ``item`` (exactly ``length`` if given)."""

    item: Spec
    max_items: int = 10_000
    length: int | None = None

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, list):
            _fail(where, f"must be a list, not {type(value).__name__}")
        if self.length is not None and len(value) != self.length:
            _fail(where, f"must hold exactly {self.length} values")
        if len(value) > self.max_items:
            _fail(where, f"holds more than {self.max_items} entries")
        for i, element in enumerate(value):
            self.item.check(element, f"{where}[{i}]")


@dataclass(frozen=True)
class Obj(Spec):
    """A JSON object with exactly the ``required`` keys plus any of the ``optional`` ones."""

    required: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            _fail(where, f"must be an object, not {type(value).__name__}")
        prefix = f"{where}." if where else ""
        for key in value:
            if key not in self.required and key not in self.optional:
                _fail(f"{prefix}{key}", "is not a field of this case format")
        for key, spec in self.required.items():
            if key not in value:
                _fail(f"{prefix}{key}", "is missing")
            spec.check(value[key], prefix + key)
        for key, spec in self.optional.items():
            if key in value:
                spec.check(value[key], prefix + key)


@dataclass(frozen=True)
class Dict(Spec):
    """An object with free keys (bounded text) whose values match ``value``."""

    value: Spec
    max_items: int = 1_000

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            _fail(where, f"must be an object, not {type(value).__name__}")
        if len(value) > self.max_items:
            _fail(where, f"holds more than {self.max_items} entries")
        for key, element in value.items():
            Str(200).check(key, f"{where} key")
            self.value.check(element, f"{where}.{key}")


@dataclass(frozen=True)
class Json(Spec):
    """Free JSON data (detector figures, provenance) bounded in depth and size, numbers finite."""

    max_depth: int = 8
    max_nodes: int = 100_000

    def check(self, value: Any, where: str) -> None:
        budget = [self.max_nodes]
        self._walk(value, where, 0, budget)

    def _walk(self, value: Any, where: str, depth: int, budget: list[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            _fail(where, f"holds more than {self.max_nodes} values")
        if depth > self.max_depth:
            _fail(where, f"is nested deeper than {self.max_depth} levels")
        if value is None or isinstance(value, (bool, str)):
            if isinstance(value, str) and len(value) > 100_000:
                _fail(where, "holds a text longer than 100000 characters")
            return
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                _fail(where, "must be a finite number (NaN and infinity are refused)")
            return
        if isinstance(value, list):
            for i, element in enumerate(value):
                self._walk(element, f"{where}[{i}]", depth + 1, budget)
            return
        if isinstance(value, dict):
            for key, element in value.items():
                self._walk(element, f"{where}.{key}", depth + 1, budget)
            return
        _fail(where, f"holds a value of type {type(value).__name__}")


#: Names of files inside the case folder: one or two plain path segments of safe characters,
#: never absolute, never ``..``, never hidden.
CASE_FILE_NAME = r"(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
SHA256_HEX = r"[0-9a-f]{64}"
IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)"
COLOUR = r"#[0-9a-fA-F]{6}"
COORD = Num(-1e7, 1e7)
VIEW_MODES = ("original", "heatmap", "mask", "outline")

ROI = Obj(
    {"name": Str(200), "colour": Str(7, COLOUR), "note": Str(10_000), "kind": Str(choices=("rect", "ellipse", "polygon"))},
    {"x": COORD, "y": COORD, "width": Num(0, 1e7), "height": Num(0, 1e7),
     "points": List(List(COORD, length=2), max_items=100_000)},
)
MAP_SCALE = Obj({"name": Str(200), "low": Num(-1e30, 1e30), "high": Num(-1e30, 1e30)})
MAPS = Obj({
    "file": Str(201, CASE_FILE_NAME), "sha256": Str(64, SHA256_HEX),
    "height": Int(1, 1_000_000), "width": Int(1, 1_000_000),
    "heatmap": Str(choices=("float16",)), "extra_maps": List(MAP_SCALE, 256),
})
#: ``Result.per_class`` (:class:`forensics_core.detectors.base.ClassMapSummary.to_json` of each class).
CLASS_SUMMARY = Obj({
    "map": Str(200), "histogram": Obj({"counts": List(Int(0, 10**12), 4_096), "edges": List(Num(), 4_097)}),
    "otsu_threshold": Num(), "bimodality": Num(), "kept": Bool(), "confidence": Nullable(Num()),
    "mean_probability": Num(),
})
RUN = Obj({
    "id": Str(64, IDENTIFIER), "detector_id": Str(64, IDENTIFIER), "score": Num(), "threshold": Num(0.0, 1.0),
    "detector_threshold": Num(0.0, 1.0), "extra": Json(), "timings": Dict(Num(0, 1e9)), "device": Str(100),
    "provenance": Json(), "maps": MAPS,
}, optional={"per_class": Dict(CLASS_SUMMARY, 64), "false_alarm_rate": Nullable(Num(0.0, 1.0)), "calibration": Json()})
BOOKMARK = Obj({
    "caption": Str(2_000), "run_id": Nullable(Str(64, IDENTIFIER)), "mode": Str(choices=VIEW_MODES),
    "threshold": Num(0.0, 1.0), "opacity": Num(0.0, 1.0), "colormap": Str(40, IDENTIFIER),
    "zoom": Nullable(List(COORD, length=4)), "visible_rois": List(Str(200), 10_000), "created": Str(40, TIMESTAMP),
})
EVIDENCE = Obj({
    "id": Str(64, IDENTIFIER), "path": Str(4_096), "sha256": Str(64, SHA256_HEX), "copied": Bool(),
    "notes": Str(100_000), "runs": List(RUN, 1_000), "rois": List(ROI, 10_000), "bookmarks": List(BOOKMARK, 10_000),
})
CASE_DOCUMENT = Obj({
    "format": Str(choices=("tamper-workbench-case",)), "version": Int(2, 2), "created": Str(40, TIMESTAMP),
    "case": Obj({"case_number": Str(200), "examiner": Str(200), "organisation": Str(200), "notes": Str(100_000)}),
    "evidence": List(EVIDENCE, 10_000),
    "current": Obj({"evidence": Int(-1, 10_000), "run": Int(-1, 1_000)}),
    "view": Obj({"mode": Str(choices=VIEW_MODES), "opacity": Num(0.0, 1.0), "colormap": Str(40, IDENTIFIER),
                 "stretch": Bool()}),
    "audit": Obj({"entries": Int(0, 10**9), "head": Str(64, SHA256_HEX)}),
})


def validate_case_document(document: Any) -> None:
    """Check a parsed ``case.json`` against :data:`CASE_DOCUMENT` and its cross-references.

    Raises :class:`CaseFormatError` naming the first offending field.
    """
    if isinstance(document, dict) and document.get("format") == 1 and "image_path" in document:
        raise CaseFormatError(
            "This is a single-image case file of an earlier version of the workbench (format 1). It is not "
            "opened, because that format could refer to files outside its folder; open the image again and "
            "save a new case folder.")
    CASE_DOCUMENT.check(document, "")
    ids = set()
    for i, entry in enumerate(document["evidence"]):
        if entry["id"] in ids:
            _fail(f"evidence[{i}].id", "repeats another evidence id")
        ids.add(entry["id"])
        runs = {run["id"] for run in entry["runs"]}
        if len(runs) != len(entry["runs"]):
            _fail(f"evidence[{i}].runs", "repeat a run id")
        for j, roi in enumerate(entry["rois"]):
            needed = ("points",) if roi["kind"] == "polygon" else ("x", "y", "width", "height")
            for key in needed:
                if key not in roi:
                    _fail(f"evidence[{i}].rois[{j}].{key}", f"is missing for a {roi['kind']}")
        for j, bookmark in enumerate(entry["bookmarks"]):
            if bookmark["run_id"] is not None and bookmark["run_id"] not in runs:
                _fail(f"evidence[{i}].bookmarks[{j}].run_id", "names a run that is not in the case")
    current = document["current"]
    if current["evidence"] >= len(document["evidence"]):
        _fail("current.evidence", "points past the last evidence file")
    if current["evidence"] >= 0 and current["run"] >= len(document["evidence"][current["evidence"]]["runs"]):
        _fail("current.run", "points past the last run of that evidence file")
