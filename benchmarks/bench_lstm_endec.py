"""Benchmark of LSTM-EnDec (Bappy et al., TIP 2019) and J-Conv-LSTM-Conv (ICCV 2017): prints, asserts nothing.

(a) Time of ``Detector.run`` on a 1024x768 image (a NoSo image when ``../shared`` is there, else a
    synthetic one) on the CPU: LSTM-EnDec in ``resize`` mode (target: under 1 s) and in ``tiled``
    mode, and J-Conv-LSTM-Conv at its default stride, with torch's default thread count and with
    one thread (on a machine whose two cores are busy with other work, two OpenMP threads can be
    far slower than one; the load average is printed). Untrained detectors are timed with a
    freshly initialised network ("timing only": the cost does not depend on the weights).
(b) What the resize to 256x256 costs. Test images: resampled splices made by
    :func:`forensics_core.synth.manipulations.splice` (scale 0.6-1.6, rotation, shear, bilinear or
    bicubic resampling) of a held-out validation photograph into a 1024x768 NoSo *authentic*
    photograph (neither is a training photograph). Two figures:

    * the traces themselves: pixel AUC of the trained resampling detector (Bunk et al., the
      method built to see them; Random Walker off) at full resolution vs on the image resized to
      256x256 as the resize mode sees it (heatmap enlarged back), skipped when it is untrained;
    * with the trained LSTM-EnDec weights (skipped when there are none): pixel AUC of the heatmap
      in ``resize`` vs ``tiled`` mode.

Run: ``python benchmarks/bench_lstm_endec.py [--images N] [--repeats N]``. Timings depend on load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Detector
from forensics_core.detectors.j_conv_lstm_conv import JConvLSTMConvDetector
from forensics_core.detectors.lstm_endec import LSTMEnDecDetector
from forensics_core.evidence import Evidence, load_evidence
from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv
from forensics_core.models.lstm_endec import INPUT_SIZE, LSTMEnDec
from forensics_core.synth import manipulations
from forensics_core.synth.data import find_data_root, load_photo, object_masks, photo_split
from forensics_core.synth.shapes import random_region

from bench_resampling import benchmark_image


def _write(folder: Path, name: str, rgb: np.ndarray) -> Path:
    path = folder / name
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _median_time(detector: Detector, evidence: Evidence, params: dict, repeats: int) -> float:
    detector.run(evidence, params, device="cpu")  # warm-up (weights, Radon operator, allocator)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        detector.run(evidence, params, device="cpu")
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def timings(evidence: Evidence, repeats: int) -> None:
    """(a) CPU time of each detector and mode on one 1024x768 image."""
    endec = LSTMEnDecDetector()
    jconv = JConvLSTMConvDetector()
    endec_note = "" if endec.is_trained() else " (timing only: untrained network)"
    jconv_note = "" if jconv.is_trained() else " (timing only: untrained network)"
    if not endec.is_trained():
        endec = LSTMEnDecDetector(LSTMEnDec())
    if not jconv.is_trained():
        jconv = JConvLSTMConvDetector(JConvLSTMConv())
    print(f"(a) CPU time on a {evidence.width}x{evidence.height} image, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        resize = _median_time(endec, evidence, {"mode": "resize"}, repeats)
        tiled = _median_time(endec, evidence, {"mode": "tiled"}, 1)
        jconv_time = _median_time(jconv, evidence, {}, 1)
        print(f"  {threads} thread(s): LSTM-EnDec resize {resize:.3f} s (median of {repeats}; target < 1 s), "
              f"tiled (stride 192) {tiled:.2f} s{endec_note}; J-Conv-LSTM-Conv (stride 32) "
              f"{jconv_time:.2f} s{jconv_note}")
    torch.set_num_threads(default_threads)


def resampled_splices(count: int) -> list[tuple[np.ndarray, np.ndarray, dict]]:
    """``count`` 1024x768 NoSo authentic photos, each with a resampled splice of a validation photo."""
    root = find_data_root()
    targets = sorted((root / "benchmarks" / "noso" / "authentic").glob("*.png"))
    donors = photo_split().val
    rng = np.random.default_rng(2024)
    samples = []
    for index in range(count):
        target = np.array(load_photo(targets[index % len(targets)]))
        donor = np.array(load_photo(donors[int(rng.integers(len(donors)))]))
        region = random_region(donor.shape[0], donor.shape[1], rng, object_masks())
        image, mask, record = manipulations.splice(target, donor, region, rng, feather_radius=0.0)
        samples.append((image, mask, record))
    return samples


def _heatmap(detector: Detector, rgb: np.ndarray, params: dict, folder: Path, name: str) -> np.ndarray:
    return detector.run(load_evidence(_write(folder, name, rgb)), params, device="cpu").heatmap


def trace_loss(samples: list[tuple[np.ndarray, np.ndarray, dict]], folder: Path) -> None:
    """(b) Pixel AUC at full resolution vs through a 256x256 resize: resampling detector, LSTM-EnDec."""
    height, width = samples[0][0].shape[:2]
    print(f"(b) Resize cost on {len(samples)} resampled splices ({width}x{height}, downscale "
          f"{width / INPUT_SIZE:.1f}x horizontally, {height / INPUT_SIZE:.1f}x vertically; splice scales "
          + ", ".join(f"{s[2]['scale']:.2f}" for s in samples) + ")")
    truths = np.stack([mask for _, mask, _ in samples])
    resampling = get_detector("resampling")
    if resampling.is_trained():
        params = {"use_random_walker": False}
        full, small = [], []
        for i, (image, _, _) in enumerate(samples):
            full.append(_heatmap(resampling, image, params, folder, f"full_{i}.png"))
            shrunk = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
            small.append(cv2.resize(_heatmap(resampling, shrunk, params, folder, f"small_{i}.png"),
                                    (width, height), interpolation=cv2.INTER_LINEAR))
        print(f"  resampling detector (Bunk et al.), pixel AUC: full resolution "
              f"{metrics.pixel_auc(np.stack(full), truths):.3f}, on the 256x256 resize "
              f"{metrics.pixel_auc(np.stack(small), truths):.3f}")
    detector = LSTMEnDecDetector()
    if not detector.is_trained():
        print("  LSTM-EnDec is not trained: no model AUC (train with 'tamper-workbench train lstm-endec')")
        return
    for mode in ("resize", "tiled"):
        started = time.perf_counter()
        heatmaps = [_heatmap(detector, image, {"mode": mode}, folder, f"splice_{i}.png")
                    for i, (image, _, _) in enumerate(samples)]
        elapsed = (time.perf_counter() - started) / len(samples)
        print(f"  trained LSTM-EnDec, {mode}: pixel AUC {metrics.pixel_auc(np.stack(heatmaps), truths):.3f}, "
              f"{elapsed:.2f} s per image")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6, help="resampled splices for (b)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of the resize mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timings(benchmark_image(folder), args.repeats)
        if find_data_root() is None:
            print("(b) skipped: ../shared/data is not present")
            return
        trace_loss(resampled_splices(args.images), folder)


if __name__ == "__main__":
    main()
