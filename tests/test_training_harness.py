"""The shared training harness: a short CPU run of a small pixel model learns, resumes and exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from forensics_core.synth.data import find_data_root
from forensics_core.training import Predictions, TrainConfig, TrainingRecipe
from forensics_core.training.harness import train
from forensics_core.weights import load_weights

pytestmark = pytest.mark.skipif(find_data_root() is None, reason="../shared/data is not present")


class TinyResidualNet(nn.Module):
    """A fixed high-pass filter then a few small convolutions: a deliberately tiny pixel model."""

    def __init__(self) -> None:
        super().__init__()
        laplacian = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
        self.register_buffer("highpass", laplacian.expand(3, 1, 3, 3).clone())
        self.body = nn.Sequential(nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(),
                                  nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), nn.Conv2d(16, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        residual = nn.functional.conv2d(image, self.highpass, padding=1, groups=3)
        energy = nn.functional.avg_pool2d(residual.abs(), 9, stride=1, padding=4)
        return self.body(torch.cat([residual * 10, energy * 10], dim=1))


class TinyEnhancementRecipe(TrainingRecipe):
    """Local enhancement (blur, noise...) detection at 64x64: learnable within a minute on a CPU."""

    id = "tiny-test"

    def build_model(self, config: TrainConfig) -> nn.Module:
        return TinyResidualNet()

    def _dataset(self, photos, seed: int, length: int):
        from forensics_core.synth.data import object_masks
        from forensics_core.synth.datasets import ForgeryDataset

        return ForgeryDataset(photos, object_masks(), size=64, length=length, seed=seed,
                              pristine_fraction=0.25, kinds=("enhancement",))

    def train_dataset(self, config: TrainConfig):
        from forensics_core.synth.data import photo_split

        return self._dataset(photo_split(include_large=False).train, config.seed, 100_000)

    def val_dataset(self, config: TrainConfig):
        from forensics_core.synth.data import photo_split

        return self._dataset(photo_split(include_large=False).val, 12345, config.val_samples)

    def loss(self, model, batch, device):
        logits = model(batch["image"].to(device))
        target = batch["mask"].to(device)
        positive = target.mean().clamp(0.05, 0.95)
        weights = torch.where(target > 0.5, 0.5 / positive, 0.5 / (1 - positive))
        return nn.functional.binary_cross_entropy_with_logits(logits, target, weight=weights)

    def predict(self, model, batch, device):
        scores = torch.sigmoid(model(batch["image"].to(device))).float().cpu().numpy()
        return Predictions(scores=scores, truth=batch["mask"].numpy() > 0.5)

    def export(self, model):
        return {"tiny-test/model": model.state_dict()}


def test_short_cpu_run_learns_and_exports(tmp_path: Path):
    config = TrainConfig(steps=120, batch_size=8, lr=3e-3, val_every=120, val_samples=48, val_batch_size=12,
                         checkpoint_every=30, num_workers=0, seed=0)
    recipe = TinyEnhancementRecipe()
    from forensics_core.training.harness import _loader, validate

    untrained = validate(recipe, recipe.build_model(config), _loader(recipe.val_dataset(config), config, 12,
                                                                    None, torch.device("cpu")),
                         torch.device("cpu"), config)
    outcome = train(recipe, config, torch.device("cpu"), tmp_path / "run", tmp_path / "weights",
                    show_progress=False, command="pytest")
    final = outcome.final_validation
    assert final["loss"] < untrained["loss"]
    assert final["auc"] > 0.6, final
    print("tiny model validation AUC", final["auc"], "loss", untrained["loss"], "->", final["loss"])
    entry = outcome.weights["tiny-test/model"]
    manifest = json.loads((tmp_path / "weights" / "manifest.json").read_text())
    assert manifest["models"]["tiny-test/model"]["sha256"] == entry["sha256"]
    assert manifest["models"]["tiny-test/model"]["training"]["steps"] == 120
    assert manifest["models"]["tiny-test/model"]["validation"]["auc"] == pytest.approx(final["auc"])
    state, _ = load_weights("tiny-test/model", folder=tmp_path / "weights")
    assert set(state) == set(recipe.build_model(config).state_dict())
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and len(log) == 2


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_resume_continues_with_the_same_batches(tmp_path: Path, schedule: str):
    base = TrainConfig(steps=4, batch_size=4, lr=1e-3, val_every=100, val_samples=4, val_batch_size=4,
                       checkpoint_every=2, num_workers=0, seed=3, lr_schedule=schedule, lr_final_fraction=0.1)
    recipe = TinyEnhancementRecipe()
    straight = train(recipe, base, torch.device("cpu"), tmp_path / "a", tmp_path / "wa", show_progress=False)
    # interrupted after its first step (a time limit of 0 s), then resumed under the same plan
    interrupted = train(recipe, base, torch.device("cpu"), tmp_path / "b", tmp_path / "wb", show_progress=False,
                        time_limit_s=0.0)
    assert interrupted.steps == 1
    resumed = train(recipe, base, torch.device("cpu"), tmp_path / "b", tmp_path / "wb", show_progress=False)
    assert resumed.steps == straight.steps == 4
    a, _ = load_weights("tiny-test/model", folder=tmp_path / "wa")
    b, _ = load_weights("tiny-test/model", folder=tmp_path / "wb")
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name
    assert np.isfinite(resumed.final_validation["loss"])
    last_update_lr = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["optimiser"]["param_groups"][0]["lr"]
    assert last_update_lr == pytest.approx(1e-3 * (0.1 if schedule == "cosine" else 1.0))
