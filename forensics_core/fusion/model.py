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

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from forensics_core.fusion.features import FEATURES_PER_MEMBER, member_features


class FusionModel(nn.Module):
    """``sigmoid(w . (x - mean) / std + b)``: logistic regression on standardised features.

    ``mean`` and ``std`` (buffers, saved with the weights) are the training features' mean and
    standard deviation, so that the weights are comparable between features. The buffers
    ``image_mean``, ``image_weight`` and ``image_bias`` hold the image-score
    regression over the members' evidence (:mod:`forensics_core.fusion.image_score`), fitted
    before the pixel model is trained and left alone by the optimiser.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        n_members = n_features // len(FEATURES_PER_MEMBER)
        self.register_buffer("image_mean", torch.zeros(n_members, dtype=torch.float64))
        self.register_buffer("image_weight", torch.zeros(n_members, dtype=torch.float64))
        self.register_buffer("image_bias", torch.zeros(1, dtype=torch.float64))
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def set_image_model(self, model: Mapping[str, np.ndarray]) -> None:
        """Store the image-score regression (:func:`~forensics_core.fusion.image_score.fit_logistic`)."""
        for name in ("mean", "weight", "bias"):
            getattr(self, f"image_{name}").copy_(torch.as_tensor(np.asarray(model[name], dtype=np.float64)))

    def image_model(self) -> dict[str, np.ndarray]:
        """The image-score regression as :func:`~forensics_core.fusion.image_score.logit` reads it."""
        return {name: getattr(self, f"image_{name}").detach().cpu().numpy().astype(np.float64)
                for name in ("mean", "weight", "bias")}

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


def fuse(model: FusionModel, heatmaps: Mapping[str, np.ndarray | None], members: Sequence[str],
         on_member: Callable[[int, str], None] | None = None) -> np.ndarray:
    """The fused probability map of the members' heatmaps.

    ``members`` is the model's member order; ``heatmaps[member]`` is that member's HxW map, or None
    (or absent) when the member was left out or could not analyse the picture: its features are
    then set to the training mean, so that it adds nothing to the logit. The logit is summed member
    by member, so that only one member's features (HxWx3) are held at a time; ``on_member(index,
    member)`` is called before each (progress and cancel).
    """
    n = len(members) * len(FEATURES_PER_MEMBER)
    if n != model.n_features:
        raise ValueError(f"the fusion model reads {model.n_features} features, got {len(members)} members")
    mean = model.mean.cpu().numpy().astype(np.float64)
    weight = model.linear.weight.detach().cpu().numpy().ravel().astype(np.float64) / model.std.cpu().numpy()
    # Logit of a row x: weight . x + offset; a missing member's features equal the mean.
    offset = float(model.linear.bias.detach().cpu()) - float(weight @ mean)
    shape = next(np.shape(m) for m in heatmaps.values() if m is not None)
    logits = np.zeros(shape, np.float32)
    per_member = len(FEATURES_PER_MEMBER)
    for index, member in enumerate(members):
        part = slice(index * per_member, (index + 1) * per_member)
        heatmap = heatmaps.get(member)
        if heatmap is None:
            offset += float(weight[part] @ mean[part])
            continue
        if on_member is not None:
            on_member(index, member)
        logits += member_features(heatmap) @ weight[part].astype(np.float32)
    logits += np.float32(offset)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def build_fusion_model(states: Mapping[str, Mapping[str, torch.Tensor]]) -> FusionModel:
    """The fusion model from its verified state dict (the only weights key), loaded strictly."""
    (state,) = states.values()
    model = FusionModel(int(state["mean"].shape[0]))
    model.load_state_dict(dict(state))
    return model
