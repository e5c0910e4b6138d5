"""Sanity checks of J-Conv-LSTM-Conv training (issue 24): labels, initialisation, one-batch overfit.

Usage (from the repository root, data in ``../shared/data``)::

    python benchmarks/jconv_sanity.py labels [--pictures 200]
    python benchmarks/jconv_sanity.py init
    python benchmarks/jconv_sanity.py easy [--network jconv|cnn] [--steps 200] [--pictures 2] [--patch-weight 0.1]
    python benchmarks/jconv_sanity.py overfit [--steps 400] [--batch 32] [--patch-weight 0.1]

``labels`` checks the ground truth the recipe trains on against the paper's definitions
(Bappy et al., ICCV 2017, Sec. 4): for forgeries left without post-processing, the pixels the
manipulation changed lie inside the mask (the mask is aligned with the image); the patch label is
the 12.5 % rule applied to the patch's own mask; the boundary-centred crops hold the transition
the LSTM is meant to see (8x8 blocks holding both classes). ``init`` prints the activation
statistics of a freshly initialised network on real patches (input range, batch-norm outputs,
dead ReLUs, LSTM outputs, gradient norms per part). ``overfit`` trains on ONE fixed batch of
boundary-centred patches of realistic forgeries with Adam (lr 1e-3) and the recipe's joint loss
(pixel loss + ``--patch-weight`` x patch loss) and prints the patch and pixel losses, which must
approach zero, and the pixel AUC on that batch. ``easy`` trains from scratch on the easy planted
task (:class:`~forensics_core.synth.datasets.PlantedResampling`) and prints held-out AUCs: the
network itself, or (``--network cnn``) a plain four-layer CNN as a control of the task's
difficulty at this budget.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from forensics_core import metrics
from forensics_core.models.j_conv_lstm_conv import GRID, PATCH_SIZE, JConvLSTMConv
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset, PlantedResampling
from forensics_core.training.recipes.j_conv_lstm_conv import (
    PATCH_LABEL_FRACTION,
    PATCH_LOSS_WEIGHT,
    SOURCE_SIZE,
    VAL_SEED,
    ForgeryPatches,
    loss_terms,
    patch_labels,
)
from forensics_core.training.recipes.lstm_endec import class_weighted_cross_entropy


def _forgeries(count: int, seed: int) -> ForgeryDataset:
    return ForgeryDataset(photo_split(include_large=False).train, object_masks(), size=SOURCE_SIZE,
                          length=count, seed=seed, pristine_fraction=0.0)


def boundary_batch(size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` boundary-centred patches (the even crops of :class:`ForgeryPatches`) and masks."""
    patches = ForgeryPatches(_forgeries(size, seed), crops=2, seed=seed)
    items = [patches[i] for i in range(size)]
    return torch.stack([it["image"][0] for it in items]), torch.stack([it["mask"][0] for it in items])


