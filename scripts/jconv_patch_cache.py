"""Fill the J-Conv-LSTM-Conv patch cache of a training config ahead of (or beside) the run.

Usage (from the repository root)::

    nice -n 10 python scripts/jconv_patch_cache.py forensics_core/training/configs/j-conv-lstm-conv-cpu-long.json \
        [--from-step 0] [--to-step N]

Makes the patch stacks the run will draw at steps ``from-step`` to ``to-step`` (exclusive;
default: all of them) and writes each one into ``extra["patch_cache"]`` of the config, where
:class:`~forensics_core.training.recipes.j_conv_lstm_conv.PatchCache` finds them. Items already
there are read, not made again, so the script can be stopped and started at will, and it may run
while the training reads the same folder (files are written atomically).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from forensics_core.training import get_recipe, load_config
from forensics_core.training.recipes.j_conv_lstm_conv import PatchCache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--from-step", type=int, default=0)
    parser.add_argument("--to-step", type=int)
    args = parser.parse_args()
    recipe = get_recipe("j-conv-lstm-conv")
    config = load_config(args.config, recipe.profiles["cpu"])
    if not config.extra.get("patch_cache"):
        print(f"{args.config} names no extra.patch_cache folder", file=sys.stderr)
        return 2
    patches = recipe.train_dataset(config)
    assert isinstance(patches, PatchCache)
    last = min(args.to_step if args.to_step is not None else config.steps, config.steps)
    started = time.perf_counter()
    indices = range(args.from_step * config.batch_size, last * config.batch_size)
    for count, index in enumerate(indices, 1):
        patches[index]
        if count % 100 == 0 or count == len(indices):
            print(f"{count}/{len(indices)} patch stacks in {patches.folder} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
