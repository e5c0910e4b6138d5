"""Benchmark of the resampling detector (Bunk et al. 2017): prints figures, asserts nothing.

(a) Radon/FFT features of every 64x64 patch (stride 8) of a 1024x768 image, all at once, against
    ``skimage.transform.radon`` + ``numpy.fft.rfft`` called per patch. The per-patch reference runs
    on an evenly spread subset of the patches and its time is extrapolated linearly to all of them
    (each call is independent, so the cost is proportional to the count); both feature sets are
    compared on that subset.
(b) Whole analysis of a 1024x768 image (a NoSo benchmark image when ``../shared`` is there, else a
    synthetic one), Random Walker included, with the shipped weights (median and fastest of three
    runs after a warm-up); with freshly initialised models when none are trained (then marked
    "untrained weights: timing only"). The Random Walker runs only on bimodal maps, so the time of
    segmenting all six maps is printed as well.
(c) Peak memory of analysing a 24-megapixel (6000x4000) image, measured in a fresh child process
    (Linux): its peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs`` once the
    image and the weights are loaded), and the growth of that peak over the resident size before.
(d) Localisation with the shipped weights on resampled splices of the held-out validation photos
    (:func:`forensics_core.synth.benchmark.resampled_splices`: 384x512 crops, scale off 1 by at
    least 0.1 or rotation of at least 5 degrees, hard edges): pixel AUC (mean over images) of each
    ``heatmap`` mode, split by upscaled / downscaled / rotated-only splices, for the benchmark's
    own draw (``VALIDATION_SEED``) and further draws of other seeds (a draw of 30 varies by a few
    hundredths), then over all of them; and the image-level score on splices against untouched
    crops of the same photos. Skipped without ``../shared``.

Run: ``python benchmarks/bench_resampling.py [--parts abcd] [--skip-24mp] [--splices N] [--splice-seeds S ...]
[--write-results]``; ``--write-results`` writes part (d)'s figures to ``benchmarks/results/resampling_splices.md``,
which ``make_results.py`` includes in ``RESULTS.md``. Timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from skimage.transform import radon

from forensics_core import metrics, postprocess
from forensics_core.atomic import write_png_atomic, write_text_atomic
from forensics_core.detectors.base import Detector, Result
from forensics_core.detectors.resampling import HEATMAP_MODES, RANDOM_WALKER_SIDE, ResamplingDetector
from forensics_core.evidence import Evidence, load_evidence
from forensics_core.features.resampling import (
    BUNK_SPEC,
    extract_patches,
    iter_feature_strips,
    laplacian_residual,
)
from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES, ResamplingMLP
from forensics_core.synth.benchmark import VALIDATION_SEED, resampled_splices
from forensics_core.synth.data import find_data_root, load_photo, photo_split

SUBSET = 256
HERE = Path(__file__).resolve().parent
#: Part (d)'s figures, included in RESULTS.md by make_results.py.
RESULTS_FILE = HERE / "results" / "resampling_splices.md"
RUNS = 3


def _synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour field with texture and noise, saved-photo-like (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    low = cv2.resize(rng.random((height // 64 + 2, width // 64 + 2, 3)).astype(np.float32), (width, height),
                     interpolation=cv2.INTER_CUBIC)
    texture = cv2.GaussianBlur(rng.normal(0, 0.08, (height, width)).astype(np.float32), (0, 0), 1.2)
    image = np.clip(low + texture[:, :, None] + rng.normal(0, 0.01, (height, width, 3)), 0, 1)
    return np.rint(image * 255).astype(np.uint8)


def _evidence(folder: Path, height: int, width: int) -> Evidence:
    path = folder / f"synthetic_{width}x{height}.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(_synthetic_photo(height, width), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    return load_evidence(path)


def benchmark_image(folder: Path) -> Evidence:
    """The 1024x768 image the benchmarks time: the first NoSo image, else a synthetic one in ``folder``."""
    root = find_data_root()
    candidates = sorted((root / "benchmarks" / "noso" / "images").glob("*.png")) if root else []
    return load_evidence(candidates[0]) if candidates else _evidence(folder, 768, 1024)


def _reference_features(patch: np.ndarray) -> np.ndarray:
    """The 874 features of one patch with scikit-image and NumPy, as the per-patch baseline."""
    sinogram = radon(patch, theta=np.linspace(0.0, 180.0, BUNK_SPEC.n_angles, endpoint=False), circle=False)
    magnitude = np.abs(np.fft.rfft(sinogram, axis=0)).T
    average = np.maximum(magnitude.mean(axis=0), 1e-8)
    return np.concatenate([magnitude / average, average[None]]).ravel()


def bench_features(evidence: Evidence) -> None:
    residual = laplacian_residual(evidence.luminance())
    list(iter_feature_strips(residual[:64, :64], BUNK_SPEC, 8))  # build the operator outside the timing
    started = time.perf_counter()
    batched = torch.cat([f for _, _, f in iter_feature_strips(residual, BUNK_SPEC, 8)]).numpy()
    batched_s = time.perf_counter() - started
    patches = extract_patches(residual, BUNK_SPEC.patch_size, 8).reshape(-1, BUNK_SPEC.patch_size, BUNK_SPEC.patch_size)
    subset = np.linspace(0, len(patches) - 1, SUBSET).astype(int)
    started = time.perf_counter()
    reference = np.stack([_reference_features(patches[i].astype(np.float64)) for i in subset])
    per_patch_s = (time.perf_counter() - started) / SUBSET
    ours = batched[subset]
    relative = np.abs(ours - reference).max(axis=1) / np.abs(reference).max(axis=1)
    print(f"(a) features of {len(patches)} patches of {evidence.width}x{evidence.height} ({evidence.path.name})")
    print(f"    batched (all patches, float32, CPU):  {batched_s:8.3f} s")
    print(f"    skimage.radon + rfft per patch:        {per_patch_s * 1e3:8.3f} ms/patch x {len(patches)} = "
          f"{per_patch_s * len(patches):8.2f} s (extrapolated from {SUBSET} patches)")
    print(f"    speed-up: {per_patch_s * len(patches) / batched_s:.1f}x;  max relative difference "
          f"(per patch, max|ours - skimage| / max|skimage|): {relative.max():.2e}")


def _detector() -> tuple[ResamplingDetector, str]:
    detector = ResamplingDetector()
    if detector.is_trained():
        return detector, "trained weights"
    torch.manual_seed(0)
    return ResamplingDetector({name: ResamplingMLP() for name in RESAMPLING_CLASSES}), \
        "UNTRAINED WEIGHTS: TIMING ONLY (freshly initialised models)"


def bench_analysis(evidence: Evidence) -> None:
    detector, weights = _detector()
    detector.run(evidence)  # warm-up: operator, caches
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = detector.run(evidence)
        times.append(time.perf_counter() - started)
    kept = [name for name, summary in result.per_class.items() if summary.kept]
    started = time.perf_counter()
    for summary in result.per_class.values():
        postprocess.random_walker_segment(result.extra_maps[summary.map_name], summary.otsu_threshold,
                                          max_side=RANDOM_WALKER_SIDE)
    walker_all = time.perf_counter() - started
    print(f"(b) whole analysis of {evidence.width}x{evidence.height} ({evidence.path.name}), {weights}")
    print(f"    median {np.median(times):.2f} s, fastest {min(times):.2f} s of {RUNS} runs (target < 5 s); "
          f"bimodal maps segmented: {len(kept)} {kept}; "
          f"score {result.score:.3f}; torch threads {torch.get_num_threads()}")
    print(f"    Random Walker on all six maps would take {walker_all:.2f} s")


def _memory_kib(field: str) -> int:
    """``VmRSS`` (current) or ``VmHWM`` (peak since the last reset) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_peak_memory(detector: Detector, evidence: Evidence, params: dict[str, Any] | None = None
                        ) -> tuple[Result, dict[str, Any]]:
    """Run ``detector`` on ``evidence`` and measure this process's memory (call it in a child process).

    The peak (``VmHWM``) is reset to the current resident size just before the run. Returns the
    result and ``before_kib``, ``peak_kib``, ``seconds``, ``height`` and ``width``.
    """
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _memory_kib("VmRSS")
    started = time.perf_counter()
    result = detector.run(evidence, params)
    seconds = time.perf_counter() - started
    return result, {"before_kib": before, "peak_kib": _memory_kib("VmHWM"), "seconds": seconds,
                    "height": evidence.height, "width": evidence.width}


