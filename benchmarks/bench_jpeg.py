"""Benchmark of the training-free JPEG detectors: localisation, detection and speed.

For each of ``ela``, ``jpeg-ghost``, ``double-jpeg`` and ``jpeg-grid`` this prints, and writes to
``benchmarks/results/jpeg_detectors.md``:

* pixel AUC, F1 at the detector's default threshold and image AUC on NoSo (1024x768 PNG
  copy-move forgeries, Novozamsky & Sorel 2018) and on the synthetic JPEG-splice set the
  forgery factory makes from the validation photographs
  (:mod:`forensics_core.synth.jpeg_splices`: aligned and non-aligned double compression,
  q1 and q2 drawn from 60..98, regions pasted from uncompressed photographs);
* the synthetic set's pixel AUC split by kind (aligned / non-aligned) and by whether the first
  quality was below the last (q1 < q2: the double-quantisation traces exist; q1 >= q2: they
  are mostly gone, for every method);
* seconds per megapixel over each set, and seconds for one 12-megapixel (4000x3000) JPEG.

Run ``python benchmarks/bench_jpeg.py`` (about ten minutes on two cores); ``--quick`` uses 12
synthetic forgeries and 6 authentic images. Timings depend on the machine's load, which is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from forensics_core.atomic import write_text_atomic
from forensics_core.detectors import get_detector
from forensics_core.errors import ForensicsError
from forensics_core.evaluation import evaluate_folder
from forensics_core.synth.data import find_data_root, load_photo, photo_split
from forensics_core.synth.jpeg_splices import encode_jpeg, write_jpeg_splice_benchmark

from detector_timing import figure, time_detectors

HERE = Path(__file__).resolve().parent
DETECTORS = ("ela", "jpeg-ghost", "double-jpeg", "jpeg-grid")
#: The issue's speed targets for a 12-megapixel JPEG on a CPU (seconds).
SPEED_TARGETS = {"ela": 2.0, "double-jpeg": 2.0, "jpeg-ghost": 10.0, "jpeg-grid": 10.0}


def evaluate(folder: Path, detector_id: str) -> dict | str:
    """``evaluate_folder``'s summary, or the refusal message when the detector cannot read the set."""
    try:
        return evaluate_folder(folder, get_detector(detector_id), device="cpu")
    except ForensicsError as exc:
        return f"n/a ({str(exc).split(';')[0]})"


def breakdown(summary: dict, records: dict) -> dict[str, float]:
    """Mean pixel AUC of the synthetic forgeries by kind and by q1 < q2 versus q1 >= q2."""
    groups: dict[str, list[float]] = {}
    for row in summary["per_image"]:
        if not row["forged"] or not np.isfinite(row["auc"]):
            continue
        record = records[row["name"]]
        order = "q1<q2" if record["q1"] < record["q2"] else "q1>=q2"
        for key in (record["kind"], order, f"{record['kind']} {order}"):
            groups.setdefault(key, []).append(row["auc"])
    return {key: float(np.mean(values)) for key, values in sorted(groups.items())}


def twelve_megapixel_jpeg(folder: Path) -> Path:
    """A 4000x3000 JPEG at quality 85: a validation photograph enlarged, with fine grain added."""
    photo = load_photo(photo_split(include_large=False).val[0])
    big = cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big += np.random.default_rng(0).normal(0.0, 3.0, big.shape).astype(np.float32)
    path = folder / "twelve_mp.jpg"
    path.write_bytes(encode_jpeg(np.clip(np.rint(big), 0, 255).astype(np.uint8), 85))
    return path


