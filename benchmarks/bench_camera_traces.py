"""Benchmark of the training-free camera-trace detectors: localisation, detection and speed.

For ``splicebuster``, ``cfa``, ``noise-level`` and the ``noise-baseline`` this prints, and writes to
``benchmarks/results/camera_traces.md``:

* pixel AUC, F1 at the detector's default threshold, image AUC and seconds per megapixel on
  - camera-like splices of the validation photographs (:mod:`forensics_core.synth.camera`: each
    photograph recorded through a Bayer mosaic with sensor noise and OpenCV demosaicing, a region
    pasted from the same photograph with three times the noise, VNG demosaicing on a shifted CFA,
    or resampled by 1.5; 30 forgeries, kinds in turn, and 15 camera-like originals), with the
    pixel AUC by kind;
  - the synthetic validation set of the forgery factory (40 forgeries, 20 pristine;
    :func:`forensics_core.synth.benchmark.write_synthetic_benchmark`);
  - NoSo (18 copy-move forgeries, 13 authentic; Novozamsky & Sorel 2018);
* for ``cfa``, in how many pictures of each set it found a CFA trace at all;
* wall-clock and CPU seconds for one 12-megapixel (4000x3000) camera-like picture.

Run ``python benchmarks/bench_camera_traces.py`` from the repository root (a few minutes on two
cores); ``--quick`` uses 9 camera-like forgeries and 6 of everything else. Timings depend on the
machine's load, which is printed and written with the table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from forensics_core.atomic import write_text_atomic
from forensics_core.detectors import get_detector
from forensics_core.evaluation import benchmark_items, evaluate_folder
from forensics_core.evidence import load_evidence
from forensics_core.synth.benchmark import write_synthetic_benchmark
from forensics_core.synth.camera import SPLICE_KINDS, camera_pipeline, write_camera_splice_benchmark
from forensics_core.synth.data import find_data_root, load_photo, photo_split

from detector_timing import figure, time_detectors

HERE = Path(__file__).resolve().parent
DETECTORS = ("splicebuster", "cfa", "noise-level", "noise-baseline")
#: The issue's speed targets for a 12-megapixel picture on a CPU (seconds).
SPEED_TARGETS = {"splicebuster": 10.0, "cfa": 3.0, "noise-level": 3.0, "noise-baseline": 3.0}


def kind_aucs(summary: dict) -> dict[str, float]:
    """Mean pixel AUC of the camera-like forgeries by kind (the kind ends each file name)."""
    groups: dict[str, list[float]] = {kind: [] for kind in SPLICE_KINDS}
    for row in summary["per_image"]:
        if row["forged"] and np.isfinite(row["auc"]):
            groups[row["name"].rsplit("_", 1)[-1]].append(row["auc"])
    return {kind: float(np.mean(values)) if values else float("nan") for kind, values in groups.items()}


def cfa_trace_count(folder: Path, limit: int | None) -> str:
    """``k of n``: pictures of ``folder`` (forged and authentic) in which ``cfa`` found a CFA trace."""
    items = benchmark_items(folder)
    if limit is not None:
        items = [i for i in items if i.mask is not None][:limit] + [i for i in items if i.mask is None][:limit]
    detector = get_detector("cfa")
    found = sum(bool(detector.run(load_evidence(i.image), device="cpu").extra["cfa_trace"]) for i in items)
    return f"{found} of {len(items)}"


def twelve_megapixel_picture(folder: Path) -> Path:
    """A 4000x3000 camera-like PNG: a validation photograph enlarged as the scene, then recorded
    through the camera pipeline (so that every detector has its full work to do)."""
    photo = load_photo(photo_split(include_large=False).val[0])
    scene = cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    picture = camera_pipeline(np.clip(scene, 0.0, 1.0), np.random.default_rng(0))
    path = folder / "twelve_mp.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    return path


def print_speed(detector_id: str, wall: float, cpu: float) -> None:
    """One line per detector as its 12 MP run ends."""
    print(f"{detector_id}: {wall:.2f} s wall-clock, {cpu:.2f} s CPU on 12 MP "
          f"(target < {SPEED_TARGETS[detector_id]:g} s)", flush=True)


def markdown(results: dict, kinds: dict, traces: dict, speed: dict, counts: str, load: str) -> str:
    """The results tables as Markdown."""
    sets = list(next(iter(results.values())))
    lines = [
        "## Camera-trace detectors (splicebuster, cfa, noise-level) and the noise baseline",
        "",
        f"Measured by `benchmarks/bench_camera_traces.py`; {counts}. Machine load while measuring: {load}.",
        "Pixel AUC and F1 (at each detector's default threshold) are means over forged images; image AUC "
        "ranks forged against authentic images by the image score. The validation photographs and NoSo "
        "were resized or compressed before they reached us, so they carry no camera demosaicing trace: "
        "`cfa` says so (empty map, pixel AUC 0.5) on them, and the noise traces are weak. NoSo is copy-move "
        "within one picture, whose noise and CFA match the host's.",
        "",
        "| detector | data set | pixel AUC | F1 | image AUC | s/MP |",
        "|---|---|---|---|---|---|",
    ]
    for detector_id, per_set in results.items():
        for name in sets:
            s = per_set[name]
            lines.append(f"| `{detector_id}` | {name} | {figure(s, 'pixel_auc')} | {figure(s, 'pixel_f1')} | "
                         f"{figure(s, 'image_auc')} | {figure(s, 'seconds_per_megapixel', 2)} |")
    lines += ["", "Camera-like splices, pixel AUC by kind of pasted region:", "",
              "| detector | " + " | ".join(SPLICE_KINDS) + " |", "|---|" + "---|" * len(SPLICE_KINDS)]
    for detector_id, values in kinds.items():
        lines.append(f"| `{detector_id}` | " + " | ".join(f"{values[k]:.3f}" for k in SPLICE_KINDS) + " |")
    lines += ["", "Pictures in which `cfa` found a CFA trace: "
              + "; ".join(f"{name}: {count}" for name, count in traces.items()) + ".", "",
              "One 12-megapixel (4000x3000) camera-like picture:", "",
              "| detector | wall-clock (s) | CPU (s) | target (s) |", "|---|---|---|---|"]
    for detector_id, (wall, cpu) in speed.items():
        lines.append(f"| `{detector_id}` | {wall:.2f} | {cpu:.2f} | < {SPEED_TARGETS[detector_id]:g} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run every part and write the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="9 camera-like forgeries, 6 of everything else")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "camera_traces.md")
    args = parser.parse_args()
    root = find_data_root()
    if root is None:
        print("No shared data (../shared/data or TAMPER_DATA_DIR): nothing to benchmark.")
        return 1
    limit = 6 if args.quick else None
    camera_forged, camera_authentic = (9, 6) if args.quick else (30, 15)
    load_before = os.getloadavg()
    print(f"load average: {load_before} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            f"camera-like splices ({camera_forged} forged, {camera_authentic} originals)":
                write_camera_splice_benchmark(Path(tmp) / "camera", camera_forged, camera_authentic),
            "synthetic validation (40 forged, 20 pristine)" if limit is None else "synthetic validation (6 + 6)":
                write_synthetic_benchmark(Path(tmp) / "synthetic"),
            "NoSo (18 forged, 13 authentic)" if limit is None else "NoSo (6 + 6)": root / "benchmarks" / "noso",
        }
        results: dict[str, dict[str, dict]] = {}
        kinds = {}
        for detector_id in DETECTORS:
            results[detector_id] = {}
            for name, folder in folders.items():
                summary = evaluate_folder(folder, get_detector(detector_id), device="cpu", limit=limit)
                results[detector_id][name] = summary
                print(f"{detector_id} on {name}: pixel AUC {figure(summary, 'pixel_auc')}, F1 "
                      f"{figure(summary, 'pixel_f1')}, image AUC {figure(summary, 'image_auc')}, "
                      f"{figure(summary, 'seconds_per_megapixel', 2)} s/MP", flush=True)
            kinds[detector_id] = kind_aucs(results[detector_id][next(iter(folders))])
            print(f"{detector_id} camera-like pixel AUC by kind: {kinds[detector_id]}", flush=True)
        traces = {name: cfa_trace_count(folder, limit) for name, folder in folders.items()}
        print(f"cfa found a CFA trace in: {traces}", flush=True)
        warm_up = Path(tmp) / "camera" / "authentic" / "camera_000.png"
        speed = time_detectors(DETECTORS, twelve_megapixel_picture(Path(tmp)), warm_up, report=print_speed)
    load_after = os.getloadavg()
    load = (f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end (1-minute load average) "
            f"on {os.cpu_count()} CPUs")
    counts = ("wall-clock times grow with the load, CPU time (summed over threads) much less so")
    write_text_atomic(args.out, markdown(results, kinds, traces, speed, counts, load))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
