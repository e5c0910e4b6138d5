"""``tamper-workbench calibrate DETECTOR``: a detector's scores on the authentic reference set.

The detector runs (through a :class:`~forensics_core.result_cache.ResultStore`, so runs done before
by anyone for the same picture, parameters and weights are reused) with its default parameters
over the calibration part of the reference set (:mod:`.reference_set`). The calibration keeps:

* every image score, sorted: the false-alarm rate of a score is read from them (a detector that
  refuses some forms, such as ``double-jpeg`` a PNG file, is calibrated on the forms it analyses,
  and the calibration names the refused forms; ``fusion`` records its scores with its members'
  rates read out of sample, :meth:`~forensics_core.detectors.base.Detector.calibration_scores`);
* quantiles of the heatmaps' pixels, each image contributing the same number of pixels
  (:data:`PIXELS_PER_IMAGE`, drawn with a fixed seed; all of them for smaller images), so that
  large pictures do not dominate;
* the default threshold: the smallest level at or above which at most
  :data:`~.calibration_file.DEFAULT_PIXEL_FALSE_ALARM` (1 %) of those authentic pixels lie. A
  mask at this level marks about 1 % of an authentic picture of the reference kind, whatever the
  detector's own scale; what it marks on a forgery is measured in RESULTS.md (F1 at the default
  threshold). A map that is at its maximum 1.0 on more than 1 % of authentic pixels cannot be
  thresholded that finely: the level is then 1.0, and the calibration records the share of
  authentic pixels it marks (``threshold_pixel_rate``), measured, not assumed.

Stored maps are kept as float16 in the result store; a level read from them differs from one of
float32 maps by at most one float16 step (about 5e-4 near 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from forensics_core.calibration.calibration_file import (
    DEFAULT_PIXEL_FALSE_ALARM,
    Calibration,
    CalibrationError,
    save_calibration,
)
from forensics_core.calibration.reference_set import (
    CALIBRATION_PART,
    DEFAULT_REFERENCE_DIR,
    ReferenceSet,
    default_reference_set,
    read_reference_set,
)
from forensics_core.errors import Cancelled, ForensicsError

if TYPE_CHECKING:  # pragma: no cover
    from forensics_core.detectors.base import Detector
    from forensics_core.result_cache import ResultStore

#: Pixels drawn from each reference heatmap for the pixel quantiles.
PIXELS_PER_IMAGE = 20_000
#: Levels of the pixel quantiles recorded in a calibration.
PIXEL_LEVELS = (0.5, 0.9, 0.95, 0.99, 0.995, 0.999)
DEFAULT_STORE_DIR = Path("runs") / "result-store"
ItemProgress = Callable[[int, int, str], None]


def reusing_members(detector: "Detector", store: "ResultStore") -> "Detector":
    """``detector``, made to find its members' results in ``store`` when it combines detectors
    (``fusion``), so that a calibration or a benchmark runs no member twice."""
    if hasattr(detector, "reuse_results"):
        detector.reuse_results(store)
    return detector


def threshold_for_pixel_rate(values: np.ndarray, rate: float) -> float:
    """The smallest float32 level ``t`` with ``mean(values >= t) <= rate`` (at most 1.0).

    With ties at the quantile (a map that is 0 on most authentic pixels) the level is the next
    float32 number above the tied value, so that the tie is not flagged.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float32).ravel())
    allowed = int(np.floor(rate * ordered.size))
    if allowed >= ordered.size:
        return float(ordered[0])
    candidate = ordered[ordered.size - allowed - 1]  # the largest value that must stay below t
    level = np.nextafter(candidate, np.float32(np.inf))
    return float(min(level, np.float32(1.0)))


def sample_pixels(heatmap: np.ndarray, seed: int, count: int = PIXELS_PER_IMAGE) -> np.ndarray:
    """``count`` pixels of ``heatmap`` drawn without replacement (all of them when it has fewer)."""
    flat = np.asarray(heatmap, dtype=np.float32).ravel()
    if flat.size <= count:
        return flat.copy()
    return flat[np.random.default_rng(seed).choice(flat.size, count, replace=False)]