def markdown(noso: dict, synthetic: dict, groups: dict, speed: dict, counts: str, load: str) -> str:
    """The results table as Markdown."""
    lines = [
        "## Training-free JPEG detectors (ela, jpeg-ghost, double-jpeg, jpeg-grid)",
        "",
        f"Measured by `benchmarks/bench_jpeg.py`; {counts}. Machine load while measuring: {load}.",
        "Pixel AUC and F1 (at each detector's default threshold) are means over forged images; image AUC "
        "ranks forged against authentic images by the detector's image score. NoSo is PNG copy-move: "
        "its forgeries carry no JPEG history to find, so figures near 0.5 are expected there and "
        "`double-jpeg` refuses PNG files. Defaults: photoholmes' DQ configuration (10 zig-zag frequencies) "
        "for `double-jpeg`, NFA < 1 as in the ZERO paper and photoholmes for `jpeg-grid`; Farid's b = 16 "
        "for `jpeg-ghost`.",
        "",
        "| detector | NoSo pixel AUC | NoSo F1 | NoSo image AUC | NoSo s/MP | JPEG-splice pixel AUC | "
        "JPEG-splice F1 | JPEG-splice image AUC | JPEG-splice s/MP | 12 MP JPEG wall (s) | 12 MP JPEG CPU (s) | "
        "target (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for detector_id in DETECTORS:
        n, s = noso.get(detector_id, "not run"), synthetic[detector_id]
        lines.append(
            f"| `{detector_id}` | {figure(n, 'pixel_auc')} | {figure(n, 'pixel_f1')} | {figure(n, 'image_auc')} | "
            f"{figure(n, 'seconds_per_megapixel', 2)} | {figure(s, 'pixel_auc')} | {figure(s, 'pixel_f1')} | "
            f"{figure(s, 'image_auc')} | {figure(s, 'seconds_per_megapixel', 2)} | "
            f"{speed[detector_id][0]:.2f} | {speed[detector_id][1]:.2f} | < {SPEED_TARGETS[detector_id]:g} |")
    lines += ["", "JPEG-splice pixel AUC by kind of forgery:", "",
              "| detector | " + " | ".join(next(iter(groups.values())).keys()) + " |",
              "|---|" + "---|" * len(next(iter(groups.values())))]
    for detector_id, values in groups.items():
        lines.append(f"| `{detector_id}` | " + " | ".join(f"{v:.3f}" for v in values.values()) + " |")
    lines += [
        "",
        "How to read the split (by construction of the set, not measured): in every JPEG splice the "
        "background carries the first compression and the pasted region does not. `jpeg-ghost` therefore "
        "lights up the background when q1 < q2 (a pixel AUC below 0.5 is the method working on the other "
        "side of the boundary); `double-jpeg` models aligned double quantisation only, so a non-aligned "
        "background looks single-compressed like the region (the non-aligned model of Bianchi & Piva 2012 "
        "is not implemented); when q1 >= q2 the first quantisation leaves little or no trace for any "
        "method; `jpeg-grid` sees a grid difference only where the last save keeps the first grid (high q2).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run every part and write the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 forgeries and 6 authentic images")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "jpeg_detectors.md")
    args = parser.parse_args()
    root = find_data_root()
    if root is None:
        print("No shared data (../shared/data or TAMPER_DATA_DIR): nothing to benchmark.")
        return 1
    forged, authentic = (12, 6) if args.quick else (40, 20)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    print(f"load average: {load}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_jpeg_splice_benchmark(Path(tmp) / "jpeg_splices", forged, authentic)
        records = json.loads((folder / "records.json").read_text())
        noso_dir = root / "benchmarks" / "noso"
        noso, synthetic, groups = {}, {}, {}
        for detector_id in DETECTORS:
            synthetic[detector_id] = evaluate(folder, detector_id)
            if isinstance(synthetic[detector_id], dict):
                groups[detector_id] = breakdown(synthetic[detector_id], records)
            print(f"{detector_id} on JPEG splices: pixel AUC {figure(synthetic[detector_id], 'pixel_auc')}, "
                  f"F1 {figure(synthetic[detector_id], 'pixel_f1')}, image AUC "
                  f"{figure(synthetic[detector_id], 'image_auc')}, "
                  f"{figure(synthetic[detector_id], 'seconds_per_megapixel', 2)} s/MP; by kind {groups.get(detector_id)}")
            if noso_dir.is_dir():
                noso[detector_id] = evaluate(noso_dir, detector_id)
                print(f"{detector_id} on NoSo: pixel AUC {figure(noso[detector_id], 'pixel_auc')}, F1 "
                      f"{figure(noso[detector_id], 'pixel_f1')}, image AUC {figure(noso[detector_id], 'image_auc')}, "
                      f"{figure(noso[detector_id], 'seconds_per_megapixel', 2)} s/MP")
        big = twelve_megapixel_jpeg(Path(tmp))
        (Path(tmp) / "warm_up.jpg").write_bytes(encode_jpeg(load_photo(photo_split(include_large=False).val[1]), 85))
        speed = time_detectors(DETECTORS, big, Path(tmp) / "warm_up.jpg")
        for detector_id, (wall, cpu) in speed.items():
            verdict = "meets" if wall < SPEED_TARGETS[detector_id] else "MISSES"
            print(f"{detector_id}: {wall:.2f} s wall-clock ({cpu:.2f} s CPU) on a 12 MP JPEG "
                  f"({verdict} the < {SPEED_TARGETS[detector_id]:g} s target at this load)")
    counts = (f"JPEG-splice set: {forged} forgeries (half aligned, half non-aligned) and {authentic} authentic JPEGs "
              "(half single, half double compressed) of the validation photographs; NoSo: 18 forgeries, 13 authentic. "
              "Wall-clock times depend on the load; CPU time is the sum over threads")
    write_text_atomic(args.out, markdown(noso, synthetic, groups, speed, counts, load))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
