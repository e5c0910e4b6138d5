"""The shared training loop: Adam with a learning-rate schedule (:mod:`forensics_core.training.schedule`),
bf16 autocast on CUDA, validation, checkpoints, logs, export.

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from forensics_core import metrics
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe
from forensics_core.training.schedule import check_schedule, learning_rate_factor
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


def _prepare_process(config: TrainConfig, device: torch.device) -> None:
    """CPU threads left to the loader workers (oversubscription is 20x slower) and the seeds."""
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - config.num_workers))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)


@dataclass
class _Progress:
    """Where a run stands: steps done, seconds spent before this call, the validation history."""

    step: int = 0
    elapsed_before: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


def _restore(path: Path, model: torch.nn.Module, optimiser: torch.optim.Optimizer,
             device: torch.device) -> _Progress:
    """Model, optimiser and progress from our own checkpoint (``weights_only``: nothing unpickled)."""
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    return _Progress(int(state["step"]), float(state["elapsed"]), list(state["history"]))


#: Columns of ``log.csv``, one row per validation.
LOG_COLUMNS = ("step", "train_loss", "val_loss", "val_auc", "val_best_f1", "elapsed_s")


class _TrainingLog:
    """``log.csv`` in ``out_dir``, appended to across resumes (the header written once)."""

    def __init__(self, path: Path) -> None:
        self._new = not path.exists()
        self._file = path.open("a", newline="")
        self._writer = csv.writer(self._file)
        if self._new:
            self._writer.writerow(LOG_COLUMNS)

    def write(self, row: dict[str, float]) -> None:
        """Append one validation row and flush it, so a killed run keeps its log."""
        self._writer.writerow([row[column] for column in LOG_COLUMNS])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _run_steps(recipe: TrainingRecipe, model: torch.nn.Module, optimiser: torch.optim.Optimizer,
               loaders: tuple[DataLoader, DataLoader], device: torch.device, config: TrainConfig,
               progress: _Progress, out_dir: Path, time_limit_s: float | None,
               show_progress: bool) -> dict[str, Any] | None:
    """The optimisation loop with periodic validation (logged) and checkpoints; ``progress`` is
    updated in place. Returns the last validation, None when no step was left to run."""
    from tqdm import tqdm

    train_loader, val_loader = loaders
    started = time.perf_counter()
    model.train()
    bar = tqdm(total=config.steps, initial=progress.step, disable=not show_progress, desc=f"train {recipe.id}",
               dynamic_ncols=True, file=sys.stderr)
    running: list[float] = []
    final: dict[str, Any] | None = None
    log = _TrainingLog(out_dir / LOG_NAME)
    try:
        for batch in train_loader:
            with _autocast(device, config):
                loss = recipe.loss(model, batch, device)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            factor = learning_rate_factor(config, progress.step)
            for group in optimiser.param_groups:
                group["lr"] = group["initial_lr"] * factor
            optimiser.step()
            recipe.after_step(model)
            progress.step += 1
            step = progress.step
            running.append(loss.item())
            out_of_time = time_limit_s is not None and time.perf_counter() - started > time_limit_s
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-50:]):.4f}")
            is_last = step >= config.steps or out_of_time
            if step % config.val_every == 0 or is_last:
                final = validate(recipe, model, val_loader, device, config)
                row = {"step": step, "train_loss": float(np.mean(running)), "val_loss": final["loss"],
                       "val_auc": final["auc"], "val_best_f1": final["best_f1"],
                       "elapsed_s": progress.elapsed_before + time.perf_counter() - started}
                progress.history.append(row)
                log.write(row)
                bar.write(f"step {step}: train loss {row['train_loss']:.4f}, val loss {final['loss']:.4f}, "
                          f"val AUC {final['auc']:.4f}, best F1 {final['best_f1']:.4f}")
                running.clear()
            if step % config.checkpoint_every == 0 or is_last:
                _save_checkpoint(out_dir / CHECKPOINT_NAME, model, optimiser, step,
                                 progress.elapsed_before + time.perf_counter() - started, progress.history)
            if out_of_time:
                break
    finally:
        log.close()
        bar.close()
    progress.elapsed_before += time.perf_counter() - started
    return final


def _training_record(recipe: TrainingRecipe, config: TrainConfig, device: torch.device, progress: _Progress,
                     command: str) -> dict[str, Any]:
    """The provenance stored with the weights: recipe, command, config, data, steps, machine, curve."""
    return {
        "recipe": recipe.id,
        "command": command,
        "config": config.to_dict(),
        "data": recipe.describe_data(config),
        "steps": progress.step,
        "planned_steps": config.steps,
        "stopped_by_time_limit": progress.step < config.steps,
        "wall_time_s": round(progress.elapsed_before, 1),
        "device": str(device) if device.type != "cuda" else f"cuda ({torch.cuda.get_device_name(device)})",
        "torch": torch.__version__,
        "git_commit": _git_commit(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "curve": progress.history,
    }


def validation_record(recipe: TrainingRecipe, key: str, final: dict[str, Any]) -> dict[str, Any]:
    """The validation figures stored with the weights of ``key``.

    A key validated on one prediction group gets that group's figures at the top level; a key
    of several groups gets one entry per group; a key without groups gets the overall figures.
    """
    groups = recipe.groups_for_key(key)
    measured = final.get("groups", {})
    if not groups:
        figures = {name: value for name, value in final.items() if name != "groups"}
    elif len(groups) == 1 and groups[0] in measured:
        figures = measured[groups[0]]
    else:
        figures = {group: measured[group] for group in groups if group in measured}
    return {"level": recipe.level, **figures}


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
    check_schedule(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare_process(config, device)
    model = recipe.build_model(config).to(device)
    optimiser = torch.optim.Adam(recipe.parameter_groups(model, config), lr=config.lr,
                                 weight_decay=config.weight_decay)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    progress = (_restore(checkpoint_path, model, optimiser, device) if resume and checkpoint_path.exists()
                else _Progress())
    for group in optimiser.param_groups:  # the schedule scales each group's own base rate
        group.setdefault("initial_lr", group["lr"])

    train_set = recipe.train_dataset(config)
    val_loader = _loader(recipe.val_dataset(config), config, config.val_batch_size, None, device)
    remaining = max(config.steps - progress.step, 0)
    train_loader = _loader(train_set, config, config.batch_size,
                           _StepSampler(len(train_set), progress.step * config.batch_size,
                                        remaining * config.batch_size), device)
    final = _run_steps(recipe, model, optimiser, (train_loader, val_loader), device, config, progress, out_dir,
                       time_limit_s, show_progress)
    if final is None:  # nothing left to train: the checkpoint was already complete
        final = validate(recipe, model, val_loader, device, config)
    record = _training_record(recipe, config, device, progress, command)
    target = weights_folder if weights_folder is not None else out_dir / "weights"
    exported = {key: save_weights(key, tensors, record, validation_record(recipe, key, final), folder=target)
                for key, tensors in recipe.export(model).items()}
    return TrainingOutcome(steps=progress.step, wall_time_s=progress.elapsed_before, history=progress.history,
                           final_validation=final, weights=exported)
