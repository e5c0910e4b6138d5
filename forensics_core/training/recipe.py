"""What a learned detector gives the shared training harness: model, data, loss, predictions.

Each learned detector adds one :class:`TrainingRecipe` and registers it; the harness in
:mod:`forensics_core.training.harness` does everything else (optimiser, mixed precision,
validation, checkpoints, logs, safetensors and the manifest).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping, TypeVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from forensics_core.errors import ForensicsError
from forensics_core.training.config import TrainConfig


@dataclass(frozen=True)
class Predictions:
    """Flat scores (probability of 'manipulated') and 0/1 truth for one validation batch.

    ``groups`` optionally names, per element, the sub-model it belongs to (for example a
    resampling class), so that metrics are reported per group too.
    """

    scores: np.ndarray
    truth: np.ndarray
    groups: np.ndarray | None = None


class TrainingRecipe(ABC):
    """The detector-specific half of training."""

    #: Recipe id, the argument of ``tamper-workbench train``; equal to a detector id.
    id: str = ""
    #: ``pixel`` when predictions are pixel maps, ``patch`` when they are patch labels.
    level: str = "pixel"
    #: Named configurations; ``cpu`` is a schedule that finishes in minutes here.
    profiles: Mapping[str, TrainConfig] = {"cpu": TrainConfig()}

    @abstractmethod
    def build_model(self, config: TrainConfig) -> nn.Module:
        """A freshly initialised model."""

    @abstractmethod
    def train_dataset(self, config: TrainConfig) -> Dataset:
        """The training samples (never from the held-out validation photographs)."""

    @abstractmethod
    def val_dataset(self, config: TrainConfig) -> Dataset:
        """A fixed validation set from the held-out photographs."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        """The training loss of ``batch`` (a scalar tensor)."""

    @abstractmethod
    def predict(self, model: nn.Module, batch: Any, device: torch.device) -> Predictions:
        """Scores and truth of ``batch`` for validation metrics (model in eval mode)."""

    @abstractmethod
    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """Weights to ship: ``{"<detector>/<name>": state_dict}``."""

    def parameter_groups(self, model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
        """Optimiser parameter groups; override for per-part learning rates."""
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def after_step(self, model: nn.Module) -> None:
        """Called after every optimiser step (for example to re-project constrained kernels)."""

    def groups_for_key(self, key: str) -> list[str] | None:
        """Prediction groups whose metrics belong to weights ``key`` (None: the overall figures)."""
        return None

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """What data the run uses, for the manifest."""
        return {}


_RECIPES: dict[str, type[TrainingRecipe]] = {}
R = TypeVar("R", bound=type[TrainingRecipe])


def register_recipe(cls: R) -> R:
    """Class decorator: make ``cls`` available to ``tamper-workbench train``."""
    _RECIPES[cls.id] = cls
    return cls


def _load_recipes() -> None:
    """Import the modules listed in :data:`~forensics_core.training.recipes.RECIPE_MODULES`."""
    from forensics_core.training import recipes

    for module in recipes.RECIPE_MODULES:
        importlib.import_module(f"{recipes.__name__}.{module}")


def get_recipe(recipe_id: str) -> TrainingRecipe:
    """The recipe registered under ``recipe_id``."""
    _load_recipes()
    try:
        return _RECIPES[recipe_id]()
    except KeyError:
        known = ", ".join(sorted(_RECIPES)) or "none yet"
        raise ForensicsError(f"No training recipe for '{recipe_id}'. Trainable: {known}.") from None


def list_recipes() -> list[str]:
    """Ids of every trainable detector."""
    _load_recipes()
    return sorted(_RECIPES)
