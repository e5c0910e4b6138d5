"""Benchmark of the ManTra-Net detector (Wu et al., CVPR 2019): prints figures, asserts nothing.

No ManTra-Net weights are shipped, so every figure uses a freshly initialised network
(``torch.manual_seed(0)``): "untrained weights: timing only". The cost does not depend on the
weights; the agreement figures do a little (an untrained heatmap stays close to 0.5, so its range is
printed with them). Test images are synthetic (smooth colour fields with texture and noise, from
``bench_resampling``). The model runs as the detector runs it: :func:`predict_tiled` with the
detector's default tile (1024) and overlap, under ``torch.inference_mode`` (with a 1024-pixel tile a
1024x768 image is one tile in each of the two passes, i.e. a whole-image forward pass).

(a) CPU: FLOPs of one 1024x768 RGB image, counted by ``torch.utils.flop_counter.FlopCounterMode``
    during the warm-up run (it counts a multiply-add as 2 FLOPs); this machine's peak for a large
    3x3 convolution measured in the same run (1x64x512x512 float32, 64->64 channels, channels_last,
    median of 5 runs after a warm-up); the seconds of the run after the warm-up and its GFLOP/s as a
    percentage of that peak (target: at least 60 %). Then the model in channels_last memory format
    against the default layout, on a 384x512 image (a warm-up each, then the faster of two
    interleaved runs each; differences under 5 % are not called a speed-up).
(b) Tiled vs untiled agreement on a 256x320 image: a whole-image forward pass against
    :func:`predict_tiled` with 128-pixel tiles (the detector's overlap), as
    ``tests/test_mantranet.py`` does; max absolute heatmap difference (target under 1e-4).
(c) CUDA only: heatmap of a 1024x768 image with bf16 and fp16 autocast (the detector's GPU
    precisions) against float32 with TF32 off, max absolute difference (target under 1e-2), and
    seconds per image for each precision, the detector's fp32 included (cuDNN's default: TF32
    allowed), median of 10 runs after 3 warm-ups, ``torch.cuda.synchronize`` around each (target
    under 0.05 s on an H100).
(d) With ``--24mp``: peak memory of analysing a 6000x4000 image with ``ManTraNetDetector.run``
    (default parameters and device) in a fresh child process (Linux): peak resident set size
    (``VmHWM``, reset through ``/proc/self/clear_refs`` once the image and the model are loaded), its
    growth over the resident size before, and on CUDA the peak GPU memory allocated (target under
    8 GB); with the seconds. Without the flag its time is estimated from (a) or (c).

Run: ``python benchmarks/bench_mantranet.py [--threads N] [--24mp]``. Timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bench_resampling import _evidence, _synthetic_photo, child_figures, measure_peak_memory
from forensics_core.detectors.mantranet import AUTOCAST_DTYPES, ManTraNetDetector, autocast_dtype
from forensics_core.evidence import load_evidence
from forensics_core.models.mantranet import ManTraNet, predict_tiled

UNTRAINED = "untrained weights: timing only"
#: The detector's default parameters (weights, tile, overlap, precision).
DEFAULTS = {parameter.name: parameter.default for parameter in ManTraNetDetector.parameters}
IMAGE_SIZE = (768, 1024)  # height, width
LAYOUT_SIZE = (384, 512)
LAYOUT_NOISE = 0.05  # relative timing differences below this are not called a speed-up
TILING_SIZE = (256, 320)
TILING_TILE = 128
MEMORY_SIZE = (4000, 6000)
PEAK_CONV_RUNS = 5
CUDA_WARMUPS = 3
CUDA_RUNS = 10
CPU = torch.device("cpu")


def _untrained_model() -> ManTraNet:
    """A freshly initialised ManTra-Net (seed 0) in eval mode."""
    torch.manual_seed(0)
    return ManTraNet().eval()


def _photo(size: tuple[int, int]) -> np.ndarray:
    """A synthetic (height, width, 3) float32 RGB image in [0, 1]."""
    return _synthetic_photo(*size).astype(np.float32) / np.float32(255.0)


def _megapixels(size: tuple[int, int]) -> float:
    """Megapixels of a (height, width) size."""
    return size[0] * size[1] / 1e6


def _wxh(size: tuple[int, int]) -> str:
    """A (height, width) size written as 'WIDTHxHEIGHT'."""
    return f"{size[1]}x{size[0]}"


def _detector_path(model: ManTraNet, rgb: np.ndarray, device: torch.device = CPU,
                   autocast_dtype: torch.dtype | None = None, tile: int = DEFAULTS["tile"]) -> np.ndarray:
    """The heatmap as the detector computes it (its default overlap)."""
    return predict_tiled(model, rgb, device, tile=tile, overlap=DEFAULTS["overlap"], autocast_dtype=autocast_dtype)


def _seconds(run: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def conv_peak_gflops() -> float:
    """GFLOP/s of a 1x64x512x512 -> 64-channel 3x3 float32 convolution, channels_last, on the CPU."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last).eval()
    batch = torch.randn(1, 64, 512, 512).contiguous(memory_format=torch.channels_last)
    flops = 2 * 64 * 64 * 9 * 512 * 512
    with torch.inference_mode():
        conv(batch)
        seconds = statistics.median(_seconds(partial(conv, batch)) for _ in range(PEAK_CONV_RUNS))
    return flops / seconds / 1e9


