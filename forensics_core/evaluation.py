"""Running a detector over a benchmark folder and scoring it.

Folder layout (as in ``../shared/README.md``): ``images/NAME.png`` questioned images,
``masks/NAME.png`` ground truth with the same stem (non-zero = manipulated), optional
``authentic/`` untouched images for image-level ROC-AUC.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import cv2
import numpy as np

from forensics_core import metrics
from forensics_core.calibration.apply import apply_calibration
from forensics_core.detectors.base import Detector
from forensics_core.errors import ForensicsError
from forensics_core.evidence import load_evidence

if TYPE_CHECKING:  # pragma: no cover
    from forensics_core.result_cache import ResultStore

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".heic", ".heif"}


@dataclass(frozen=True)
class BenchmarkItem:
    """One image of a benchmark folder; ``mask`` is None for authentic images."""

    name: str
    image: Path
    mask: Path | None


def benchmark_items(folder: Path) -> list[BenchmarkItem]:
    """The forged images (with masks) and authentic images of a benchmark folder."""
    images_dir, masks_dir = folder / "images", folder / "masks"
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise ForensicsError(f"{folder} is not a benchmark folder: it needs images/ and masks/ subfolders.")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    items = []
    for image in sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        if image.stem not in masks:
            raise ForensicsError(f"{image.name} has no ground-truth mask in {masks_dir}.")
        items.append(BenchmarkItem(image.stem, image, masks[image.stem]))
    authentic_dir = folder / "authentic"
    if authentic_dir.is_dir():
        items += [BenchmarkItem(f"authentic/{p.stem}", p, None)
                  for p in sorted(authentic_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise ForensicsError(f"{folder} holds no images.")
    return items


def load_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Ground truth as a bool array of ``shape`` (non-zero = manipulated)."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ForensicsError(f"Cannot read the mask {path}.")
    if mask.shape != shape:
        raise ForensicsError(f"Mask {path.name} is {mask.shape[1]}x{mask.shape[0]}, image is {shape[1]}x{shape[0]}.")
    return mask > 127


def evaluate_folder(
    folder: Path,
    detector: Detector,
    params: Mapping[str, Any] | None = None,
    device: str = "auto",
    on_item: Callable[[int, int, str], None] | None = None,
    limit: int | None = None,
    store: ResultStore | None = None,
) -> dict[str, Any]:
    """Run ``detector`` on every image of ``folder`` and return per-image and mean figures.

    With a ``store`` (:class:`~forensics_core.result_cache.ResultStore`), results computed before
    for the same picture, parameters and weights are reused (the calibration in force applied
    again) and the run time is the one recorded when they were computed.

    Pixel figures (AUC, F1 and MCC at the detector's default threshold, best-threshold F1) are
    averaged over forged images; image-level ROC-AUC uses the detector's image score on forged
    versus authentic images when ``authentic/`` exists.
    """
    items = benchmark_items(Path(folder))
    if limit is not None:
        forged = [i for i in items if i.mask is not None][:limit]
        authentic = [i for i in items if i.mask is None][:limit]
        items = forged + authentic
    per_image: list[dict[str, Any]] = []
    seconds, megapixels = 0.0, 0.0
    device_used = ""
    for index, item in enumerate(items):
        if on_item:
            on_item(index, len(items), item.name)
        evidence = load_evidence(item.image)
        started = time.perf_counter()
        if store is None:
            result = detector.run(evidence, params, device=device)
            seconds += time.perf_counter() - started
        else:
            result = apply_calibration(store.run(detector, evidence, params, device=device))
            seconds += sum(result.timings.values())
        megapixels += evidence.megapixels
        device_used = result.device
        row: dict[str, Any] = {"name": item.name, "score": result.score, "forged": item.mask is not None}
        if item.mask is not None:
            truth = load_mask(item.mask, result.heatmap.shape)
            row.update(metrics.pixel_metrics(result.heatmap, truth, result.threshold))
        per_image.append(row)
    forged_rows = [r for r in per_image if r["forged"]]
    summary: dict[str, Any] = {
        "folder": str(folder),
        "detector": detector.id,
        "images": len(forged_rows),
        "authentic": len(per_image) - len(forged_rows),
        "device": device_used,
        "seconds_per_megapixel": seconds / megapixels if megapixels else float("nan"),
    }
    for key in ("auc", "f1", "mcc", "iou", "best_f1"):
        values = [r[key] for r in forged_rows if np.isfinite(r[key])]
        summary[f"pixel_{key}"] = float(np.mean(values)) if values else float("nan")
    if summary["authentic"]:
        summary["image_auc"] = metrics.image_auc([r["score"] for r in per_image],
                                                 [int(r["forged"]) for r in per_image])
    summary["per_image"] = per_image
    return summary