def child_figures(script: str, image: Path, *extra_args: str) -> dict[str, Any]:
    """Run ``script --memory-child IMAGE EXTRA...`` in a fresh process; its last stdout line, as JSON."""
    child = subprocess.run([sys.executable, script, "--memory-child", str(image), *extra_args],
                           capture_output=True, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def _memory_child(path: str) -> None:
    detector, weights = _detector()
    result, figures = measure_peak_memory(detector, load_evidence(path))
    print(json.dumps({**figures, "weights": weights, "maps": len(result.extra_maps)}))


def bench_memory(folder: Path) -> None:
    evidence = _evidence(folder, 4000, 6000)
    figures = child_figures(__file__, evidence.path)
    growth = (figures["peak_kib"] - figures["before_kib"]) / 1024 ** 2
    print(f"(c) {figures['width']}x{figures['height']} ({figures['width'] * figures['height'] / 1e6:.0f} MP), "
          f"{figures['weights']}: peak RSS of the process {figures['peak_kib'] / 1024 ** 2:.2f} GiB, of which "
          f"{growth:.2f} GiB allocated by the analysis (target < 4 GB); {figures['seconds']:.1f} s, "
          f"{figures['maps']} extra maps")


def _splice_group(record: dict) -> str:
    if record["scale"] >= 1.1:
        return "upscaled"
    if record["scale"] <= 0.9:
        return "downscaled"
    return "rotated only"


def bench_localisation(folder: Path, count: int, seeds: Sequence[int]) -> list[str] | None:
    """Print part (d); return its figures as Markdown lines for ``benchmarks/results/`` (None if skipped)."""
    detector = ResamplingDetector()
    if find_data_root() is None or not detector.is_trained():
        print("(d) skipped: needs ../shared/data and the trained weights")
        return None
    print(f"(d) localisation on resampled splices of validation photos, {count} per draw; pixel AUC, "
          "mean over images (target > 0.8):")
    table = ["## Resampled splices: localisation by `resampling` (pixel AUC, mean over images)", "",
             f"Generated by `python benchmarks/bench_resampling.py --parts d --write-results` "
             f"({count} resampled splices of held-out validation photos per draw, 384x512, shipped weights; "
             f"seed {VALIDATION_SEED} is the benchmark's own draw).", "",
             "| draw (seed) | splices | " + " | ".join(f"heatmap={mode}" for mode in HEATMAP_MODES) + " |",
             "|" + "---|" * (2 + len(HEATMAP_MODES))]
    overall: dict[str, list[float]] = {mode: [] for mode in HEATMAP_MODES}
    scores = []
    for seed in seeds:
        aucs: dict[str, list[tuple[str, float]]] = {mode: [] for mode in HEATMAP_MODES}
        for index, (image, mask, record) in enumerate(resampled_splices(count, seed=seed)):
            evidence = load_evidence(write_png_atomic(folder / f"splice_{seed}_{index}.png", image))
            for mode in HEATMAP_MODES:
                result = detector.run(evidence, {"heatmap": mode})
                aucs[mode].append((_splice_group(record), metrics.pixel_auc(result.heatmap, mask)))
            scores.append(result.score)
        groups = sorted({group for group, _ in aucs[HEATMAP_MODES[0]]})
        counts = ", ".join(f"{sum(g == group for g, _ in aucs[HEATMAP_MODES[0]])} {group}" for group in groups)
        label = "benchmark draw" if seed == VALIDATION_SEED else "further draw"
        print(f"  seed {seed} ({label}; {counts}):")
        for mode in HEATMAP_MODES:
            by_group = "; ".join(f"{group} {np.mean([a for g, a in aucs[mode] if g == group]):.3f}" for group in groups)
            print(f"    heatmap={mode:<10} all {np.mean([a for _, a in aucs[mode]]):.3f}  ({by_group})")
            overall[mode] += [a for _, a in aucs[mode]]
        table.append(f"| {seed} | {counts} | " + " | ".join(
            f"{np.mean([a for _, a in aucs[mode]]):.3f}" for mode in HEATMAP_MODES) + " |")
    if len(seeds) > 1:
        print(f"  all {len(overall[HEATMAP_MODES[0]])} splices: " +
              ", ".join(f"{mode} {np.mean(values):.3f}" for mode, values in overall.items()))
        table.append(f"| all | {len(overall[HEATMAP_MODES[0]])} | " + " | ".join(
            f"{np.mean(values):.3f}" for values in overall.values()) + " |")
    pristine_scores = []
    for index, photo in enumerate(photo_split(include_large=False).val[:count]):
        crop = np.ascontiguousarray(load_photo(photo)[:384, :512])
        evidence = load_evidence(write_png_atomic(folder / f"pristine_{index}.png", crop))
        pristine_scores.append(detector.run(evidence).score)
    labels = [1] * len(scores) + [0] * len(pristine_scores)
    image_auc = metrics.image_auc(scores + pristine_scores, labels)
    score_text = (f"image score: splices mean {np.mean(scores):.3f}, untouched crops mean "
                  f"{np.mean(pristine_scores):.3f} (max {np.max(pristine_scores):.3f}); image AUC {image_auc:.3f}")
    print(f"    {score_text}")
    return table + ["", f"Default settings' {score_text} ({len(pristine_scores)} untouched crops).", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-24mp", action="store_true", help="skip the 24-megapixel memory measurement")
    parser.add_argument("--splices", type=int, default=30, help="resampled splices for (d); 0 skips it")
    parser.add_argument("--splice-seeds", type=int, nargs="+", default=[VALIDATION_SEED, 12345, 777],
                        help="seeds of the splice draws for (d); the first is the benchmark's own")
    parser.add_argument("--parts", default="abcd", help="which parts to run, e.g. 'd' (default: abcd)")
    parser.add_argument("--write-results", action="store_true",
                        help=f"write part (d)'s figures to {RESULTS_FILE.relative_to(HERE.parent)} "
                             "(included in RESULTS.md by make_results.py)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if "a" in args.parts or "b" in args.parts:
            evidence = benchmark_image(Path(tmp))
        if "a" in args.parts:
            bench_features(evidence)
        if "b" in args.parts:
            bench_analysis(evidence)
        if "c" in args.parts and not args.skip_24mp:
            bench_memory(Path(tmp))
        if "d" in args.parts and args.splices:
            table = bench_localisation(Path(tmp), args.splices, args.splice_seeds)
            if table is not None and args.write_results:
                write_text_atomic(RESULTS_FILE, "\n".join(table))
                print(f"written: {RESULTS_FILE}")


if __name__ == "__main__":
    main()
