"""The fusion model: logistic regression over the member detectors' per-pixel features.

Why logistic regression rather than gradient-boosted trees: the model has ``3 * members + 1``
numbers (37 for twelve members) instead of hundreds of trees; its output is a probability that is
already well calibrated on the training distribution (it minimises the log-loss directly, where
boosted trees need a separate calibration step); it generalises from the few training pictures
there are (a few hundred synthetic forgeries, whose pixels are strongly correlated within a
picture) without the over-fitting trees show on them; and each weight says how much a detector
feature counts, which an examiner can read (Fontani et al., IEEE TIFS 8(4), 2013, argue for this
transparency in forensic fusion). It is trained by the shared harness in PyTorch and shipped as
safetensors like every other model.

The weights are tied to the members that produced the training maps through the layout recorded
in their manifest entry (:mod:`forensics_core.fusion.layout`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from forensics_core.fusion.features import FEATURES_PER_MEMBER


class FusionModel(nn.Module):
    """``sigmoid(w . (x - mean) / std + b)``: logistic regression on standardised features.

    ``mean`` and ``std`` (buffers, saved with the weights) are the training features' mean and
    standard deviation, so that the weights are comparable between features.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @property
    def n_features(self) -> int:
        return self.linear.in_features

    def set_standardisation(self, features: torch.Tensor) -> None:
        """Store the mean and standard deviation of the training ``features`` (N x F)."""
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (N) of feature rows (N x F)."""
        return self.linear((features - self.mean) / self.std).squeeze(-1)


def fuse(model: FusionModel, features: np.ndarray, present: Sequence[bool] | None = None) -> np.ndarray:
    """The fused probability map of a HxWxF feature stack.

    ``present`` (one flag per member) marks members whose maps are missing (not chosen): their
    features are set to the training mean, so that they add nothing to the logit.
    """
    height, width, n = features.shape
    if n != model.n_features:
        raise ValueError(f"the fusion model reads {model.n_features} features, got {n}")
    weight = model.linear.weight.detach().cpu().numpy().ravel() / model.std.cpu().numpy()
    offset = float(model.linear.bias.detach().cpu()) - float(weight @ model.mean.cpu().numpy())
    if present is not None:
        keep = np.repeat(np.asarray(present, dtype=bool), len(FEATURES_PER_MEMBER))
        offset += float(weight[~keep] @ model.mean.cpu().numpy()[~keep])
        weight = np.where(keep, weight, 0.0)
    logits = features.reshape(-1, n) @ weight.astype(np.float32) + np.float32(offset)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32).reshape(height, width)


def build_fusion_model(states: Mapping[str, Mapping[str, torch.Tensor]]) -> FusionModel:
    """The fusion model from its verified state dict (the only weights key), loaded strictly."""
    (state,) = states.values()
    model = FusionModel(int(state["mean"].shape[0]))
    model.load_state_dict(dict(state))
    return model
