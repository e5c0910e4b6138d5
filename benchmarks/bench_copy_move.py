"""Benchmark of the copy-move detector: prints figures, asserts nothing.

(a) NoSo (Novozamsky & Sorel 2018, 18 copy-moves, 13 authentic; the masks mark both the source and
    the copy): pixel AUC, F1 and MCC at the default threshold (averaged over the forged images)
    and image AUC, through the same evaluation code as ``tamper-workbench evaluate``.
(b) Copy-moves from the forgery factory (:func:`forensics_core.synth.manipulations.copy_move`:
    scale 0.6-1.6, rotation +-30 degrees, shear, object-shaped regions) of the held-out validation
    photographs, half of them saved as JPEG at quality 75-95; the ground truth is the copy and its
    source. Same figures as (a), and the share of images with at least one verified pair.
(c) Speed: ``Detector.run`` on a 1024x768 image (first NoSo image) and on a 12 MP mosaic of
    pristine photographs (4000x3000), best of ``--repeats`` runs.
(d) Peak memory on a 24 MP mosaic (6000x4000) in a fresh child process (Linux ``VmHWM``).

Run: ``python benchmarks/bench_copy_move.py [--repeats N] [--skip-memory] [--speed-only]``. The
tables are also written to ``benchmarks/results/copy_move.md`` (a, b) and ``copy_move_speed.md``
(c, d). Wall-clock times depend on the machine's load (printed); CPU times (all threads of the
process) much less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from forensics_core.atomic import write_text_atomic
from forensics_core.detectors.copy_move import CopyMoveDetector
from forensics_core.evaluation import evaluate_folder
from forensics_core.evidence import load_evidence
from forensics_core.synth import manipulations, transforms
from forensics_core.synth.data import find_data_root, load_photo, object_masks, photo_split, read_mask

from bench_resampling import benchmark_image, child_figures, measure_peak_memory
from detector_timing import wall_and_cpu_seconds

HERE = Path(__file__).resolve().parent
TARGETS = {"1024x768": 15.0, "12 MP": 60.0}


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def factory_copy_moves(folder: Path, count: int, seed: int = 7) -> Path:
    """A benchmark folder of ``count`` factory copy-moves of validation photographs (masks: copy and
    source) and ``count // 2`` untouched validation photographs."""
    rng = np.random.default_rng(seed)
    photos = photo_split().val
    masks = object_masks()
    for sub in ("images", "masks", "authentic"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        photo = load_photo(photos[index % len(photos)])
        region = read_mask(masks[int(rng.integers(len(masks)))])
        region = cv2.resize(region.astype(np.uint8), (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        # Object masks cover 3-30 % of their frame; shrink the region so that the copy fits beside it.
        scale = float(rng.uniform(0.35, 0.6))
        small = cv2.resize(region.astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) > 0
        region = np.zeros_like(region)
        region[:small.shape[0], :small.shape[1]] = small
        shift = (int(rng.integers(0, photo.shape[0] - small.shape[0] + 1)), int(rng.integers(0, photo.shape[1] - small.shape[1] + 1)))
        region = np.roll(region, shift, axis=(0, 1))
        if region.sum() < 400:
            continue
        forged, copy_mask, _ = manipulations.copy_move(photo, region, rng, feather_radius=0.0)
        if index % 2:
            forged = transforms.jpeg_roundtrip(forged, int(rng.integers(75, 96)), (0, 0))
        _write_png(folder / "images" / f"{index:03d}.png", forged)
        cv2.imwrite(str(folder / "masks" / f"{index:03d}.png"), ((copy_mask | region) * 255).astype(np.uint8))
    for index in range(count // 2):
        _write_png(folder / "authentic" / f"{index:03d}.png", load_photo(photos[(count + index) % len(photos)]))
    return folder


def mosaic(folder: Path, height: int, width: int, name: str) -> Path:
    """A ``width`` x ``height`` PNG tiled with pristine photographs (about 1000 px per tile)."""
    photos = photo_split().train
    canvas = np.zeros((height, width, 3), np.uint8)
    rows, cols = max(1, round(height / 1000)), max(1, round(width / 1000))
    edges_y = np.linspace(0, height, rows + 1).astype(int)
    edges_x = np.linspace(0, width, cols + 1).astype(int)
    for tile in range(rows * cols):
        r, c = divmod(tile, cols)
        size = (edges_x[c + 1] - edges_x[c], edges_y[r + 1] - edges_y[r])
        canvas[edges_y[r]:edges_y[r + 1], edges_x[c]:edges_x[c + 1]] = cv2.resize(
            load_photo(photos[(7 * tile) % len(photos)]), size, interpolation=cv2.INTER_CUBIC)
    return _write_png(folder / name, canvas)


def evaluate(name: str, folder: Path, detector: CopyMoveDetector) -> dict[str, Any]:
    """Run the evaluation and print its figures."""
    summary = evaluate_folder(folder, detector)
    detected = sum(1 for r in summary["per_image"] if r["forged"] and r["f1"] > 0)
    print(f"{name}: {summary['images']} forged, {summary['authentic']} authentic: pixel AUC {summary['pixel_auc']:.3f}, "
          f"F1 {summary['pixel_f1']:.3f}, MCC {summary['pixel_mcc']:.3f}, image AUC {summary.get('image_auc', float('nan')):.3f}, "
          f"forged images with a detection {detected}/{summary['images']}, {summary['seconds_per_megapixel']:.2f} s/MP")
    for row in summary["per_image"]:
        extra = f"AUC {row['auc']:.3f} F1 {row['f1']:.3f}" if row["forged"] else "authentic"
        print(f"    {row['name']:<16} score {row['score']:.3f}  {extra}")
    return summary


def timed(detector: CopyMoveDetector, path: Path, repeats: int) -> tuple[float, float, int]:
    """Best wall-clock seconds of ``repeats`` runs on ``path``, the CPU seconds of that run (all of
    this process's threads; on a machine whose cores are shared with other work this is close to
    what the run would take alone) and the number of pairs found."""
    evidence = load_evidence(path)
    best, best_cpu, pairs = float("inf"), float("inf"), 0
    for _ in range(repeats):
        wall, cpu, result = wall_and_cpu_seconds(lambda: detector.run(evidence))
        if wall < best:
            best, best_cpu = wall, cpu
        pairs = len(result.extra["pairs"])
    return best, best_cpu, pairs


def speed_and_memory(detector: CopyMoveDetector, repeats: int, memory: bool) -> list[str]:
    """Parts (c) and (d): print them and return their markdown table."""
    rows = []
    with tempfile.TemporaryDirectory() as big:
        small = benchmark_image(Path(big)).path
        for label, path in (("1024x768", small), ("12 MP", mosaic(Path(big), 3000, 4000, "12mp.png"))):
            load = os.getloadavg()[0]
            seconds, cpu, pairs = timed(detector, path, repeats)
            print(f"(c) {label}: best {seconds:.1f} s wall, {cpu:.1f} s CPU, of {repeats} (target < {TARGETS[label]:.0f} s), "
                  f"{pairs} pairs; load average {load:.1f}", flush=True)
            rows.append(f"| {label} | {seconds:.1f} s wall, {cpu:.1f} s CPU (load average {load:.1f}) | < {TARGETS[label]:.0f} s |")
        if memory:
            figures = child_figures(__file__, mosaic(Path(big), 4000, 6000, "24mp.png"))
            peak = figures["peak_kib"] / 1024 ** 2
            print(f"(d) 6000x4000 (24 MP): peak RSS {peak:.2f} GiB (target < 4 GB), "
                  f"{(figures['peak_kib'] - figures['before_kib']) / 1024 ** 2:.2f} GiB allocated by the analysis, "
                  f"{figures['seconds']:.1f} s, {figures['pairs']} pairs", flush=True)
            rows.append(f"| peak memory, 24 MP | {peak:.2f} GiB | < 4 GB |")
    return [
        "### Copy-move detector: speed and memory",
        "",
        f"Generated by `python benchmarks/bench_copy_move.py` on {datetime.now(timezone.utc):%Y-%m-%d} "
        f"({os.cpu_count()} CPUs shared with other work; wall-clock time depends on the load, CPU time "
        "much less).",
        "",
        "| measure | measured | target |",
        "|---|---|---|",
        *rows,
        "",
    ]


def _memory_child(path: str) -> None:
    import json

    result, figures = measure_peak_memory(CopyMoveDetector(), load_evidence(path))
    print(json.dumps({**figures, "pairs": len(result.extra["pairs"])}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--factory-count", type=int, default=24)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--noso-only", action="store_true", help="part (a) only; writes no table")
    parser.add_argument("--speed-only", action="store_true", help="parts (c) and (d) only")
    parser.add_argument("--memory-child")
    args = parser.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return 0
    detector = CopyMoveDetector()
    if args.speed_only:
        table = speed_and_memory(detector, args.repeats, not args.skip_memory)
        write_text_atomic(HERE / "results" / "copy_move_speed.md", "\n".join(table))
        print(f"wrote {HERE / 'results' / 'copy_move_speed.md'}")
        return 0
    root = find_data_root()
    if root is None:
        raise SystemExit("../shared/data is needed for this benchmark")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    rows = []
    noso = evaluate("(a) NoSo", root / "benchmarks" / "noso", detector)
    rows.append(["NoSo (18 forged, 13 authentic)", noso])
    if args.noso_only:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = factory_copy_moves(Path(tmp) / "factory", args.factory_count)
        factory = evaluate("(b) factory copy-moves", folder, detector)
        rows.append([f"factory copy-moves of validation photos ({factory['images']} forged, "
                     f"{factory['authentic']} authentic)", factory])
    lines = [
        "## Copy-move detector",
        "",
        f"Generated by `python benchmarks/bench_copy_move.py` on {datetime.now(timezone.utc):%Y-%m-%d}.",
        "Masks mark both the source and the copy; F1 and MCC at the default threshold (0.5), averaged over",
        "the forged images; pixel AUC averaged over the forged images; image AUC from the image score.",
        "",
        "| data set | pixel AUC | F1 | MCC | image AUC |",
        "|---|---|---|---|---|",
        *(f"| {name} | {s['pixel_auc']:.3f} | {s['pixel_f1']:.3f} | {s['pixel_mcc']:.3f} | "
          f"{s.get('image_auc', float('nan')):.3f} |" for name, s in rows),
        "",
    ]
    write_text_atomic(HERE / "results" / "copy_move.md", "\n".join(lines))
    print(f"wrote {HERE / 'results' / 'copy_move.md'}")
    write_text_atomic(HERE / "results" / "copy_move_speed.md",
                      "\n".join(speed_and_memory(detector, args.repeats, not args.skip_memory)))
    print(f"wrote {HERE / 'results' / 'copy_move_speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
