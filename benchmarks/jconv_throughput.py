"""Where a J-Conv-LSTM-Conv training step's time goes, and which CPU schedule is fastest (issue 24).

Usage (from the repository root, data in ``../shared/data``)::

    nice -n 10 python benchmarks/jconv_throughput.py [--threads 2] [--batches 32 64 128] [--pictures 6] \
        [--steps 5] [--bottleneck-maps 1] [--patch-set runs/jconv-patches-big]

Prints (1) the time to make one 8-crop patch stack of a realistic forgery and of the planted task
(:class:`~forensics_core.training.recipes.j_conv_lstm_conv.ForgeryPatches`: the work the
recipe's data loader does per 8 patches), (2) the time to read a batch from a fixed pre-extracted
patch set (``scripts/jconv_patch_set.py``) as the training does, (3) one training step (forward,
the recipe's joint loss, backward, Adam) on a batch of 32 real patches under each CPU schedule: 1
and 2 PyTorch threads, channels_last memory format, bfloat16 autocast, and (4) that step per batch
size at ``--threads``, as patches per second. The timings depend on the machine's load, which is
printed with them: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np
import torch

from forensics_core.models.j_conv_lstm_conv import PATCH_SIZE, JConvLSTMConv
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset, PlantedResampling
from forensics_core.training.recipes.j_conv_lstm_conv import (
    SOURCE_SIZE,
    ForgeryPatches,
    JConvLSTMConvRecipe,
    PatchSet,
)

CROPS = 8
#: (threads, channels_last, bf16) rows of the schedule comparison.
SCHEDULES = ((1, False, False), (2, False, False), (2, True, False), (2, False, True))


def time_making(pictures: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seconds to make one 8-crop patch stack, realistic forgeries and planted task; returns the
    realistic patches made (``pictures`` x 8) and their masks."""
    split = photo_split(include_large=False)
    sources = {"forgeries": ForgeryDataset(split.train, object_masks(), size=SOURCE_SIZE, length=pictures, seed=5),
               "planted": PlantedResampling(split.train, SOURCE_SIZE, pictures, 5)}
    made = {}
    for name, pictures_set in sources.items():
        patches = ForgeryPatches(pictures_set, crops=CROPS, seed=5)
        started = time.perf_counter()
        made[name] = [patches[index] for index in range(pictures)]
        per_stack = (time.perf_counter() - started) / pictures
        print(f"making patches ({name}): {per_stack:.3f} s per 8-patch stack = {CROPS / per_stack:.0f} patches/s")
    return (torch.cat([item["image"] for item in made["forgeries"]]),
            torch.cat([item["mask"] for item in made["forgeries"]]))


def time_reading(folder: str | None, batch: int) -> None:
    """Seconds to gather one random batch from a pre-extracted patch set, as the training does."""
    if folder is None:
        return
    patches = PatchSet(folder)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(20):
        patches.gather(np.sort(rng.choice(len(patches), batch, replace=False)))
    per_batch = (time.perf_counter() - started) / 20
    print(f"reading a batch of {batch} from the patch set {folder}: {per_batch * 1000:.1f} ms "
          f"= {batch / per_batch:.0f} patches/s")


def step_seconds(images: torch.Tensor, masks: torch.Tensor, steps: int, bottleneck_maps: int = 1,
                 channels_last: bool = False, bf16: bool = False) -> float:
    """Median seconds of one Adam step of a fresh network with the recipe's loss, after a warm-up step."""
    torch.manual_seed(0)
    model = JConvLSTMConv(bottleneck_maps=bottleneck_maps).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    recipe = JConvLSTMConvRecipe()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    timings = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        with autocast:
            loss = recipe.loss(model, {"image": images, "mask": masks}, torch.device("cpu"))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        timings.append(time.perf_counter() - started)
    return float(np.median(timings[1:]))  # the first step warms up the allocator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--pictures", type=int, default=6)
    parser.add_argument("--bottleneck-maps", type=int, nargs="+", default=[1])
    parser.add_argument("--patch-set", help="folder of a pre-extracted patch set (scripts/jconv_patch_set.py)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}")
    images, masks = time_making(max(args.pictures, 32 // CROPS))
    time_reading(args.patch_set, max(args.batches))
    for threads, channels_last, bf16 in SCHEDULES:
        torch.set_num_threads(threads)
        seconds = step_seconds(images[:32], masks[:32], args.steps, channels_last=channels_last, bf16=bf16)
        print(f"training step, 32 patches: threads {threads}, channels_last {channels_last!s:5s}, "
              f"bf16 {bf16!s:5s}: {seconds:.2f} s")
    torch.set_num_threads(args.threads)
    for maps in args.bottleneck_maps:
        for batch in args.batches:
            batch_images = torch.rand(batch, 3, PATCH_SIZE, PATCH_SIZE)
            batch_masks = (torch.rand(batch, 1, PATCH_SIZE, PATCH_SIZE) > 0.7).float()
            per_step = step_seconds(batch_images, batch_masks, args.steps, bottleneck_maps=maps)
            print(f"network (bottleneck maps {maps}), batch {batch}, threads {args.threads}: {per_step:.3f} s "
                  f"per training step = {batch / per_step:.0f} patches/s")


if __name__ == "__main__":
    main()
