"""Fusion against its best single member: pixel AUC on NoSo and on the synthetic validation set,
NoSo image AUC (floor 0.75), and the time of a fusion run on a 1024x768 picture.

Every member runs once per picture through the shared result store (``runs/result-store``), so
the members' maps are computed once for this script, the fusion training and the calibration.
Pixel AUC is the mean over forged images of each detector's heatmap against the ground truth;
image AUC ranks forged against authentic images by the image score (for fusion, the weighted
evidence of its members' false-alarm rates, see :mod:`forensics_core.fusion.image_score`). Timing: *cold* is a fusion run that runs every member,
*warm* one whose member results are all supplied (reused); members are warmed up on a small
picture first, so imports and weight loading are not timed.

Run from the repository root: ``python benchmarks/bench_fusion.py`` (then
``python benchmarks/make_results.py --tables-only``). Writes ``benchmarks/results/fusion.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detector_timing import wall_and_cpu_seconds  # noqa: E402

from forensics_core import metrics  # noqa: E402
from forensics_core.atomic import write_text_atomic  # noqa: E402
from forensics_core.detectors import get_detector  # noqa: E402
from forensics_core.evaluation import benchmark_items, load_mask  # noqa: E402
from forensics_core.evidence import load_evidence  # noqa: E402
from forensics_core.fusion.training_data import member_results  # noqa: E402
from forensics_core.result_cache import ResultStore, key_for_run  # noqa: E402
from forensics_core.synth.benchmark import write_synthetic_benchmark  # noqa: E402

HERE = Path(__file__).resolve().parent
NOSO_IMAGE_AUC_FLOOR = 0.75
FUSION_SECONDS_FLOOR = 30.0


def evaluate_set(folder: Path, store: ResultStore, limit: int | None = None) -> dict:
    """Mean pixel AUC over forged images of fusion and of each member, and the image AUC of fusion.

    Members' results come from the store (:func:`~forensics_core.fusion.training_data.member_results`)
    and are handed to fusion, so it runs none again.
    Members' image scores are not compared here (``make_results.py`` and ``bench_calibration.py`` do).
    """
    members = get_detector("fusion").members({"members": ""})
    items = benchmark_items(folder)
    if limit is not None:
        items = items[:limit]
    pixel: dict[str, list[float]] = {name: [] for name in ["fusion", *members]}
    scores: list[float] = []
    labels: list[int] = []
    for index, item in enumerate(items):
        print(f"{folder.name}: {index + 1}/{len(items)} {item.name}", file=sys.stderr, flush=True)
        evidence = load_evidence(item.image)
        results = member_results(store, members, item.image)
        supplied = {key_for_run(get_detector(member), evidence.sha256, {}): result
                    for member, result in results.items() if result is not None}
        fused = get_detector("fusion").reuse_results(supplied).run(evidence, device="cpu")
        if len(fused.extra["reused"]) != len(supplied):
            raise SystemExit(f"fusion ran members again on {item.name}: {fused.extra['members']}")
        results["fusion"] = fused
        scores.append(float(fused.score))
        labels.append(int(item.mask is not None))
        truth = load_mask(item.mask, fused.heatmap.shape) if item.mask is not None else None
        if truth is None or not truth.any() or truth.all():
            continue
        for name, result in results.items():
            heatmap = result.heatmap if result is not None else np.zeros(fused.heatmap.shape, np.float32)
            pixel[name].append(metrics.pixel_auc(heatmap, truth))
    has_authentic = 0 < sum(labels) < len(labels)
    return {
        "forged": sum(labels), "authentic": len(labels) - sum(labels),
        "pixel_auc": {name: float(np.mean(values)) for name, values in pixel.items()},
        "fusion_image_auc": metrics.image_auc(scores, labels) if has_authentic else float("nan"),
    }


def time_fusion(path: Path, warm_up: Path) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of a cold (every member runs) and a warm (every member reused) fusion run."""
    evidence = load_evidence(path)
    with tempfile.TemporaryDirectory() as folder:
        store = ResultStore(folder)
        get_detector("fusion").reuse_results(ResultStore(Path(folder) / "warm-up")).run(load_evidence(warm_up),
                                                                                      device="cpu")
        cold = wall_and_cpu_seconds(lambda: get_detector("fusion").reuse_results(store).run(evidence, device="cpu"))
        warm = wall_and_cpu_seconds(lambda: get_detector("fusion").reuse_results(store).run(evidence, device="cpu"))
    return {"cold": cold[:2], "warm": warm[:2], "reused_warm": len(warm[2].extra["reused"]),
            "members": len(cold[2].extra["members"])}


