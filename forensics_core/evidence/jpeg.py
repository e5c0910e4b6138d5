"""JPEG compression facts: quantisation tables, IJG quality estimate, chroma subsampling.

Pillow (since 8.3) returns ``Image.quantization`` tables already de-zig-zagged, i.e. in natural
row-major 8x8 order; ``tests/test_evidence.py`` checks this against the IJG luminance table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .jpeg_tables import matching_sets
from .model import JpegInfo

# Annex K (IJG) base tables, natural row-major order.
IJG_LUMINANCE: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
IJG_CHROMINANCE: tuple[int, ...] = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip

# Above this mean relative deviation from the best scaled IJG table, the tables are "not IJG".
_MAX_RELATIVE_DEVIATION = 0.5


def ijg_scale(quality: int) -> int:
    """libjpeg's ``jpeg_quality_scaling``: percentage applied to the base tables."""
    quality = min(max(int(quality), 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def scaled_table(base: Sequence[int], quality: int) -> tuple[int, ...]:
    """The base table as libjpeg scales it for ``quality`` (baseline: clamped to 1..255)."""
    scale = ijg_scale(quality)
    return tuple(min(max((b * scale + 50) // 100, 1), 255) for b in base)


_STANDARD = {
    q: (scaled_table(IJG_LUMINANCE, q), scaled_table(IJG_CHROMINANCE, q)) for q in range(1, 101)
}


def _as_table(values: Any) -> tuple[int, ...] | None:
    try:
        table = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        return None
    return table if len(table) == 64 and all(v > 0 for v in table) else None


def estimate_jpeg_quality(quant_tables: Mapping[int, Sequence[int]]) -> tuple[float | None, bool]:
    """Estimate the IJG quality factor of a JPEG from its quantisation tables.

    ``quant_tables`` maps table id to 64 values in natural order; table 0 is taken as the
    luminance table and table 1 (when present) as chrominance. Returns ``(quality, standard)``:
    when the tables equal libjpeg's scaled tables for some quality 1..100, that quality and
    True (if several qualities give identical tables, the highest). Otherwise the quality
    whose scaling best fits (a least-squares scale, converted back to a fractional quality,
    refined with the chroma table) and False, or ``(None, False)`` when the tables are not
    shaped like the IJG tables at all (or are malformed).
    """
    try:
        luma = _as_table(quant_tables.get(0)) if 0 in quant_tables else None
        chroma = _as_table(quant_tables.get(1)) if 1 in quant_tables else None
    except AttributeError:
        return None, False
    if luma is None:
        return None, False

    for q in range(100, 0, -1):
        std_luma, std_chroma = _STANDARD[q]
        if luma == std_luma and (chroma is None or chroma == std_chroma):
            return float(q), True

    # Not standard: fit a single scale factor (percent) to the base tables.
    pairs = [(np.asarray(luma, float), np.asarray(IJG_LUMINANCE, float))]
    if chroma is not None:
        pairs.append((np.asarray(chroma, float), np.asarray(IJG_CHROMINANCE, float)))
    actual = np.concatenate([a for a, _ in pairs])
    base = np.concatenate([b for _, b in pairs])
    # Entries clamped at 1 or 255 carry no scale information; drop them when others remain.
    informative = (actual > 1) & (actual < 255)
    if informative.sum() >= 8:
        actual, base = actual[informative], base[informative]
    scale = float(np.dot(actual, base) / np.dot(base, base)) * 100.0
    if not np.isfinite(scale) or scale <= 0:
        return None, False
    predicted = np.clip(base * scale / 100.0, 1.0, 255.0)
    deviation = float(np.mean(np.abs(actual - predicted) / predicted))
    if deviation > _MAX_RELATIVE_DEVIATION:
        return None, False
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return round(min(max(quality, 1.0), 100.0), 1), False


def subsampling_from_layers(layers: Sequence[tuple[Any, ...]] | None) -> str | None:
    """Chroma subsampling as 'J:a:b' from Pillow's ``layer`` list (id, h, v, table).

    Returns '4:0:0' for greyscale, None for 4-component (CMYK/YCCK) or unusual layouts.
    """
    if not layers:
        return None
    if len(layers) == 1:
        return "4:0:0"
    if len(layers) != 3:
        return None
    (_, h0, v0, *_), (_, h1, v1, *_), (_, h2, v2, *_) = layers
    if (h1, v1) != (h2, v2) or h1 <= 0 or v1 <= 0 or h0 % h1 or v0 % v1:
        return None
    ratio = (h0 // h1, v0 // v1)
    known = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0",
             (4, 1): "4:1:1", (4, 2): "4:1:0"}  # fmt: skip
    return known.get(ratio, f"{ratio[0]}x{ratio[1]}")


def jpeg_info_from_image(img: Any) -> JpegInfo | None:
    """Build :class:`JpegInfo` from an opened Pillow JPEG (or MPO) image; None without tables."""
    raw = getattr(img, "quantization", None) or {}
    tables: dict[int, tuple[int, ...]] = {}
    for key, values in raw.items():
        table = _as_table(values)
        if table is not None:
            tables[int(key)] = table
    if not tables:
        return None
    quality, standard = estimate_jpeg_quality(tables)
    info = getattr(img, "info", {}) or {}
    progressive = bool(info.get("progressive") or info.get("progression"))
    return JpegInfo(
        quant_tables=tables,
        quality=quality,
        standard_tables=standard,
        subsampling=subsampling_from_layers(getattr(img, "layer", None)),
        progressive=progressive,
    )


# ---- checks an examiner reads (evidence panel, report) -------------------------------------

def format_quant_tables(jpeg: JpegInfo) -> str:
    """The quantisation tables as 8x8 grids of numbers, one block per table id."""
    blocks = []
    for table_id, values in sorted(jpeg.quant_tables.items()):
        rows = [" ".join(f"{v:3d}" for v in values[r * 8:(r + 1) * 8]) for r in range(8)]
        blocks.append(f"Table {table_id}:\n" + "\n".join(rows))
    return "\n\n".join(blocks)


#: Words in a ``Software`` / ``CreatorTool`` / ``ProcessingSoftware`` value that name an editor
#: rather than a camera's firmware (lower case).
EDITING_SOFTWARE = (
    "photoshop", "lightroom", "camera raw", "gimp", "affinity", "paint.net", "paintshop", "pixelmator",
    "snapseed", "capture one", "darktable", "rawtherapee", "luminar", "photopea", "acdsee", "corel",
    "picasa", "facetune", "canva", "photoscape", "fotor", "irfanview", "xnview", "imagemagick",
)
#: Metadata keys (after the source prefix) that name the writing software.
_SOFTWARE_KEYS = ("software", "creatortool", "processingsoftware", "historysoftwareagent")


def ijg_luminance_quality(table: Sequence[int]) -> int | None:
    """The IJG quality whose scaled luminance table equals ``table`` exactly (the highest if several), or None."""
    values = tuple(int(v) for v in table)
    for quality in range(100, 0, -1):
        if _STANDARD[quality][0] == values:
            return quality
    return None


def table_family(jpeg: JpegInfo) -> str:
    """One line naming the family the quantisation tables belong to, in words an examiner can check.

    The IJG (libjpeg) tables scaled by its quality formula are what libjpeg, Pillow, OpenCV, GIMP
    and many phone apps write; camera firmware and some editors (Adobe Photoshop among them)
    write tables of their own, which the closest IJG quality only approximates; the Photoshop
    settings known to :mod:`forensics_core.evidence.jpeg_tables` are named.
    """
    luma = jpeg.quant_tables.get(0)
    presets = " / ".join(table_set.name for table_set in matching_sets(jpeg.quant_tables))
    if jpeg.standard_tables and jpeg.quality is not None:
        also = f"; also equal to {presets}" if presets else ""
        return (f"standard IJG (libjpeg) tables scaled for quality {jpeg.quality:.0f}: as written by libjpeg-based "
                f"software (Pillow, OpenCV, GIMP, many phone apps) and by some cameras{also}")
    if presets:
        return (f"equal to {presets} (tables as published in Pillow's JpegPresets): written by Adobe Photoshop "
                "or by software that reuses its tables")
    luma_quality = ijg_luminance_quality(luma) if luma is not None else None
    if luma_quality is not None:
        return (f"luminance table = IJG quality {luma_quality}, chrominance table(s) not the IJG ones for that "
                "quality: an encoder with its own chroma tables")
    if luma is not None and len(set(luma)) == 1:
        return f"flat tables (every luminance step is {luma[0]}): not IJG-scaled; unusual for cameras"
    if jpeg.quality is not None:
        return (f"custom tables, not IJG-scaled (closest IJG quality about {jpeg.quality:.0f}): as written by "
                "camera firmware or by editors with their own tables, such as Adobe Photoshop; compare with "
                "reference files from the claimed camera")
    return "custom tables unlike the IJG tables: compare with reference files from the claimed camera"


def editing_software_warnings(metadata: Sequence[tuple[str, str]]) -> list[str]:
    """A warning line for every metadata row whose software field names an image editor."""
    warnings = []
    for key, value in metadata:
        field_name = key.rsplit(":", 1)[-1].replace(" ", "").lower()
        if field_name in _SOFTWARE_KEYS and any(word in value.lower() for word in EDITING_SOFTWARE):
            warnings.append(f"WARNING: {key} = {value!r} names image-editing software: the file was written "
                            "by an editor, not straight from a camera.")
    return warnings