def check_labels(pictures: int) -> None:
    """Mask/image alignment, the patch-label rule and the boundary content of the crops."""
    forgeries = _forgeries(pictures, seed=11)
    inside, outside, checked = [], [], 0
    for index in range(pictures):
        image, mask, labels = forgeries.sample(index)
        manipulation = labels.get("manipulation", {})
        if (labels["postprocess"]["postprocess"] != "none" or labels["crop"]["upscale"] != 1.0
                or manipulation.get("feather_radius", 0.0) != 0.0 or not mask.any()):
            continue
        crop = labels["crop"]
        original = load_photo(labels["photo"])[crop["top"]:crop["top"] + crop["size"],
                                               crop["left"]:crop["left"] + crop["size"]]
        changed = np.any(image != original, axis=2)
        if labels["kind"] != "removal":  # removal dilates the region by 1-3 px before inpainting
            outside.append(changed[~mask].mean())
        inside.append(changed[mask].mean())
        checked += 1
    print(f"alignment: {checked} hard-edged forgeries without post-processing; changed pixels outside "
          f"the mask: mean {np.mean(outside):.5f}, max {np.max(outside):.5f} (0 = aligned); inside the "
          f"mask: mean {np.mean(inside):.3f} (flat areas may keep their value)")

    patches = ForgeryPatches(forgeries, crops=8, seed=11)
    mixed_blocks, both_classes, rule_ok, total = [], 0, 0, 0
    for index in range(min(pictures, 100)):
        item = patches[index]
        masks = item["mask"]
        fractions = masks.flatten(1).mean(dim=1)
        rule_ok += int(torch.equal(patch_labels(masks).bool(), fractions > PATCH_LABEL_FRACTION))
        block = PATCH_SIZE // GRID
        for crop in range(0, masks.shape[0], 2):  # the boundary-centred crops
            blocks = masks[crop, 0].reshape(GRID, block, GRID, block).permute(0, 2, 1, 3).flatten(2).mean(dim=2)
            mixed_blocks.append(int(((blocks > 0) & (blocks < 1)).sum()))
            both_classes += int(0 < fractions[crop] < 1)
            total += 1
    print(f"patch labels: the 12.5 % rule holds on {rule_ok}/{min(pictures, 100)} patch stacks")
    print(f"boundary crops: {both_classes}/{total} hold both classes; 8x8 blocks crossed by the boundary "
          f"per crop: median {np.median(mixed_blocks):.0f} of 64 (min {min(mixed_blocks)}, max {max(mixed_blocks)})")


def check_initialisation() -> None:
    """Activation and gradient statistics of a fresh network on one batch of real patches."""
    torch.manual_seed(0)
    images, masks = boundary_batch(32)
    model = JConvLSTMConv().train()
    print(f"input in [0, 1]: min {images.min():.3f} max {images.max():.3f}; the network scales it to [-1, 1]")
    stages = model.forward_stages(images)
    first = torch.relu(model.conv1(images * 2.0 - 1.0))
    print(f"conv1 ReLU maps never active on this batch: {int((first.amax(dim=(0, 2, 3)) <= 0).sum())}/16")
    for name in ("conv", "lstm", "lstm_map", "label", "pixels"):
        value = stages[name]
        print(f"{name:9s} mean {value.mean():+.3f} std {value.std():.3f}")
    loss = sum(loss_terms(stages["label"], stages["pixels"], masks))
    loss.backward()
    print(f"initial joint loss {loss.item():.3f} (2 ln 2 = {2 * np.log(2):.3f})")
    for part in ("conv1", "conv2", "lstm", "classifier", "pixel_conv1", "pixel_conv3"):
        grads = [p.grad.norm() for p in getattr(model, part).parameters() if p.grad is not None]
        print(f"gradient norm {part:12s} {float(torch.stack(grads).norm()):.2e}")


def overfit(steps: int, batch: int, patch_weight: float) -> None:
    """Adam on one fixed batch with the recipe's joint loss; both losses should fall towards zero."""
    torch.manual_seed(0)
    images, masks = boundary_batch(batch)
    labels = patch_labels(masks)
    print(f"one batch (patch-loss weight {patch_weight}): {batch} boundary-centred patches, "
          f"{float(masks.mean()):.2f} of pixels manipulated, {int(labels.sum())} patches labelled manipulated")
    model = JConvLSTMConv().train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        label_logits, pixel_logits = model(images)
        pixel_loss, patch_loss = loss_terms(label_logits, pixel_logits, masks)
        optimiser.zero_grad(set_to_none=True)
        (pixel_loss + patch_weight * patch_loss).backward()
        optimiser.step()
        if step == 1 or step % 25 == 0:
            auc = metrics.pixel_auc(torch.softmax(pixel_logits.detach(), 1)[:, 1].numpy(), masks[:, 0].numpy() > 0.5)
            print(f"step {step:4d}: patch loss {patch_loss.item():.4f}  pixel loss {pixel_loss.item():.4f}  "
                  f"pixel AUC {auc:.4f}  ({time.perf_counter() - started:.0f} s)", flush=True)


