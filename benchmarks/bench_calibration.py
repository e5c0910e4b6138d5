"""Reliability of the calibrated false-alarm rates: nominal level versus observed, per detector.

For every detector with a shipped calibration (``tamper-workbench calibrate``), the detector runs
(through the shared result store ``runs/result-store``, so runs done before are reused) over

* the held-out part of the authentic reference set (``runs/reference-authentic``: photographs
  never used for the calibration, in the same forms: PNG, JPEG 70-98, resized), and
* NoSo's 13 authentic photographs (Novozamsky & Sorel 2018; 1024x768, from other cameras and
  never in any reference set): an out-of-distribution row;

and, cross-validated, over the whole reference set: every photograph held out once, its pictures
rated by a calibration on the other photographs (:mod:`forensics_core.calibration.reliability`);
a picture counts as a false alarm at level ``a`` when its stated false-alarm rate is at most
``a``. If the calibration holds, the observed share is at most about ``a`` (the +1 convention makes
the rate conservative; with N reference images no rate below 1/(N+1) can be stated, so a level
under that is never reached). The table also gives the share of the pictures' pixels marked by
the calibrated default threshold, nominally 1 %; and the mean F1 on the synthetic validation
forgeries at the detector's own threshold and at the levels exceeded by 10, 5 and 1 % of
authentic reference pixels.

Run ``python benchmarks/bench_calibration.py`` from the repository root; it writes
``benchmarks/results/calibration.md`` (assemble RESULTS.md with ``make_results.py --tables-only``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from forensics_core import metrics
from forensics_core.atomic import write_text_atomic
from forensics_core.calibration.apply import apply_calibration
from forensics_core.calibration.calibrate import reusing_members
from forensics_core.calibration.calibration_file import MANIFEST_TABLE, CalibrationError, load_calibration
from forensics_core.calibration.reference_set import (
    DEFAULT_REFERENCE_DIR,
    HELD_OUT_PART,
    ReferenceSet,
    read_reference_set,
)
from forensics_core.calibration.reliability import cross_validated_rates, empirical_false_alarm_rate
from forensics_core.detectors import get_detector
from forensics_core.errors import ForensicsError
from forensics_core.evaluation import benchmark_items, load_mask
from forensics_core.evidence import load_evidence
from forensics_core.fusion.image_score import leave_photograph_out_rates
from forensics_core.result_cache import ResultStore
from forensics_core.synth.benchmark import write_synthetic_benchmark
from forensics_core.synth.data import find_data_root
from forensics_core.weights import read_manifest

HERE = Path(__file__).resolve().parent
LEVELS = (0.01, 0.05, 0.10)
#: Authentic-pixel quantiles whose levels are compared as thresholds (10 and 5 % exceed them).
PIXEL_LEVELS = ("0.9", "0.95")
STORE = Path("runs") / "result-store"
#: Photograph folds of the cross-validated reliability table.
FOLDS = 3


def reliability_row(detector_id: str, pictures: list[Path], store: ResultStore) -> dict[str, object]:
    """False alarms at each level and the default threshold's pixel share over ``pictures``."""
    detector = reusing_members(get_detector(detector_id), store)
    rates, marked, refused = [], [], 0
    for picture in pictures:
        try:
            result = apply_calibration(store.run(detector, load_evidence(picture), device="cpu"))
        except ForensicsError:  # a form the detector does not analyse (double-jpeg: a PNG file)
            refused += 1
            continue
        if result.false_alarm_rate is None:
            raise SystemExit(f"{detector_id} is not calibrated: {result.calibration.get('reason')}")
        rates.append(result.false_alarm_rate)
        marked.append(float(result.mask.mean()))
    return {"images": len(rates), "refused": refused,
            "alarms": [sum(rate <= level for rate in rates) for level in LEVELS],
            "pixels": float(np.mean(marked)) if marked else float("nan")}


def stored_scores(detector_id: str, reference: ReferenceSet, store: ResultStore) -> dict[str, float]:
    """The detector's image score on every reference picture it analyses (from the store)."""
    detector = reusing_members(get_detector(detector_id), store)
    scores = {}
    for image in reference.images:
        try:
            scores[image.file] = float(store.run(detector, load_evidence(reference.folder / image.file),
                                                 device="cpu").score)
        except ForensicsError:  # a form the detector does not analyse (double-jpeg: a PNG file)
            continue
    return scores


