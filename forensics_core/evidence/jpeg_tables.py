"""Quantisation tables as an encoder's fingerprint: known table sets and a reference comparison.

The quantisation tables of a JPEG are chosen by the software that wrote it, so they point to
that software or camera: H. Farid, "Digital image ballistics from JPEG quantization", Dartmouth
College TR2006-583, 2006 (a camera's tables rarely match another make's); J. D. Kornblum, "Using
JPEG quantization tables to identify imagery processed by software", Digital Investigation 5,
S21-S25, 2008 (editors such as Adobe Photoshop write fixed table sets of their own). Two checks
follow from them:

- :func:`matching_sets`: the table sets the workbench can name. Besides libjpeg's quality
  scaling (:mod:`forensics_core.evidence.jpeg`), these are the Adobe Photoshop settings as
  published by Pillow (``PIL.JpegPresets``, documented there as "JPEG quality settings equivalent
  to the Photoshop settings"; nine presets, so Photoshop's other quality levels are not named).
- :func:`compare_tables`: equality with a reference file the examiner trusts, for instance an
  original from the claimed camera model taken at the same settings. Camera makers do not
  publish their tables and many cameras scale them per picture, so a shipped camera catalogue
  could only ever be partial; a reference file is the check an examiner can defend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from forensics_core.evidence import Evidence

Tables = Mapping[int, Sequence[int]]


@dataclass(frozen=True)
class TableSet:
    """A named set of quantisation tables (table id -> 64 values in natural row-major order)."""

    name: str
    source: str
    tables: Mapping[int, tuple[int, ...]]


@lru_cache(maxsize=1)
def photoshop_presets() -> tuple[TableSet, ...]:
    """The nine Photoshop-equivalent presets of Pillow's ``JpegPresets`` (luminance, chrominance)."""
    from PIL import JpegPresets

    sets = []
    for name, preset in JpegPresets.presets.items():
        tables = {table_id: tuple(int(v) for v in values)
                  for table_id, values in enumerate(preset["quantization"])}
        sets.append(TableSet(name=f"Adobe Photoshop setting '{name}'",
                             source="Pillow JpegPresets (settings equivalent to Photoshop's)", tables=tables))
    return tuple(sets)


def _chroma_tables(tables: Tables) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in values) for table_id, values in sorted(tables.items()) if table_id != 0]


def matches(tables: Tables, table_set: TableSet) -> bool:
    """True when ``tables`` are those of ``table_set``.

    The luminance table (id 0) must be equal; every other table of the file must equal the set's
    chrominance table (encoders may store it once for Cb and Cr, or twice). A greyscale file
    (luminance only) matches on its luminance table.
    """
    luma = tables.get(0)
    if luma is None or tuple(int(v) for v in luma) != table_set.tables[0]:
        return False
    chroma = table_set.tables.get(1)
    return all(table == chroma for table in _chroma_tables(tables))


def matching_sets(tables: Tables, sets: Sequence[TableSet] | None = None) -> list[TableSet]:
    """The known table sets (default: :func:`photoshop_presets`) that ``tables`` equal."""
    candidates = photoshop_presets() if sets is None else sets
    return [table_set for table_set in candidates if matches(tables, table_set)]


def load_jpeg(path: str | Path, max_pixels: int | None = None) -> "Evidence":
    """``path`` loaded read-only like any evidence (:func:`~forensics_core.evidence.load_evidence`),
    refused with an :class:`~forensics_core.errors.EvidenceError` when it is not a JPEG (no tables)."""
    from forensics_core.errors import EvidenceError
    from forensics_core.evidence import DEFAULT_MAX_PIXELS, load_evidence

    loaded = load_evidence(path, max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
    if loaded.jpeg is None:
        raise EvidenceError(f"{loaded.path.name} is not a JPEG ({loaded.format}): it has no quantisation tables "
                            "to check.")
    return loaded


@dataclass(frozen=True)
class TableComparison:
    """How an evidence file's tables differ from a reference file's, table by table.

    ``differing_steps`` maps each table id present in both files to the number of its 64 steps
    that differ; ``largest_difference`` is the largest absolute step difference; ``only_in_evidence``
    and ``only_in_reference`` list table ids one file has and the other lacks.
    """

    differing_steps: Mapping[int, int]
    largest_difference: int
    only_in_evidence: tuple[int, ...]
    only_in_reference: tuple[int, ...]

    @property
    def identical(self) -> bool:
        """Same table ids and every step equal."""
        return (not any(self.differing_steps.values()) and not self.only_in_evidence
                and not self.only_in_reference)

    def sentence(self) -> str:
        """The comparison in one line an examiner can quote."""
        if self.identical:
            return ("identical quantisation tables: consistent with the same encoder at the same setting "
                    "(it does not show that the file is unaltered)")
        parts = [f"table {table_id}: {count} of 64 steps differ"
                 for table_id, count in sorted(self.differing_steps.items()) if count]
        if self.only_in_evidence:
            parts.append(f"table(s) {', '.join(map(str, self.only_in_evidence))} only in the evidence")
        if self.only_in_reference:
            parts.append(f"table(s) {', '.join(map(str, self.only_in_reference))} only in the reference")
        largest = f" (largest step difference {self.largest_difference})" if self.largest_difference else ""
        return ("different quantisation tables: " + "; ".join(parts) + largest
                + ": the file was not last saved by the reference's encoder at the reference's setting")


def compare_tables(evidence: Tables, reference: Tables) -> TableComparison:
    """Compare the evidence's quantisation tables with a reference file's, table id by table id."""
    differing: dict[int, int] = {}
    largest = 0
    for table_id in sorted(set(evidence) & set(reference)):
        pairs = list(zip(evidence[table_id], reference[table_id], strict=True))
        differing[table_id] = sum(int(a) != int(b) for a, b in pairs)
        largest = max([largest] + [abs(int(a) - int(b)) for a, b in pairs])
    return TableComparison(
        differing_steps=differing,
        largest_difference=largest,
        only_in_evidence=tuple(sorted(set(evidence) - set(reference))),
        only_in_reference=tuple(sorted(set(reference) - set(evidence))),
    )
