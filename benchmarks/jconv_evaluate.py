"""Validation figures of a J-Conv-LSTM-Conv network (issue 24): easy task, synthetic set, NoSo.

Usage (from the repository root, data in ``../shared/data``)::

    python benchmarks/jconv_evaluate.py --checkpoint runs/jconv-curriculum/checkpoint.pt \
        [--planted 16] [--synthetic 32] [--benchmark 40] [--noso 18] [--stride 32] [--noso-stride 64]

The network is read from a training checkpoint of the harness (``torch.load(weights_only=True)``)
or, with ``--weights FOLDER``, from the detector's weights in a weights folder. Three figures,
all on data never trained on:

* **planted**: the easy task (:class:`~forensics_core.synth.datasets.PlantedResampling`: large
  upscaled regions with sharp straight edges) on the held-out validation photographs: pixel AUC
  of the sliding-window heatmap over all pixels together, as the harness computes it;
* **synthetic**: the recipe's own validation set (realistic forgeries of the held-out
  photographs, ``VAL_SEED``), the harness's pooled pixel AUC, overall and per manipulation kind;
* **synthetic benchmark** and **NoSo**: ``tamper-workbench evaluate``'s figures
  (:func:`forensics_core.evaluation.evaluate_folder`: pixel AUC per forged image, averaged;
  image AUC against the authentic pictures) of the detector on the synthetic validation
  benchmark of ``benchmarks/make_results.py`` (:func:`forensics_core.synth.benchmark.
  write_synthetic_benchmark`: 40 forged, 20 pristine 384x384 pictures) and on
  ``../shared/data/benchmarks/noso``.

Windows every ``--stride`` pixels on the 256x256 sets and ``--noso-stride`` on the 1024x768 NoSo
pictures and the synthetic benchmark (the time grows as 1/stride^2), Gaussian sigma 3 as the detector's default.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from forensics_core import metrics
from forensics_core.detectors.j_conv_lstm_conv import WEIGHTS_KEY, JConvLSTMConvDetector
from forensics_core.evaluation import evaluate_folder
from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv, sliding_window_heatmap
from forensics_core.synth.benchmark import write_synthetic_benchmark
from forensics_core.synth.data import find_data_root, photo_split
from forensics_core.synth.datasets import PlantedResampling
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipes.j_conv_lstm_conv import (
    SOURCE_SIZE,
    VAL_SEED,
    ForgeryPatches,
    JConvLSTMConvRecipe,
    patch_labels,
)
from forensics_core.weights import load_weights

SIGMA = 3.0


def load_network(checkpoint: Path | None, weights: Path | None) -> JConvLSTMConv:
    """The network of a harness checkpoint or of a weights folder, in eval mode."""
    model = JConvLSTMConv()
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    else:
        model.load_state_dict(load_weights(WEIGHTS_KEY, folder=weights)[0])
    return model.eval()


def pooled_auc(model: JConvLSTMConv, pictures, count: int, stride: int) -> tuple[float, dict[str, float]]:
    """Pixel AUC of the heatmaps of ``count`` pictures, all pixels pooled, and per ``kind``."""
    scores, truth, kinds = [], [], []
    for index in range(count):
        item = pictures[index]
        scores.append(sliding_window_heatmap(model, item["image"], stride, SIGMA).numpy().ravel())
        truth.append(item["mask"][0].numpy().ravel() > 0.5)
        kinds.append(np.full(scores[-1].shape, item["kind"]))
    scores_all, truth_all, kinds_all = np.concatenate(scores), np.concatenate(truth), np.concatenate(kinds)
    per_kind = {}
    for kind in sorted(set(kinds_all.tolist()) - {"pristine"}):
        keep = (kinds_all == kind) | (kinds_all == "pristine")
        per_kind[kind] = metrics.pixel_auc(scores_all[keep], truth_all[keep])
    return metrics.pixel_auc(scores_all, truth_all), per_kind


def head_aucs(model: JConvLSTMConv, pictures, count: int) -> tuple[float, float, float]:
    """The two heads apart, on the training-style patches (:class:`ForgeryPatches`, 8 per picture):
    patch-label AUC, pixel AUC of the raw pixel map, and the spread (max - min) of its probabilities."""
    patches = ForgeryPatches(pictures, crops=8, seed=VAL_SEED)
    items = [patches[index] for index in range(count)]
    images, masks = torch.cat([it["image"] for it in items]), torch.cat([it["mask"] for it in items])
    with torch.no_grad():
        label_logits, pixel_logits = model(images)
    label_prob = torch.softmax(label_logits, dim=1)[:, 1]
    pixel_prob = torch.softmax(pixel_logits, dim=1)[:, 1]
    return (metrics.image_auc(label_prob.tolist(), patch_labels(masks).tolist()),
            metrics.pixel_auc(pixel_prob.numpy(), masks[:, 0].numpy() > 0.5),
            float(pixel_prob.max() - pixel_prob.min()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path)
    source.add_argument("--weights", type=Path, help="weights folder holding j-conv-lstm-conv/model")
    parser.add_argument("--planted", type=int, default=16, help="easy-task pictures (0: skip)")
    parser.add_argument("--synthetic", type=int, default=32, help="synthetic validation pictures (0: skip)")
    parser.add_argument("--benchmark", type=int, default=40, help="synthetic benchmark forged pictures (0: skip)")
    parser.add_argument("--noso", type=int, default=18, help="NoSo forged (and authentic) pictures (0: skip)")
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--noso-stride", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)  # two OpenMP threads on two busy cores are many times slower
    model = load_network(args.checkpoint, args.weights)
    print(f"network: {args.checkpoint or args.weights}")
    split = photo_split(include_large=False)
    if args.planted:
        started = time.perf_counter()
        planted = PlantedResampling(split.val, SOURCE_SIZE, args.planted, VAL_SEED)
        auc, _ = pooled_auc(model, planted, args.planted, args.stride)
        label_auc, pixel_auc, spread = head_aucs(model, planted, args.planted)
        print(f"planted (easy task), {args.planted} held-out pictures, stride {args.stride}: "
              f"pixel AUC {auc:.4f}; on their 64x64 patches: patch-label AUC {label_auc:.4f}, raw pixel-map "
              f"AUC {pixel_auc:.4f} (pixel probabilities spread over {spread:.3f}) "
              f"({time.perf_counter() - started:.0f} s)")
    if args.synthetic:
        started = time.perf_counter()
        recipe = JConvLSTMConvRecipe()
        pictures = recipe.val_dataset(TrainConfig(val_samples=args.synthetic, include_large_photos=False))
        auc, per_kind = pooled_auc(model, pictures, args.synthetic, args.stride)
        kinds = ", ".join(f"{kind} {value:.4f}" for kind, value in per_kind.items())
        print(f"synthetic validation, {args.synthetic} pictures (seed {VAL_SEED}), stride {args.stride}: "
              f"pixel AUC {auc:.4f}; per kind (with the pristine pictures): {kinds} "
              f"({time.perf_counter() - started:.0f} s)")
    params = {"stride": args.noso_stride, "sigma": SIGMA}
    if args.benchmark:
        with tempfile.TemporaryDirectory() as folder:
            benchmark = write_synthetic_benchmark(Path(folder) / "synthetic-val", n_forged=args.benchmark,
                                                  n_authentic=args.benchmark // 2)
            report_folder("synthetic benchmark", benchmark, model, params, args.benchmark)
    root = find_data_root()
    if args.noso and root is not None:
        report_folder("NoSo", root / "benchmarks" / "noso", model, params, args.noso)
    elif args.noso:
        print("NoSo skipped: ../shared/data is not there")


def report_folder(name: str, folder: Path, model: JConvLSTMConv, params: dict, limit: int) -> None:
    """``tamper-workbench evaluate``'s figures of the detector with ``model`` on a benchmark folder."""
    started = time.perf_counter()
    summary = evaluate_folder(folder, JConvLSTMConvDetector(model), params, "cpu", limit=limit)
    print(f"{name}, {summary['images']} forged and {summary['authentic']} authentic pictures, stride "
          f"{params['stride']}: pixel AUC {summary['pixel_auc']:.4f}, best F1 {summary['pixel_best_f1']:.4f}, "
          f"image AUC {summary.get('image_auc', float('nan')):.4f} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