@dataclass(frozen=True)
class CalibrationRun:
    """What ``calibrate`` did: the calibration, where it was written, and its manifest entry."""

    calibration: Calibration
    path: Path
    entry: dict[str, Any]


def compute_calibration(detector_id: str, reference: ReferenceSet, store_dir: Path = DEFAULT_STORE_DIR,
                        on_item: ItemProgress | None = None, command: str = "") -> Calibration:
    """Run ``detector_id`` over the calibration part of ``reference`` and summarise its results."""
    from forensics_core.build_info import git_commit
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence
    from forensics_core.result_cache import ResultStore

    detector = get_detector(detector_id)
    if not detector.is_trained():
        raise CalibrationError(f"{detector.display_name} cannot be calibrated: {detector.training_status()}.")
    images = reference.part(CALIBRATION_PART)
    if not images:
        raise CalibrationError(f"The reference set in {reference.folder} has no calibration part.")
    store = ResultStore(store_dir, include_extra_maps=False)
    reusing_members(detector, store)
    results, pixels, hashes, used, refused = [], [], set(), [], {}
    for index, image in enumerate(images):
        if on_item:
            on_item(index, len(images), image.file)
        try:
            result = store.run(detector, load_evidence(reference.folder / image.file), device="cpu")
        except Cancelled:
            raise
        except ForensicsError as exc:  # a detector that analyses only some forms (double-jpeg: JPEG files)
            refused.setdefault(image.form.rsplit("-q", 1)[0], str(exc).split(";")[0])
            continue
        used.append(image)
        results.append(result)
        pixels.append(sample_pixels(result.heatmap, seed=index))
        hashes.add(tuple(sorted((result.provenance.get("weights_sha256") or {}).items())))
    if not used:
        raise CalibrationError(f"{detector.display_name} refused every reference image: "
                               f"{'; '.join(refused.values())}.")
    if len(hashes) != 1:
        raise CalibrationError(f"The runs of {detector_id} over the reference set used different weights; "
                               "calibrate again once the weights are settled.")
    scores = detector.calibration_scores(results, [image.photo for image in used])
    pooled = np.concatenate(pixels)
    threshold = threshold_for_pixel_rate(pooled, DEFAULT_PIXEL_FALSE_ALARM)
    return Calibration(
        detector_id=detector.id, detector_version=detector.version, weights_sha256=dict(hashes.pop()),
        score_definition=detector.score_definition, reference_scores=tuple(sorted(scores)),
        pixel_quantiles={str(level): float(np.quantile(pooled, level)) for level in PIXEL_LEVELS},
        default_threshold=threshold, threshold_pixel_rate=float(np.mean(pooled >= threshold)), sets_threshold=detector.calibrated_threshold,
        reference={**reference.describe_part(CALIBRATION_PART), "images": len(used),
                   "photos": len({image.photo for image in used}),
                   "formats": sorted({image.form.rsplit("-q", 1)[0] for image in used}),
                   "refused_forms": refused, "pixels_per_image": PIXELS_PER_IMAGE},
        parameters=detector.validate_params({}),
        created={"command": command, "git_commit": git_commit(),
                 "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def calibrate(detector_id: str, reference_dir: Path | None = None, out: Path | None = None,
              store_dir: Path = DEFAULT_STORE_DIR, on_item: ItemProgress | None = None,
              command: str = "") -> CalibrationRun:
    """Compute ``detector_id``'s calibration and write it (and its manifest entry) into ``out``
    (default: the shipped weights folder). ``reference_dir`` defaults to
    :data:`~.reference_set.DEFAULT_REFERENCE_DIR`, written first when absent; ``command`` is
    recorded as the command that made the file."""
    from forensics_core.calibration.calibration_file import calibration_relative_path
    from forensics_core.weights import weights_dir

    reference = read_reference_set(reference_dir) if reference_dir else default_reference_set(DEFAULT_REFERENCE_DIR)
    command = command or f"tamper-workbench calibrate {detector_id}"
    calibration = compute_calibration(detector_id, reference, store_dir, on_item, command)
    folder = out or weights_dir()
    entry = save_calibration(calibration, folder, command)
    return CalibrationRun(calibration, folder / calibration_relative_path(detector_id), entry)
