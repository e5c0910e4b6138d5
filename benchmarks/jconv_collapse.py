"""Why J-Conv-LSTM-Conv training stays at the class prior (issue 24): a fast diagnostic loop.

Usage (from the repository root; patch sets made by ``scripts/jconv_patch_set.py``)::

    nice -n 10 python benchmarks/jconv_collapse.py --train runs/jconv-patches --val runs/jconv-patches-val \
        [--source planted|forgeries|all] [--steps 300] [--batch 32] [--lr 1e-3] [--patch-weight 0.1] \
        [--no-residual-init] [--bottleneck-maps 1] [--clip 0] [--every 25] [--threads 2]

Trains a fresh network on random batches of the pre-extracted training patches (pure network
compute) with the recipe's joint loss and Adam, and every ``--every`` steps prints: the joint,
pixel and patch losses (mean since the last line), the fraction of pixels and of patches predicted
manipulated (argmax; a network at the class prior predicts one class everywhere), the gradient
norm of each part of the network, the share of saturated LSTM outputs (|h| > 0.95), and on the
held-out patches of the validation photographs the pixel AUC of the raw pixel map and the
patch-label AUC, per source (realistic forgeries, planted task).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from forensics_core import metrics
from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv
from forensics_core.training.recipes.j_conv_lstm_conv import (
    PATCH_SET_SOURCES,
    PatchSet,
    loss_terms,
    patch_labels,
)

PARTS = ("conv1", "conv2", "lstm", "classifier", "pixel_conv1", "pixel_conv3")
SOURCE_NAMES = {0: "forgeries", 1: "planted"}


def held_out(model: JConvLSTMConv, patches: PatchSet, count: int) -> str:
    """Pixel AUC of the raw pixel map and patch-label AUC on ``count`` held-out patches per source."""
    model.eval()
    parts = []
    for code, name in SOURCE_NAMES.items():
        index = np.flatnonzero(patches.sources == code)[:count]
        if not len(index):
            continue
        images, masks = patches.gather(index)
        with torch.no_grad():
            labels, pixels = [], []
            for first in range(0, len(index), 256):
                label_logits, pixel_logits = model(images[first:first + 256])
                labels.append(torch.softmax(label_logits, 1)[:, 1])
                pixels.append(torch.softmax(pixel_logits, 1)[:, 1])
        pixel_auc = metrics.pixel_auc(torch.cat(pixels).numpy(), masks[:, 0].numpy() > 0.5)
        label_auc = metrics.image_auc(torch.cat(labels).tolist(), patch_labels(masks).tolist())
        parts.append(f"{name} pixel AUC {pixel_auc:.3f} patch AUC {label_auc:.3f}")
    model.train()
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--source", choices=("planted", "forgeries", "all"), default="all")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--patch-weight", type=float, default=0.1)
    parser.add_argument("--no-residual-init", action="store_true")
    parser.add_argument("--bottleneck-maps", type=int, default=1)
    parser.add_argument("--clip", type=float, default=0.0, help="clip the gradient norm to this (0: no clipping)")
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--val-patches", type=int, default=1024, help="held-out patches per source")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    codes = tuple(PATCH_SET_SOURCES.values()) if args.source == "all" else (PATCH_SET_SOURCES[args.source],)
    train = PatchSet(args.train, sources=codes)
    val = PatchSet(args.val)
    model = JConvLSTMConv(bottleneck_maps=args.bottleneck_maps, residual_init=not args.no_residual_init).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    print(f"{vars(args)}; {len(train)} training patches; load average {os.getloadavg()[0]:.2f}")
    print(f"step 0: held-out {held_out(model, val, args.val_patches)}", flush=True)
    sums: dict[str, list[float]] = {}
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        images, masks = train.gather(np.sort(rng.choice(len(train), args.batch, replace=False)))
        stages = model.forward_stages(images)
        pixel_loss, patch_loss = loss_terms(stages["label"], stages["pixels"], masks)
        loss = pixel_loss + args.patch_weight * patch_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        norms = {part: float(torch.stack([p.grad.norm() for p in getattr(model, part).parameters()]).norm())
                 for part in PARTS}
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimiser.step()
        record = {"loss": loss.item(), "pixel": pixel_loss.item(), "patch": patch_loss.item(),
                  "pixel_pos": float((stages["pixels"].argmax(1) == 1).float().mean()),
                  "patch_pos": float((stages["label"].argmax(1) == 1).float().mean()),
                  "saturated": float((stages["lstm"].abs() > 0.95).float().mean()),
                  **{f"grad_{part}": value for part, value in norms.items()}}
        for key, value in record.items():
            sums.setdefault(key, []).append(value)
        if step % args.every == 0 or step == args.steps:
            mean = {key: float(np.mean(values)) for key, values in sums.items()}
            grads = " ".join(f"{part} {mean[f'grad_{part}']:.1e}" for part in PARTS)
            line = (f"step {step}: loss {mean['loss']:.4f} (pixel {mean['pixel']:.4f}, patch {mean['patch']:.4f}); "
                    f"predicted manipulated: pixels {mean['pixel_pos']:.3f}, patches {mean['patch_pos']:.3f}; "
                    f"LSTM saturated {mean['saturated']:.3f}; grad norms {grads}; "
                    f"{(time.perf_counter() - started) / step:.2f} s/step")
            if step % (4 * args.every) == 0 or step == args.steps:
                line += f"\n    held-out {held_out(model, val, args.val_patches)}"
            print(line, flush=True)
            sums.clear()


if __name__ == "__main__":
    main()
