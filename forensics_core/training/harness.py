"""The shared training loop: Adam, bf16 autocast on CUDA, validation, checkpoints, logs, export.

Samples are generated on the fly and deterministically from (seed, index), so a step's batch is
fixed by its number: resuming from a checkpoint continues with exactly the batches an
uninterrupted run would have seen.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from forensics_core import metrics
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe
from forensics_core.weights import save_weights

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"


class _StepSampler(Sampler[int]):
    """Indices ``start, start+1, ...`` modulo the dataset length: batch ``k`` is fixed by ``k``."""

    def __init__(self, dataset_length: int, start: int, count: int) -> None:
        self.dataset_length = dataset_length
        self.start = start
        self.count = count

    def __iter__(self) -> Iterator[int]:
        return (i % self.dataset_length for i in range(self.start, self.start + self.count))

    def __len__(self) -> int:
        return self.count


@dataclass
class TrainingOutcome:
    """What a finished run reports."""

    steps: int
    wall_time_s: float
    history: list[dict[str, float]]
    final_validation: dict[str, Any]
    weights: dict[str, dict[str, Any]]


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parents[2],
        ).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _loader(dataset: Dataset, config: TrainConfig, batch_size: int, sampler: Sampler[int] | None,
            device: torch.device) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=config.num_workers,
        worker_init_fn=_worker_init if config.num_workers else None,
        # forkserver: a forked worker deadlocks in OpenCV when the parent already used its pool.
        multiprocessing_context="forkserver" if config.num_workers else None,
        pin_memory=device.type == "cuda",
        drop_last=False,
        persistent_workers=False,
    )


def _autocast(device: torch.device, config: TrainConfig):
    enabled = config.amp and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def validate(recipe: TrainingRecipe, model: torch.nn.Module, loader: DataLoader,
             device: torch.device, config: TrainConfig) -> dict[str, Any]:
    """Validation loss, AUC and F1 (overall and per prediction group) on ``loader``."""
    model.eval()
    losses: list[float] = []
    collected: list[Predictions] = []
    with torch.no_grad(), _autocast(device, config):
        for batch in loader:
            losses.append(float(recipe.loss(model, batch, device)))
            collected.append(recipe.predict(model, batch, device))
    model.train()
    scores = np.concatenate([p.scores.ravel() for p in collected]).astype(np.float32)
    truth = np.concatenate([p.truth.ravel() for p in collected]).astype(bool)
    figures = metrics.pixel_metrics(scores, truth, threshold=0.5)
    result: dict[str, Any] = {"loss": float(np.mean(losses)), **{k: float(v) for k, v in figures.items()}}
    if all(p.groups is not None for p in collected):
        groups = np.concatenate([np.asarray(p.groups).ravel() for p in collected])
        result["groups"] = {}
        for name in sorted(set(groups.tolist())):
            keep = groups == name
            group_figures = metrics.pixel_metrics(scores[keep], truth[keep], threshold=0.5)
            result["groups"][name] = {k: float(v) for k, v in group_figures.items()}
    return result


def _save_checkpoint(path: Path, model: torch.nn.Module, optimiser: torch.optim.Optimizer,
                     step: int, elapsed: float, history: list[dict[str, float]]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step,
                "elapsed": elapsed, "history": history}, tmp)
    os.replace(tmp, path)


def train(
    recipe: TrainingRecipe,
    config: TrainConfig,
    device: torch.device,
    out_dir: Path,
    weights_folder: Path | None,
    resume: bool = True,
    show_progress: bool = True,
    command: str = "",
    time_limit_s: float | None = None,
) -> TrainingOutcome:
    """Train ``recipe`` under ``config`` on ``device``.

    Checkpoints and ``log.csv`` go to ``out_dir``; the exported weights and their manifest
    entries go to ``weights_folder`` (``out_dir/weights`` when None). Checkpoints are our own
    files, loaded with ``torch.load(weights_only=True)``. With ``time_limit_s`` the run stops
    after that many seconds of this call, checkpoints, validates and exports what it has; the
    manifest then records the steps actually done and that the time limit stopped it.
    """
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    if device.type == "cpu":  # leave the cores to the loader workers; oversubscription is 20x slower
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - config.num_workers))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    model = recipe.build_model(config).to(device)
    optimiser = torch.optim.Adam(recipe.parameter_groups(model, config), lr=config.lr,
                                 weight_decay=config.weight_decay)
    step, elapsed_before, history = 0, 0.0, []
    checkpoint_path = out_dir / CHECKPOINT_NAME
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed_before, history = int(state["step"]), float(state["elapsed"]), list(state["history"])

    train_set = recipe.train_dataset(config)
    val_loader = _loader(recipe.val_dataset(config), config, config.val_batch_size, None, device)
    remaining = max(config.steps - step, 0)
    train_loader = _loader(train_set, config, config.batch_size,
                           _StepSampler(len(train_set), step * config.batch_size,
                                        remaining * config.batch_size), device)
    log_path = out_dir / LOG_NAME
    new_log = not log_path.exists()
    started = time.perf_counter()
    model.train()
    bar = tqdm(total=config.steps, initial=step, disable=not show_progress, desc=f"train {recipe.id}",
               dynamic_ncols=True, file=sys.stderr)
    running: list[float] = []
    final: dict[str, Any] | None = None
    with log_path.open("a", newline="") as log_file:
        writer = csv.writer(log_file)
        if new_log:
            writer.writerow(["step", "train_loss", "val_loss", "val_auc", "val_best_f1", "elapsed_s"])
        for batch in train_loader:
            with _autocast(device, config):
                loss = recipe.loss(model, batch, device)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            recipe.after_step(model)
            step += 1
            running.append(loss.item())
            out_of_time = time_limit_s is not None and time.perf_counter() - started > time_limit_s
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-50:]):.4f}")
            is_last = step >= config.steps or out_of_time
            if step % config.val_every == 0 or is_last:
                figures = final = validate(recipe, model, val_loader, device, config)
                elapsed = elapsed_before + time.perf_counter() - started
                row = {"step": step, "train_loss": float(np.mean(running)), "val_loss": figures["loss"],
                       "val_auc": figures["auc"], "val_best_f1": figures["best_f1"], "elapsed_s": elapsed}
                history.append(row)
                writer.writerow([row[k] for k in ("step", "train_loss", "val_loss", "val_auc",
                                                  "val_best_f1", "elapsed_s")])
                log_file.flush()
                bar.write(f"step {step}: train loss {row['train_loss']:.4f}, val loss {figures['loss']:.4f}, "
                          f"val AUC {figures['auc']:.4f}, best F1 {figures['best_f1']:.4f}")
                running.clear()
            if step % config.checkpoint_every == 0 or is_last:
                _save_checkpoint(checkpoint_path, model, optimiser, step,
                                 elapsed_before + time.perf_counter() - started, history)
            if out_of_time:
                break
    bar.close()
    wall_time = elapsed_before + time.perf_counter() - started
    if final is None:  # nothing left to train: the checkpoint was already complete
        final = validate(recipe, model, val_loader, device, config)
    training_record = {
        "recipe": recipe.id,
        "command": command,
        "config": config.to_dict(),
        "data": recipe.describe_data(config),
        "steps": step,
        "planned_steps": config.steps,
        "stopped_by_time_limit": step < config.steps,
        "wall_time_s": round(wall_time, 1),
        "device": str(device) if device.type != "cuda" else f"cuda ({torch.cuda.get_device_name(device)})",
        "torch": torch.__version__,
        "git_commit": _git_commit(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "curve": history,
    }
    exported: dict[str, dict[str, Any]] = {}
    target = weights_folder if weights_folder is not None else out_dir / "weights"
    for key, tensors in recipe.export(model).items():
        groups = recipe.groups_for_key(key)
        if groups:
            validation = {"level": recipe.level,
                          **{g: final["groups"][g] for g in groups if g in final.get("groups", {})}}
            if len(groups) == 1 and groups[0] in final.get("groups", {}):
                validation = {"level": recipe.level, **final["groups"][groups[0]]}
        else:
            validation = {"level": recipe.level, **{k: v for k, v in final.items() if k != "groups"}}
        exported[key] = save_weights(key, tensors, training_record, validation, folder=target)
    return TrainingOutcome(steps=step, wall_time_s=wall_time, history=history,
                           final_validation=final, weights=exported)
