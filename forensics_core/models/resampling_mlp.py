"""The binary patch classifier of Bunk et al. 2017 [Bunk2017]_: an MLP on 874 resampling features.

One network per resampling class (JPEG quality, upsampling, downsampling, rotation clockwise,
rotation counter-clockwise, shearing), each answering "does this 64x64 patch carry that
operation?". Architecture as in the authors' released implementation (the paper gives no layer sizes):
standardisation, then ``874 -> 256 -> ELU -> dropout -> 256 -> ELU -> dropout -> 2`` (softmax).
The standardisation mean and standard deviation are buffers, so they are saved with the weights.

.. [Bunk2017] J. Bunk et al., "Detection and localization of image forgeries using resampling
   features and deep learning", CVPR Workshops 2017. :DOI:`10.1109/CVPRW.2017.235`
"""

from __future__ import annotations

import torch
from torch import nn

from forensics_core.features.resampling import BUNK_SPEC
from forensics_core.models.sizes import RESAMPLING_CLASSES

__all__ = ["RESAMPLING_CLASSES", "ResamplingMLP"]
#: Dropout probability between the hidden layers while training.
DEFAULT_DROPOUT = 0.5


class ResamplingMLP(nn.Module):
    """Standardised features -> two ELU hidden layers with dropout -> two logits (0 = pristine)."""

    def __init__(self, in_features: int = BUNK_SPEC.n_features, hidden: int = 256,
                 dropout: float = DEFAULT_DROPOUT) -> None:
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(in_features))
        self.register_buffer("feature_std", torch.ones(in_features))
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ELU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ELU(), nn.Dropout(dropout),
            nn.Linear(hidden, 2),
        )

    def set_standardisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training features' mean and standard deviation (floored at 1e-6)."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, in_features) raw features -> (N, 2) logits."""
        return self.net((features - self.feature_mean) / self.feature_std)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> ResamplingMLP:
        """A model shaped after ``state`` (input and hidden sizes read from it), weights loaded."""
        hidden, in_features = state["net.0.weight"].shape
        model = cls(in_features=in_features, hidden=hidden)
        model.load_state_dict(state)
        return model
