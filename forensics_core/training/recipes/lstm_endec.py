"""Training recipe for LSTM-EnDec (Bappy et al., IEEE TIP 28(7), 2019).

The whole network (:class:`~forensics_core.models.lstm_endec.LSTMEnDec`) is trained end to end on
256x256 :class:`~forensics_core.synth.datasets.ForgeryDataset` forgeries (splicing, copy-move,
removal, local enhancement; a quarter pristine) with the paper's class-weighted pixel
cross-entropy over the two softmax classes: manipulated and authentic pixels of a batch weigh half
each (:func:`class_weighted_cross_entropy`), since manipulated pixels are a small minority. The
resampling features are computed inside the model, on the training device. Weights
``lstm-endec/model``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from forensics_core.models.lstm_endec import INPUT_SIZE, LSTMEnDec
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe

WEIGHTS_KEY = "lstm-endec/model"
#: Seed of the fixed validation forgeries (held-out photographs only).
VAL_SEED = 7007
#: Limits of the positive fraction used to weight the cross-entropy (avoids huge weights).
POSITIVE_FRACTION_LIMITS = (0.02, 0.98)


def class_weighted_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Two-class cross-entropy in which each class of the batch weighs half.

    ``logits`` is (N, 2, ...) and ``target`` (N, ...) of 0/1. The class weights are
    ``0.5 / fraction`` of each class in the batch (the manipulated fraction clipped to
    :data:`POSITIVE_FRACTION_LIMITS`), so the loss is the mean of the two per-class mean losses.
    """
    target = target.long()
    low, high = POSITIVE_FRACTION_LIMITS
    positive = float(target.float().mean().clamp(low, high))
    weight = torch.tensor([0.5 / (1.0 - positive), 0.5 / positive], device=logits.device)
    return F.cross_entropy(logits.float(), target, weight=weight)


def kind_groups(kinds: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Per-pixel group names (each sample's manipulation kind) for validation figures per kind."""
    return np.broadcast_to(np.asarray(kinds).reshape((-1,) + (1,) * (len(shape) - 1)), shape)


@register_recipe
class LSTMEnDecRecipe(TrainingRecipe):
    """End-to-end LSTM-EnDec training on 256x256 synthetic forgeries."""

    id = "lstm-endec"
    level = "pixel"
    profiles = {
        "cpu": TrainConfig(steps=100, batch_size=4, lr=1e-3, val_every=50, val_samples=8, val_batch_size=8,
                           checkpoint_every=50, num_workers=1, amp=False, include_large_photos=True),
        "gpu": TrainConfig(steps=2400, batch_size=32, lr=1e-3, val_every=400, val_samples=256,
                           val_batch_size=32, checkpoint_every=200, num_workers=12, amp=True,
                           include_large_photos=False),
    }

    def build_model(self, config: TrainConfig) -> nn.Module:
        """A freshly initialised LSTM-EnDec."""
        return LSTMEnDec()

    def _forgeries(self, config: TrainConfig, train: bool) -> ForgeryDataset:
        split = photo_split(include_large=config.include_large_photos)
        if train:
            return ForgeryDataset(split.train, object_masks(), size=INPUT_SIZE,
                                  length=config.steps * config.batch_size, seed=config.seed)
        return ForgeryDataset(split.val, object_masks(), size=INPUT_SIZE, length=config.val_samples, seed=VAL_SEED)

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Forgeries of the training photographs, one per sample the run draws."""
        return self._forgeries(config, train=True)

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed forgeries of the held-out photographs."""
        return self._forgeries(config, train=False)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Class-weighted pixel cross-entropy."""
        logits = model(batch["image"].to(device, non_blocking=True))
        return class_weighted_cross_entropy(logits, batch["mask"].to(device, non_blocking=True)[:, 0])

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """Pixel probabilities of "manipulated" and truth, grouped by manipulation kind."""
        logits = model(batch["image"].to(device)).detach().float()
        scores = torch.softmax(logits, dim=1)[:, 1].cpu().numpy()
        truth = batch["mask"][:, 0].numpy() > 0.5
        return Predictions(scores=scores, truth=truth, groups=kind_groups(batch["kind"], scores.shape))

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """The whole network (about 6.6 MB in float32)."""
        return {WEIGHTS_KEY: model.state_dict()}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, sample size and loss."""
        split = photo_split(include_large=config.include_large_photos)
        return {"train_photos": len(split.train), "val_photos": len(split.val), "size": INPUT_SIZE,
                "val_seed": VAL_SEED, "loss": "class-weighted pixel cross-entropy (2-class softmax)"}
