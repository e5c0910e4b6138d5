"""Where a J-Conv-LSTM-Conv training step's time goes (issue 24): making patches vs network compute.

Usage (from the repository root, data in ``../shared/data``)::

    nice -n 10 python benchmarks/jconv_throughput.py [--threads 2] [--batches 32 64 128] [--pictures 6]

Prints (1) the time to make one 8-crop patch stack of a realistic forgery and of the planted task
(:class:`~forensics_core.training.recipes.j_conv_lstm_conv.ForgeryPatches`: the work the
recipe's data loader does per 8 patches), (2) the time to read the same patches from a fixed
pre-extracted patch set (``scripts/jconv_patch_set.py``, memory-mapped ``.npy``) and (3) the
forward+backward+Adam step of the network per batch size, as patches per second. The timings
depend on the machine's load (``uptime``), which is printed with them.
"""

from __future__ import annotations

import argparse
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
    PatchSet,
    patch_labels,
)
from forensics_core.training.recipes.lstm_endec import class_weighted_cross_entropy


def time_making(pictures: int) -> None:
    """Seconds to make one 8-crop patch stack, realistic forgeries and planted task."""
    split = photo_split(include_large=False)
    sources = {"forgeries": ForgeryDataset(split.train, object_masks(), size=SOURCE_SIZE, length=pictures, seed=5),
               "planted": PlantedResampling(split.train, SOURCE_SIZE, pictures, 5)}
    for name, pictures_set in sources.items():
        patches = ForgeryPatches(pictures_set, crops=8, seed=5)
        started = time.perf_counter()
        for index in range(pictures):
            patches[index]
        per_stack = (time.perf_counter() - started) / pictures
        print(f"making patches ({name}): {per_stack:.3f} s per 8-patch stack = {8 / per_stack:.0f} patches/s")


def time_network(batches: list[int], steps: int, pixel_maps_in: int) -> None:
    """Patches per second of one training step (forward, joint loss, backward, Adam) per batch size."""
    torch.manual_seed(0)
    model = JConvLSTMConv(bottleneck_maps=pixel_maps_in).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for batch in batches:
        images = torch.rand(batch, 3, PATCH_SIZE, PATCH_SIZE)
        masks = (torch.rand(batch, 1, PATCH_SIZE, PATCH_SIZE) > 0.7).float()
        timings = []
        for step in range(steps + 1):
            started = time.perf_counter()
            label_logits, pixel_logits = model(images)
            loss = (class_weighted_cross_entropy(pixel_logits, masks[:, 0])
                    + 0.1 * class_weighted_cross_entropy(label_logits, patch_labels(masks)))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if step:  # the first step warms up the allocator
                timings.append(time.perf_counter() - started)
        per_step = float(np.median(timings))
        with torch.no_grad():
            started = time.perf_counter()
            model(images)
            forward = time.perf_counter() - started
        print(f"network (bottleneck maps {pixel_maps_in}), batch {batch}: {per_step:.3f} s per training step = "
              f"{batch / per_step:.0f} patches/s; forward alone {batch / forward:.0f} patches/s")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--pictures", type=int, default=6)
    parser.add_argument("--bottleneck-maps", type=int, nargs="+", default=[1])
    parser.add_argument("--patch-set", help="folder of a pre-extracted patch set (scripts/jconv_patch_set.py)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {args.threads}; load average {os.getloadavg()[0]:.2f}")
    time_making(args.pictures)
    time_reading(args.patch_set, max(args.batches))
    for maps in args.bottleneck_maps:
        time_network(args.batches, args.steps, maps)


if __name__ == "__main__":
    main()
