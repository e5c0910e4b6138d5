"""Shared training harness for every learned detector (see :mod:`.harness` and :mod:`.recipe`)."""

from forensics_core.training.config import TrainConfig, load_config
from forensics_core.training.recipe import (
    Predictions,
    TrainingRecipe,
    get_recipe,
    list_recipes,
    register_recipe,
)

__all__ = [
    "Predictions",
    "TrainConfig",
    "TrainingRecipe",
    "get_recipe",
    "list_recipes",
    "load_config",
    "register_recipe",
]