def fusion_scorer(reference: ReferenceSet, store: ResultStore):
    """``score_with(training_ids)`` for fusion, as ``calibrate`` and a run compute it when only
    ``training_ids`` make up the reference set: its members are calibrated on those pictures; their
    own fusion scores read the members' rates leaving their photograph out
    (:meth:`~forensics_core.detectors.fusion.FusionDetector.calibration_scores`), any other picture's
    rates are read against those pictures."""
    fusion = get_detector("fusion")
    members = fusion.members({"members": ""})
    by_member = {member: stored_scores(member, reference, store) for member in members}
    photo_of = {image.file: image.photo for image in reference.images}
    analysed = sorted(set.intersection(*(set(scores) for scores in by_member.values())))

    def score_with(training: frozenset[str]):
        ordered = sorted(training)
        in_sample = leave_photograph_out_rates([{m: by_member[m][i] for m in members} for i in ordered],
                                               [photo_of[i] for i in ordered])
        others = [i for i in analysed if i not in training]
        held_out = [{m: empirical_false_alarm_rate([by_member[m][t] for t in ordered], by_member[m][i])
                     for m in members} for i in others]
        scores = dict(zip(ordered + others, fusion.image_scores(in_sample + held_out)))
        return scores.__getitem__

    return score_with, set(analysed)


def cross_validated_row(detector_id: str, reference: ReferenceSet, store: ResultStore) -> dict[str, object]:
    """False alarms at each level when every photograph of the whole reference set is held out once
    (:func:`~forensics_core.calibration.reliability.cross_validated_rates`, :data:`FOLDS` folds)."""
    if detector_id == "fusion":
        score_with, analysed = fusion_scorer(reference, store)
    else:
        scores = stored_scores(detector_id, reference, store)
        score_with, analysed = (lambda training: scores.__getitem__), set(scores)
    photo_of = {image.file: image.photo for image in reference.images if image.file in analysed}
    rates = cross_validated_rates(photo_of, score_with, FOLDS)
    return {"images": len(rates), "photos": len(set(photo_of.values())),
            "calibration_images": len(rates) * (FOLDS - 1) // FOLDS,
            "alarms": [sum(rate <= level for rate in rates.values()) for level in LEVELS]}


def f1_by_threshold(detector_id: str, folder: Path, store: ResultStore) -> tuple[int, list[float]]:
    """Mean F1 over the forged pictures of a benchmark folder at the detector's own threshold and at
    the levels exceeded by 10 and 5 % of authentic reference pixels (its calibration's quantiles) and
    at its calibrated default threshold (1 %)."""
    detector = reusing_members(get_detector(detector_id), store)
    calibration = load_calibration(detector_id)
    levels = [calibration.pixel_quantiles[q] for q in PIXEL_LEVELS] + [calibration.default_threshold]
    scores: list[list[float]] = [[] for _ in range(1 + len(levels))]
    for item in (item for item in benchmark_items(folder) if item.mask is not None):
        result = apply_calibration(store.run(detector, load_evidence(item.image), device="cpu"))
        truth = load_mask(item.mask, result.heatmap.shape)
        own = float(result.calibration.get("detector_threshold", result.threshold))
        for column, level in enumerate((own, *levels)):
            scores[column].append(metrics.pixel_metrics(result.heatmap, truth, level)["f1"])
    return len(scores[0]), [float(np.nanmean(column)) for column in scores]


