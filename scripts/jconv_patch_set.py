"""Pre-extract a fixed J-Conv-LSTM-Conv training patch set from the training photographs (issue 24).

Usage (from the repository root, data in ``../shared/data``)::

    nice -n 10 python scripts/jconv_patch_set.py runs/jconv-patches [--forgeries 3000] [--planted 2000] \
        [--seed 0]

Cuts 8 patches of 64x64 from each of ``--forgeries`` realistic synthetic forgeries
(:class:`~forensics_core.synth.datasets.ForgeryDataset`, all kinds, with its share of pristine
pictures) and ``--planted`` pictures of the easy planted task
(:class:`~forensics_core.synth.datasets.PlantedResampling`), 256x256 each, all from the TRAINING
photographs, exactly as the recipe's :class:`~forensics_core.training.recipes.j_conv_lstm_conv.
ForgeryPatches` does (half of a forged picture's crops centred on the region boundary). Writes,
atomically, into the folder:

* ``images.npy``: N x 3 x 64 x 64 uint8 (the pictures are 8-bit: nothing is lost);
* ``masks.npy``: N x 64 x 64 bool;
* ``sources.npy``: N int8, 0 = realistic forgery, 1 = planted task;
* ``made.json``: the arguments it was made with and the patch counts (the training run copies
  it into the weights manifest, so that the set can be made again);

and prints the share of manipulated pixels, of manipulated patches (the paper's 12.5 % rule) and
of boundary patches (both classes present) per source. The training then reads these arrays
(``extra["patch_set"]`` of a config, :class:`~forensics_core.training.recipes.j_conv_lstm_conv.
PatchSet`) and spends its cores on the network only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset, PlantedResampling
from forensics_core.training.recipes.j_conv_lstm_conv import (
    PATCH_LABEL_FRACTION,
    PATCH_SET_SOURCES,
    SOURCE_SIZE,
    ForgeryPatches,
    write_patch_set,
)

CROPS = 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--forgeries", type=int, default=3000, help="realistic forgeries (8 patches each)")
    parser.add_argument("--planted", type=int, default=2000, help="planted-task pictures (8 patches each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photos", choices=("train", "val"), default="train",
                        help="val: a held-out set from the validation photographs, for diagnostics only")
    args = parser.parse_args()
    photos = getattr(photo_split(include_large=False), args.photos)
    sources = {"forgeries": ForgeryDataset(photos, object_masks(), size=SOURCE_SIZE, length=args.forgeries,
                                           seed=args.seed),
               "planted": PlantedResampling(photos, SOURCE_SIZE, args.planted, args.seed)}
    images, masks, codes = [], [], []
    started = time.perf_counter()
    for name, pictures in sources.items():
        patches = ForgeryPatches(pictures, CROPS, args.seed)
        for index in range(len(pictures)):
            item = patches[index]
            images.append(np.rint(item["image"].numpy() * 255.0).astype(np.uint8))
            masks.append(item["mask"][:, 0].numpy() > 0.5)
            codes.append(np.full(CROPS, PATCH_SET_SOURCES[name], np.int8))
            if (index + 1) % 250 == 0:
                print(f"{name}: {index + 1}/{len(pictures)} pictures ({time.perf_counter() - started:.0f} s)",
                      flush=True)
    image_array, mask_array, code_array = np.concatenate(images), np.concatenate(masks), np.concatenate(codes)
    write_patch_set(args.folder, image_array, mask_array, code_array,
                    {"script": "scripts/jconv_patch_set.py", "forgeries": args.forgeries, "planted": args.planted,
                     "seed": args.seed, "photos": args.photos, "crops": CROPS})
    for name, code in PATCH_SET_SOURCES.items():
        keep = code_array == code
        if not keep.any():
            continue
        fractions = mask_array[keep].reshape(int(keep.sum()), -1).mean(axis=1)
        print(f"{name}: {int(keep.sum())} patches; manipulated pixels {fractions.mean():.3f}; manipulated "
              f"patches (> {PATCH_LABEL_FRACTION:.3f}) {(fractions > PATCH_LABEL_FRACTION).mean():.3f}; "
              f"boundary patches (both classes) {((fractions > 0) & (fractions < 1)).mean():.3f}; "
              f"all authentic {(fractions == 0).mean():.3f}")
    print(f"{len(image_array)} patches in {args.folder} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