def bench_cpu(model: ManTraNet) -> float:
    """Print (a); return the seconds per megapixel of the detector's path on the CPU."""
    rgb = _photo(IMAGE_SIZE)
    run = partial(_detector_path, model, rgb)
    with FlopCounterMode(display=False) as counter:
        warm_up = _seconds(run)
    gflop = counter.get_total_flops() / 1e9
    peak = conv_peak_gflops()
    seconds = _seconds(run)
    achieved = gflop / seconds
    print(f"(a) CPU, {_wxh(IMAGE_SIZE)} RGB through predict_tiled (tile {DEFAULTS['tile']}, "
          f"overlap {DEFAULTS['overlap']}, inference_mode), {UNTRAINED}; torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"    FLOPs per image: {gflop:.1f} GFLOP (FlopCounterMode: a multiply-add counts as 2 FLOPs)")
    print(f"    peak of a 3x3 convolution 1x64x512x512, 64->64, float32, channels_last: {peak:.1f} GFLOP/s "
          f"(median of {PEAK_CONV_RUNS} runs after a warm-up)")
    print(f"    model: {seconds:.2f} s per image after one warm-up ({warm_up:.2f} s, FLOPs counted), "
          f"{seconds / _megapixels(IMAGE_SIZE):.2f} s/MP; {achieved:.1f} GFLOP/s = {100 * achieved / peak:.0f} % "
          f"of the peak (target >= 60 %)")
    compare_layouts(model)
    return seconds / _megapixels(IMAGE_SIZE)


def compare_layouts(model: ManTraNet) -> None:
    """Print the detector's path with the model as it is against the model in channels_last."""
    rgb = _photo(LAYOUT_SIZE)
    runs = {"default layout (NCHW activations)": partial(_detector_path, model, rgb),
            "channels_last model": partial(_detector_path, copy.deepcopy(model).to(memory_format=torch.channels_last),
                                           rgb)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(2):
        for name, run in runs.items():
            times[name].append(_seconds(run))
    best = {name: min(measured) for name, measured in times.items()}
    default, channels_last = best.values()
    speed_up = default / channels_last
    if speed_up > 1 + LAYOUT_NOISE:
        verdict = "faster"
    elif speed_up < 1 - LAYOUT_NOISE:
        verdict = "slower"
    else:
        verdict = f"not clearly faster (within {LAYOUT_NOISE:.0%})"
    print(f"    layout on {_wxh(LAYOUT_SIZE)}: "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in best.items())
          + f" -> channels_last is {verdict} on this CPU (speed {100 * (speed_up - 1):+.0f} %)")


def bench_tiling(model: ManTraNet) -> None:
    """Print (b): tiled against whole-image heatmaps."""
    rgb = _photo(TILING_SIZE)
    with torch.inference_mode():
        whole = torch.sigmoid(model(torch.from_numpy(rgb).permute(2, 0, 1)[None]))[0, 0].numpy()
    tiled = _detector_path(model, rgb, tile=TILING_TILE)
    print(f"(b) tiled ({TILING_TILE}-pixel tiles, overlap {DEFAULTS['overlap']}) vs whole-image forward pass on "
          f"{_wxh(TILING_SIZE)}, {UNTRAINED}: max |difference| {np.abs(tiled - whole).max():.2e} "
          f"(target < 1e-4); heatmap range [{whole.min():.3f}, {whole.max():.3f}]")


def _cuda_seconds(run: Callable[[], object]) -> float:
    """Median seconds of ``run`` on the GPU after warm-ups, synchronised around each run."""
    for _ in range(CUDA_WARMUPS):
        run()
    times = []
    for _ in range(CUDA_RUNS):
        torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_cuda(model: ManTraNet, device: torch.device) -> float:
    """Print (c) for CUDA ``device``; return the seconds per megapixel at the detector's default precision."""
    model = copy.deepcopy(model).to(device)
    rgb = _photo(IMAGE_SIZE)
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        reference = _detector_path(model, rgb, device)
    print(f"(c) CUDA ({torch.cuda.get_device_name(device)}), {_wxh(IMAGE_SIZE)} through predict_tiled, {UNTRAINED}; "
          f"heatmap range (float32) [{reference.min():.3f}, {reference.max():.3f}]")
    seconds = {}
    for name in AUTOCAST_DTYPES:
        run = partial(_detector_path, model, rgb, device, autocast_dtype(name))
        seconds[name] = _cuda_seconds(run)
        difference = f"max |difference| vs float32 (TF32 off) {np.abs(run() - reference).max():.2e} (target < 1e-2)"
        print(f"    {name}: {seconds[name] * 1e3:.1f} ms per image (target < 50 ms on an H100); {difference}")
    return seconds[DEFAULTS["precision"]] / _megapixels(IMAGE_SIZE)


def _memory_child(path: str) -> None:
    """Analyse ``path`` with the detector and print its memory figures as JSON (child process)."""
    cuda = torch.cuda.is_available()
    result, figures = measure_peak_memory(ManTraNetDetector(model=_untrained_model()), load_evidence(path))
    print(json.dumps({**figures, "gpu_peak_bytes": torch.cuda.max_memory_allocated() if cuda else None,
                      "device": result.device}))


def bench_memory(folder: Path) -> None:
    """Print (d) from a child process analysing a 6000x4000 image."""
    evidence = _evidence(folder, *MEMORY_SIZE)
    figures = child_figures(__file__, evidence.path, "--threads", str(torch.get_num_threads()))
    growth = (figures["peak_kib"] - figures["before_kib"]) / 1024 ** 2
    gpu = "" if figures["gpu_peak_bytes"] is None else \
        f"; peak GPU memory allocated {figures['gpu_peak_bytes'] / 1024 ** 3:.2f} GiB"
    print(f"(d) {figures['width']}x{figures['height']} through ManTraNetDetector.run on {figures['device']}, "
          f"{UNTRAINED}: peak RSS of the process {figures['peak_kib'] / 1024 ** 2:.2f} GiB, of which "
          f"{growth:.2f} GiB allocated by the analysis{gpu} (target < 8 GB); {figures['seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--24mp", dest="memory_24mp", action="store_true",
                        help="measure the peak memory of a 6000x4000 image (slow on a CPU)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    print(f"ManTra-Net benchmark, {UNTRAINED} (freshly initialised, torch.manual_seed(0); no weights are shipped)")
    model = _untrained_model()
    seconds_per_mp = bench_cpu(model)
    bench_tiling(model)
    if torch.cuda.is_available():
        seconds_per_mp = bench_cuda(model, torch.device("cuda"))
    else:
        print("(c) skipped: no CUDA device")
    if args.memory_24mp:
        with tempfile.TemporaryDirectory() as tmp:
            bench_memory(Path(tmp))
    else:
        where = "CUDA, from (c)" if torch.cuda.is_available() else "this CPU, from (a)"
        print(f"(d) skipped (opt-in with --24mp: slow on a CPU): a {_wxh(MEMORY_SIZE)} image would take about "
              f"{seconds_per_mp * _megapixels(MEMORY_SIZE):.0f} s on {where} "
              f"({_megapixels(MEMORY_SIZE):.0f} MP x {seconds_per_mp:.2f} s/MP, tile overlaps not counted)")


if __name__ == "__main__":
    main()