def _table(name: str, figures: dict) -> list[str]:
    members = [m for m in figures["pixel_auc"] if m != "fusion"]
    best = max(members, key=lambda m: figures["pixel_auc"][m])
    fusion_auc, best_auc = figures["pixel_auc"]["fusion"], figures["pixel_auc"][best]
    return [f"| {name} ({figures['forged']} forged, {figures['authentic']} authentic) | {fusion_auc:.3f} | "
            f"{best} {best_auc:.3f} | {'yes' if fusion_auc > best_auc else 'NO'} | "
            f"{figures['fusion_image_auc']:.3f} |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noso", type=Path, default=Path("../shared/data/benchmarks/noso"))
    parser.add_argument("--synthetic", type=Path, default=Path("runs/fusion-val"),
                        help="synthetic validation set (written from the validation photographs when absent)")
    parser.add_argument("--store", type=Path, default=Path("runs/result-store"))
    parser.add_argument("--timing-image", type=Path, default=Path("../shared/data/benchmarks/noso/images/06_mod.png"),
                        help="a 1024x768 picture")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set (quick checks)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fusion.md")
    args = parser.parse_args(argv)
    if not args.noso.is_dir():
        print(f"NoSo not found at {args.noso} (../shared is needed)", file=sys.stderr)
        return 2
    if not (args.synthetic / "images").is_dir():
        write_synthetic_benchmark(args.synthetic, 40, 20, 384)
    store = ResultStore(args.store)
    load_before = os.getloadavg()[0]
    sets = {"NoSo": evaluate_set(args.noso, store, args.limit),
            "synthetic validation": evaluate_set(args.synthetic, store, args.limit)}
    timing_evidence = load_evidence(args.timing_image)
    timing = time_fusion(args.timing_image, sorted((args.synthetic / "authentic").iterdir())[0])
    load_after = os.getloadavg()[0]
    noso_image_auc = sets["NoSo"]["fusion_image_auc"]
    lines = [
        "## Fusion (`benchmarks/bench_fusion.py`)",
        "",
        f"Generated by `python benchmarks/bench_fusion.py` on {datetime.now(timezone.utc):%Y-%m-%d} "
        f"({platform.machine()}, {os.cpu_count()} CPUs shared with other work; 1-minute load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end). Pixel AUC: mean over forged images; "
        "image AUC: forged against authentic images by the image score. The best single member is the member "
        "with the highest mean pixel AUC on the same set. Members run with their default parameters and shipped "
        "weights; the fusion model was trained on synthetic forgeries of the training photographs only "
        "(never on NoSo or the validation photographs).",
        "",
        "| data set | fusion pixel AUC | best single member (pixel AUC) | fusion above it | fusion image AUC |",
        "|---|---|---|---|---|",
        *_table("NoSo", sets["NoSo"]),
        *_table("synthetic validation", sets["synthetic validation"]),
        "",
        f"NoSo image AUC of fusion: {noso_image_auc:.3f} (floor {NOSO_IMAGE_AUC_FLOOR}: "
        f"{'met' if noso_image_auc >= NOSO_IMAGE_AUC_FLOOR else 'NOT met'}).",
        "",
        "Mean pixel AUC of every detector on the same images:",
        "",
        "| detector | " + " | ".join(sets) + " |",
        "|---|" + "---|" * len(sets),
    ]
    for name in sets["NoSo"]["pixel_auc"]:
        cells = [f"{figures['pixel_auc'][name]:.3f}" for figures in sets.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cold_wall, cold_cpu = timing["cold"]
    warm_wall, warm_cpu = timing["warm"]
    lines += [
        "",
        f"Fusion on a {timing_evidence.width}x{timing_evidence.height} picture ({args.timing_image.name}), CPU, "
        f"{timing['members']} members:",
        "",
        "| run | wall-clock (s) | CPU (s) | target (s) |",
        "|---|---|---|---|",
        f"| cold (every member runs) | {cold_wall:.1f} | {cold_cpu:.1f} | < {FUSION_SECONDS_FLOOR:.0f} |",
        f"| warm ({timing['reused_warm']} member results reused) | {warm_wall:.1f} | {warm_cpu:.1f} | - |",
        "",
    ]
    write_text_atomic(args.out, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
