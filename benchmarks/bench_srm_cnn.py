"""Benchmark of SRM-CNN (Cozzolino, Poggi and Verdoliva, IH&MMSec 2017): prints figures, asserts nothing.

(a) Agreement of the network's histograms (hard-wired weights, hard-max) with the hand-crafted
    descriptor on 128x128 crops of a photograph: exactly equal crops in float64, and the largest
    difference in float32, as the detector runs.
(b) Time of the heatmap of a 1024x768 image (a NoSo benchmark image when ``../shared`` is there,
    else a synthetic one): the whole ``Detector.run`` with the shipped weights (which runs the
    network on one thread on the CPU, see :mod:`forensics_core.detectors.srm_cnn`).
(c) The sliding-window network alone (hand-wired, random classifier) with torch's default number of
    threads and with one thread: on a machine whose cores are busy with other work, two OpenMP
    threads can be far slower than one; the load average is printed.

Run: ``python benchmarks/bench_srm_cnn.py [--repeats N]``. Timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from forensics_core.detectors.srm_cnn import SRMCNNDetector
from forensics_core.evidence import Evidence
from forensics_core.features.srm import N_FEATURES, srm_features
from forensics_core.models.srm_cnn import hand_crafted_srm_net

from bench_resampling import benchmark_image


def agreement(green: np.ndarray, count: int = 64) -> None:
    """(a) Hand-crafted vs network histograms on ``count`` random 128x128 crops of ``green``."""
    rng = np.random.default_rng(0)
    tops = rng.integers(0, green.shape[0] - 128, count)
    lefts = rng.integers(0, green.shape[1] - 128, count)
    crops = np.stack([green[t:t + 128, s:s + 128] for t, s in zip(tops, lefts)]).astype(np.float64)
    reference = srm_features(crops)
    with torch.no_grad():
        double = hand_crafted_srm_net().double().eval().histogram(torch.from_numpy(crops)[:, None]).numpy()
        single = hand_crafted_srm_net().eval().histogram(torch.from_numpy(crops).float()[:, None]).numpy()
    exact = int(sum(np.array_equal(a, b) for a, b in zip(double, reference)))
    print(f"(a) histograms of {count} crops 128x128 ({N_FEATURES} bins): float64 network == hand-crafted "
          f"exactly on {exact}/{count}; max |difference| float64 {np.abs(double - reference).max():.1e}, "
          f"float32 {np.abs(single - reference).max():.1e}")


def _times(run, repeats: int) -> str:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return f"best {min(times):.2f} s, median {np.median(times):.2f} s over {repeats} runs"


def timing(evidence: Evidence, repeats: int) -> None:
    """(b) The whole detector run; (c) the sliding-window network with default threads and one."""
    print(f"(b, c) {evidence.width}x{evidence.height} image, window 128, stride 16; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    detector = SRMCNNDetector()
    if detector.is_trained():
        print("    (b) Detector.run, shipped weights (one thread on the CPU): "
              + _times(lambda: detector.run(evidence, {"window": 128, "stride": 16}, device="cpu"), repeats))
    else:
        print("    (b) no shipped weights: untrained, the detector refuses to run")
    green = torch.from_numpy(np.ascontiguousarray(evidence.rgb_float()[..., 1]))[None, None]
    model = hand_crafted_srm_net().eval()
    with torch.no_grad():
        model.classifier.weight.normal_()
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        with torch.no_grad():
            print(f"    (c) window_logits alone, {threads} thread(s): "
                  + _times(lambda: model.window_logits(green, 128, 16), repeats))
    torch.set_num_threads(default_threads)


def main() -> int:
    """Print (a) and (b)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        evidence = benchmark_image(Path(folder))
        print(f"image: {evidence.path.name}")
        agreement(evidence.rgb_float()[..., 1].astype(np.float64))
        timing(evidence, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