def plain_cnn() -> torch.nn.Module:
    """Control network: four same-padded convolutions, 16 maps, ReLU; two pixel logits."""
    layers: list[torch.nn.Module] = []
    for inputs, outputs, size in ((3, 16, 5), (16, 16, 3), (16, 16, 3), (16, 2, 3)):
        layers += [torch.nn.Conv2d(inputs, outputs, size, padding=size // 2), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def easy_task(network: str, steps: int, pictures: int, patch_weight: float) -> None:
    """Train from scratch on the planted task (``pictures`` x 8 patches per step, Adam 1e-3) and
    print the patch-label and pixel AUC on patches of held-out pictures every 50 steps."""
    torch.manual_seed(0)
    split = photo_split(include_large=False)
    train = ForgeryPatches(PlantedResampling(split.train, SOURCE_SIZE, steps * pictures, 0), 8, 0)
    val = ForgeryPatches(PlantedResampling(split.val, SOURCE_SIZE, 12, VAL_SEED), 8, 1)
    held_out = [val[i] for i in range(12)]
    val_images = torch.cat([it["image"] for it in held_out])
    val_masks = torch.cat([it["mask"] for it in held_out])
    model = plain_cnn() if network == "cnn" else JConvLSTMConv()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        items = [train[(step - 1) * pictures + k] for k in range(pictures)]
        images, masks = torch.cat([it["image"] for it in items]), torch.cat([it["mask"] for it in items])
        if network == "cnn":
            loss = class_weighted_cross_entropy(model(images * 2.0 - 1.0), masks[:, 0])
        else:
            label_logits, pixel_logits = model(images)
            pixel_loss, patch_loss = loss_terms(label_logits, pixel_logits, masks)
            loss = pixel_loss + patch_weight * patch_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % 50 == 0:
            model.eval()
            with torch.no_grad():
                outputs = model(val_images * 2.0 - 1.0) if network == "cnn" else model(val_images)
            model.train()
            pixel_logits = outputs if network == "cnn" else outputs[1]
            pixel_auc = metrics.pixel_auc(torch.softmax(pixel_logits, 1)[:, 1].numpy(), val_masks[:, 0].numpy() > 0.5)
            label = "" if network == "cnn" else (
                f"patch-label AUC {metrics.image_auc(torch.softmax(outputs[0], 1)[:, 1].tolist(), patch_labels(val_masks).tolist()):.3f}  ")
            print(f"{network} step {step:4d}: train loss {loss.item():.4f}  held-out {label}pixel AUC {pixel_auc:.3f}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("labels").add_argument("--pictures", type=int, default=200)
    commands.add_parser("init")
    easy = commands.add_parser("easy")
    easy.add_argument("--network", choices=("jconv", "cnn"), default="jconv")
    easy.add_argument("--steps", type=int, default=200)
    easy.add_argument("--pictures", type=int, default=2, help="pictures per step (8 patches each)")
    easy.add_argument("--patch-weight", type=float, default=PATCH_LOSS_WEIGHT)
    fit = commands.add_parser("overfit")
    fit.add_argument("--steps", type=int, default=400)
    fit.add_argument("--batch", type=int, default=32)
    fit.add_argument("--patch-weight", type=float, default=PATCH_LOSS_WEIGHT,
                     help="weight of the patch-label loss (1 = the plain sum, which stalls the pixel loss)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # two OpenMP threads on two busy cores are many times slower
    if args.command == "labels":
        check_labels(args.pictures)
    elif args.command == "init":
        check_initialisation()
    elif args.command == "easy":
        easy_task(args.network, args.steps, args.pictures, args.patch_weight)
    else:
        overfit(args.steps, args.batch, args.patch_weight)


if __name__ == "__main__":
    main()