def _cells(row: dict[str, object]) -> list[str]:
    images = row["images"]
    cells = [f"{count}/{images} ({100 * count / images:.1f} %)" for count in row["alarms"]]
    refused = f" ({row['refused']} refused)" if row["refused"] else ""
    return [f"{images}{refused}", *cells, f"{100 * row['pixels']:.2f} %"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="*", help="ids (default: every detector with a calibration)")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--store", type=Path, default=STORE)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    root = find_data_root()
    if root is None:
        raise SystemExit("../shared/data is needed (NoSo's authentic photographs)")
    reference = read_reference_set(args.reference)
    held_out = [reference.folder / image.file for image in reference.part(HELD_OUT_PART)]
    noso = sorted((root / "benchmarks" / "noso" / "authentic").glob("*.png"))
    detector_ids = args.detectors or sorted(read_manifest().get(MANIFEST_TABLE) or {})
    calibrated = []
    store = ResultStore(args.store, include_extra_maps=False)
    header = ["detector", "reference images", "set", "images", *(f"alarms at {100 * level:g} %" for level in LEVELS),
              "pixels >= default threshold"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cv_lines = ["| detector | pictures checked | calibration pictures per fold | "
                + " | ".join(f"alarms at {100 * level:g} %" for level in LEVELS) + " |", "|---|---|---|---|---|---|"]
    for detector_id in detector_ids:
        try:
            calibration = load_calibration(detector_id)
        except CalibrationError as exc:
            calibration, reason = None, str(exc)
        else:
            reason = "no calibration"
        if calibration is None:
            print(f"{detector_id} left out: {reason}")
            continue
        for name, pictures in (("held-out authentic (PNG, JPEG 70-98, resized)", held_out),
                               ("NoSo authentic (out of distribution)", noso)):
            print(f"{detector_id} on {name}", flush=True)
            row = reliability_row(detector_id, pictures, store)
            if not row["images"]:
                print(f"{detector_id} analyses none of these pictures")
                continue
            lines.append("| " + " | ".join([f"`{detector_id}`", str(calibration.size), name, *_cells(row)]) + " |")
            print(lines[-1], flush=True)
        row = cross_validated_row(detector_id, reference, store)
        cv_lines.append(f"| `{detector_id}` | {row['images']} ({row['photos']} photographs) | "
                        f"about {row['calibration_images']} | "
                        + " | ".join(f"{count} ({100 * count / row['images']:.1f} %)" for count in row["alarms"]) + " |")
        print(cv_lines[-1], flush=True)
        calibrated.append(detector_id)
    f1_lines = ["| detector | forged images | F1 at its own threshold | at 10 % | at 5 % | at 1 % (default) |",
                "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = write_synthetic_benchmark(Path(tmp) / "synthetic-val")
        for detector_id in calibrated:
            if not get_detector(detector_id).calibrated_threshold:
                continue
            try:
                count, f1 = f1_by_threshold(detector_id, synthetic, store)
            except ForensicsError as exc:  # double-jpeg: the synthetic pictures are PNG files
                print(f"{detector_id}: no F1 ({exc})")
                continue
            f1_lines.append(f"| `{detector_id}` | {count} | " + " | ".join(f"{value:.3f}" for value in f1) + " |")
            print(f1_lines[-1], flush=True)
    held_photos = len({image.photo for image in reference.part(HELD_OUT_PART)})
    load = os.getloadavg()[0]
    text = "\n".join([
        "## Calibration: stated versus observed false-alarm rates (`benchmarks/bench_calibration.py`)",
        "",
        "A picture is a false alarm at level a when its stated false-alarm rate (the share of authentic",
        "reference images scoring at least as high, +1 convention) is at most a. Calibration on the",
        f"calibration part of the reference set; checked on its held-out part ({len(held_out)} images of {held_photos}",
        "photographs never used for calibration, same forms) and on NoSo's authentic photographs (other",
        "cameras, 1024x768: out of distribution). With N reference images no rate below 1/(N+1) can be",
        "stated, so with N = 84 nothing is flagged at 1 %. The forms of one photograph are correlated, so",
        "the held-out counts vary more than independent images would. Last column: mean share of each",
        "picture's pixels at or above the calibrated default threshold (nominally 1 %; detectors whose mask is",
        "their paper's own decision, jpeg-grid and copy-move, keep their threshold).",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d} (load average {load:.1f}).",
        "",
        *lines,
        "",
        f"### Cross-validated by photograph ({FOLDS} folds over the whole reference set)",
        "",
        "Every photograph of the reference set (both parts) is held out once: its pictures get the rate of a",
        "calibration on the other folds' pictures, all forms of a photograph on the same side",
        "(`forensics_core/calibration/reliability.py`). For `fusion` the members are calibrated on the same",
        "folds. This checks every reference picture once, so it is steadier than the single held-out split",
        "above; the shipped calibrations use the calibration part only.",
        "",
        *cv_lines,
        "",
        "### F1 at the calibrated default threshold and at other levels (synthetic validation, forged pictures)",
        "",
        "Mean F1 over the 40 forged pictures of the synthetic validation set at the detector's own threshold",
        "(before calibration) and at the levels exceeded by 10, 5 and 1 % of authentic reference pixels (the",
        "calibrated default is the 1 % level). A stricter level trades recall for a stated false-alarm rate",
        "per pixel; maps that are 1.0 on more than 10 % of authentic pixels (noise-baseline, noise-level,",
        "splicebuster) cannot be thresholded more strictly than at 1.0.",
        "",
        *f1_lines,
    ])
    print(text)
    if not args.no_write:
        write_text_atomic(HERE / "results" / "calibration.md", text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
