"""Table II of Cozzolino, Poggi and Verdoliva (IH&MMSec 2017) on our data: accuracy per binary task.

For each of the fifteen tasks (:data:`~forensics_core.training.recipes.srm_cnn.PAPER_TASKS`), on
held-out 128x128 green-channel patches of our pristine validation photographs (kodak24 and
mcmaster, odd numbers; half pristine, half processed, the recipe's fixed validation seed):

- **SRM + SVM** (reference): the hand-crafted 162-bin descriptor, standardised, and a linear SVM
  (scikit-learn ``LinearSVC``, C chosen by 3-fold cross-validation), trained on exactly the
  training patches that initialise the CNN;
- **CNN, hand-wired**: the network before fine-tuning, i.e. the descriptor and the logistic
  regression of the recipe's initialisation (the hard-max network equals the descriptor exactly);
- **CNN, fine-tuned**: the shipped weights ``srm-cnn/<task>``.

The general model's validation figures are copied from its manifest entry. The paper's own figures
are not reproduced here (see its Table II). Writes ``benchmarks/results/srm_table.md``.

Run from the repository root: ``python benchmarks/srm_table.py [--test-per-task N] [--workers N]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from torch.utils.data import DataLoader

from forensics_core.atomic import write_text_atomic
from forensics_core.features.srm import srm_features
from forensics_core.models.srm_cnn import SRMNet
from forensics_core.synth.data import photo_split
from forensics_core.training import get_recipe
from forensics_core.training.recipes.srm_cnn import (
    INIT_SEED_OFFSET,
    PAPER_TASKS,
    VAL_SEED,
    SRMNetBank,
    fit_classifier,
    hand_crafted_features,
)
from forensics_core.weights import load_weights, manifest_entry

OUT = Path(__file__).resolve().parent / "results" / "srm_table.md"


def _trained_bank(alpha: float) -> SRMNetBank | None:
    """The shipped task networks, or None when any is missing."""
    bank = SRMNetBank(len(PAPER_TASKS), alpha=alpha)
    for task, net in zip(PAPER_TASKS, bank.nets):
        if manifest_entry(f"srm-cnn/{task.name}") is None:
            return None
        net.load_state_dict(load_weights(f"srm-cnn/{task.name}")[0])
    return bank.eval()


def _test_set(per_task: int, workers: int, bank: SRMNetBank | None) -> tuple[np.ndarray, ...]:
    """Hand-crafted features, labels, tasks and fine-tuned CNN logits (NaN without weights)."""
    recipe = get_recipe("srm-cnn-tasks")
    dataset = recipe.make_dataset(photo_split(include_large=False).val, per_task * len(PAPER_TASKS), VAL_SEED)
    features, labels, tasks, logits = [], [], [], []
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=150, num_workers=workers):
            features.append(srm_features(batch["patch"][:, 0].numpy()))
            labels.append(batch["label"].numpy())
            tasks.append(batch["task"].numpy())
            logits.append(bank(batch["patch"], batch["task"]).numpy() if bank is not None
                          else np.full(len(batch["task"]), np.nan))
    return tuple(np.concatenate(v) for v in (features, labels, tasks, logits))


def _svm_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    search = GridSearchCV(make_pipeline(StandardScaler(), LinearSVC(max_iter=20000)),
                          {"linearsvc__C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
    return float(search.fit(x_train, y_train).score(x_test, y_test))


def _hand_wired_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                         l2: float) -> float:
    net = SRMNet().double()
    fit_classifier(net, x_train, y_train, l2)
    with torch.no_grad():
        logits = net.classify(torch.from_numpy(x_test)).numpy()
    return float(((logits > 0) == (y_test > 0.5)).mean())


def _general_row() -> str:
    entry = manifest_entry("srm-cnn/general")
    if entry is None:
        return "General model `srm-cnn/general`: not trained.\n"
    val, training = entry["validation"], entry["training"]
    return (f"General model `srm-cnn/general` ({training['steps']} steps, {training['wall_time_s']} s on "
            f"{training['device']}): validation AUC {val['auc']:.3f}, F1 {val['f1']:.3f}, MCC {val['mcc']:.3f} "
            f"on 128x128 crops of synthetic forgeries of the validation photographs (patch level).\n")


def main() -> int:
    """Compute, print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-per-task", type=int, default=200, help="held-out patches per task (even)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    recipe = get_recipe("srm-cnn-tasks")
    config = recipe.profiles["cpu"]
    init = recipe.make_dataset(recipe.train_photos(config), int(config.extra["init_samples"]) * len(PAPER_TASKS),
                               config.seed + INIT_SEED_OFFSET)
    x_train, y_train, t_train = hand_crafted_features(init, args.workers)
    bank = _trained_bank(float(config.extra["alpha"]))
    x_test, y_test, t_test, logits = _test_set(args.test_per_task, args.workers, bank)
    lines = [
        "## SRM-CNN: accuracy per binary task (cf. Table II of Cozzolino, Poggi & Verdoliva, IH&MMSec 2017)",
        "",
        f"Held-out 128x128 green patches of the validation photographs: {args.test_per_task} per task, half "
        f"processed. Training: {int(config.extra['init_samples'])} patches per task from "
        f"{len(recipe.train_photos(config))} never-compressed training photographs (the paper's "
        "small-training-set regime). Paper figures: see paper, Table II (not reproduced from memory).",
        "",
        "| task | SRM + SVM (ours) | CNN hand-wired (ours) | CNN fine-tuned (ours) | paper |",
        "|---|---|---|---|---|",
    ]
    for index, task in enumerate(PAPER_TASKS):
        train, test = t_train == index, t_test == index
        svm = _svm_accuracy(x_train[train], y_train[train], x_test[test], y_test[test])
        wired = _hand_wired_accuracy(x_train[train], y_train[train], x_test[test], y_test[test],
                                     float(config.extra["l2"]))
        tuned = ((logits[test] > 0) == (y_test[test] > 0.5)).mean() if bank is not None else float("nan")
        tuned_cell = f"{100 * tuned:.1f}" if bank is not None else "not trained"
        lines.append(f"| {task.name} | {100 * svm:.1f} | {100 * wired:.1f} | {tuned_cell} | see paper |")
    lines += ["", _general_row()]
    text = "\n".join(lines)
    print(text)
    write_text_atomic(OUT, text)
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
