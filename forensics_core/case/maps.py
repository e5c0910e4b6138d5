"""Compact storage of a run's maps in the case folder (one compressed ``.npz`` per run).

* the heatmap as float16 (values in [0, 1] keep about three significant digits: an absolute
  error of at most 2**-12, far below any threshold an examiner sets by hand);
* the detector's mask as packed bits (8 pixels per byte);
* each extra map (per-class maps), when kept, as 8-bit levels with the ``low``/``high`` of its
  scale recorded in the case document (error at most (high - low) / 510).

A 12-megapixel result thus takes 24 MB of float16 before compression instead of the float32 or
float64 arrays of the run; extra maps cost one byte per pixel each and can be left out.

Reading is defensive: the archive is checked before NumPy sees it (only the expected member
names, declared sizes within the image's size, no pickled objects).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from forensics_core.case.schema import CaseFormatError
from forensics_core.evidence import DEFAULT_MAX_PIXELS

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class StoredMaps:
    """The arrays of one run as read back from the case."""

    heatmap: np.ndarray
    mask: np.ndarray
    extra_maps: dict[str, np.ndarray]


def quantise(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """8-bit levels of ``values`` and the ``(low, high)`` they span (non-finite values become ``low``)."""
    data = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(data)
    low = float(data[finite].min()) if finite.any() else 0.0
    high = float(data[finite].max()) if finite.any() else 0.0
    span = high - low if high > low else 1.0
    levels = np.rint((np.where(finite, data, low) - low) / span * 255.0)
    return np.clip(levels, 0, 255).astype(np.uint8), low, high


def dequantise(levels: np.ndarray, low: float, high: float) -> np.ndarray:
    """float32 values back from 8-bit ``levels`` over ``[low, high]``."""
    span = high - low if high > low else 0.0
    return (low + levels.astype(np.float32) * np.float32(span / 255.0)).astype(np.float32)


def encode_maps(heatmap: np.ndarray, mask: np.ndarray, extra_maps: Mapping[str, np.ndarray],
                include_extra: bool = True, progress: ProgressFn | None = None) -> tuple[bytes, list[dict[str, Any]]]:
    """The compressed ``.npz`` bytes of one run and the scale of each stored extra map."""
    arrays = {"heatmap": np.clip(np.nan_to_num(heatmap, nan=0.0), 0.0, 1.0).astype(np.float16),
              "mask": np.packbits(np.asarray(mask, dtype=bool), axis=None)}
    scales = []
    names = sorted(extra_maps) if include_extra else []
    for i, name in enumerate(names):
        if progress is not None:
            progress(i / max(len(names), 1), f"packing map {name}")
        extra = np.asarray(extra_maps[name])
        if extra.shape != heatmap.shape:
            continue  # only full-size maps are kept; other figures belong to ``extra``
        arrays[f"extra{len(scales)}"], low, high = quantise(extra)
        scales.append({"name": name, "low": low, "high": high})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue(), scales


def _expected_members(scales: list[dict[str, Any]]) -> set[str]:
    return {"heatmap.npy", "mask.npy"} | {f"extra{i}.npy" for i in range(len(scales))}


def decode_maps(data: bytes, height: int, width: int, scales: list[dict[str, Any]]) -> StoredMaps:
    """Arrays of a run from ``.npz`` bytes written by :func:`encode_maps`; refuses anything else."""
    pixels = height * width
    if pixels > DEFAULT_MAX_PIXELS:
        raise CaseFormatError(f"A map of the case declares {height} x {width} pixels, more than any evidence "
                              f"the workbench opens ({DEFAULT_MAX_PIXELS:,}); refused.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CaseFormatError(f"A map file of the case is not a valid archive ({exc}).") from None
    if set(members) != _expected_members(scales):
        raise CaseFormatError(f"A map file of the case holds {sorted(members)[:10]}, not the maps it should hold.")
    if sum(members.values()) > 2 * pixels * (2 + len(scales)) + 4096 * len(members):
        raise CaseFormatError("A map file of the case declares more data than its maps can hold; refused.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            heatmap = archive["heatmap"]
            packed = archive["mask"]
            extras = [archive[f"extra{i}"] for i in range(len(scales))]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CaseFormatError(f"A map file of the case cannot be read ({exc}).") from None
    if heatmap.dtype != np.float16 or heatmap.shape != (height, width):
        raise CaseFormatError(f"A heatmap in the case is {heatmap.dtype} {heatmap.shape}, not float16 "
                              f"({height}, {width}).")
    if packed.dtype != np.uint8 or packed.shape != ((pixels + 7) // 8,):
        raise CaseFormatError("A mask in the case has the wrong size.")
    maps = {}
    for scale, levels in zip(scales, extras):
        if levels.dtype != np.uint8 or levels.shape != (height, width):
            raise CaseFormatError(f"The map '{scale['name']}' in the case has the wrong type or size.")
        maps[scale["name"]] = dequantise(levels, scale["low"], scale["high"])
    heat = heatmap.astype(np.float32)
    if not np.isfinite(heat).all() or heat.min(initial=0.0) < 0.0 or heat.max(initial=0.0) > 1.0:
        raise CaseFormatError("A heatmap in the case holds values outside [0, 1].")
    mask = np.unpackbits(packed, count=pixels).astype(bool).reshape(height, width)
    return StoredMaps(heat, mask, maps)
