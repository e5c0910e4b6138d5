"""CPU schedule of J-Conv-LSTM-Conv training (issue 24): what a training step costs on this machine.

Usage (from the repository root)::

    python benchmarks/jconv_cpu_schedule.py [--steps 4] [--batch 32]

Times, on the same batch of 64x64 patches, one training step (forward, joint loss, backward, Adam)
with 1 and 2 PyTorch threads, with channels_last memory format and under bfloat16 autocast; and
the cost of making that batch of patch stacks from forgeries (what a loader worker does;
``benchmarks/jconv_throughput.py`` compares it with reading a pre-extracted patch set). The
machine is shared: run ``uptime`` alongside, and compare rows of one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset
from forensics_core.training.recipes.j_conv_lstm_conv import (
    SOURCE_SIZE,
    ForgeryPatches,
    JConvLSTMConvRecipe,
)

CROPS = 8


def step_seconds(images: torch.Tensor, masks: torch.Tensor, threads: int, channels_last: bool, bf16: bool,
                 steps: int) -> float:
    """Median seconds of one Adam step after a warm-up step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = JConvLSTMConv()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    recipe = JConvLSTMConvRecipe()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        with autocast:
            loss = recipe.loss(model, {"image": images, "mask": masks}, torch.device("cpu"))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    return float(sorted(times[1:])[len(times[1:]) // 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32, help="patches per step (a multiple of 8)")
    args = parser.parse_args()
    pictures = args.batch // CROPS
    forgeries = ForgeryDataset(photo_split(include_large=False).train, object_masks(), size=SOURCE_SIZE,
                               length=pictures, seed=0)
    patches = ForgeryPatches(forgeries, CROPS, seed=0)
    started = time.perf_counter()
    items = [patches[i] for i in range(pictures)]
    made = time.perf_counter() - started
    images = torch.cat([item["image"] for item in items])
    masks = torch.cat([item["mask"] for item in items])
    print(f"batch of {args.batch} patches ({pictures} pictures x {CROPS} crops): made in {made:.2f} s "
          "(1 thread)")
    for threads, channels_last, bf16 in ((1, False, False), (2, False, False), (2, True, False), (2, False, True)):
        seconds = step_seconds(images, masks, threads, channels_last, bf16, args.steps)
        print(f"training step: threads {threads}, channels_last {channels_last!s:5s}, bf16 {bf16!s:5s}: "
              f"{seconds:.2f} s")


if __name__ == "__main__":
    main()
