"""Training recipe of the ``fusion`` detector: logistic regression over member detectors' maps.

Data (:mod:`forensics_core.fusion.training_data`): the member detectors run, with their default
parameters and shipped weights, on a fixed, seeded set of synthetic forgeries of the *training*
photographs; each picture gives up to ``per_class`` manipulated and ``per_class`` authentic pixels
(balanced), described by the features of :mod:`forensics_core.fusion.features`. Member results
go through the shared result store, so the slow part (the members' runs) is done once. Validation
uses the synthetic validation benchmark (:func:`~forensics_core.synth.benchmark.write_synthetic_benchmark`,
held-out validation photographs), sampled the same way; the number of steps is fixed, nothing is
chosen on it.

Before the pixel model is trained, the image-score regression is fitted on the same training
pictures, one row per picture of the members' calibrated evidence
(:mod:`forensics_core.fusion.image_score`; its regularisation chosen by cross-validation on these
pictures), and kept in the model's buffers; it reads the members' shipped calibrations, so a
member calibrated again calls for training fusion again. The exported manifest entry records the
member set, each member's weights SHA-256 and the feature layout
(:func:`~forensics_core.fusion.layout.fusion_layout`), so that the detector refuses the model once
a member's weights change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from forensics_core.detectors import get_detector
from forensics_core.errors import ForensicsError
from forensics_core.fusion.layout import FUSION_KEY, calibration_sha256, fusion_layout
from forensics_core.fusion.model import FusionModel
from forensics_core.fusion.image_score import choose_l2, fit_logistic
from forensics_core.fusion.training_data import (
    TrainingSetSpec,
    image_rows,
    pixel_rows,
    write_training_forgeries,
)
from forensics_core.result_cache import ResultStore, expected_weights_sha256
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe

#: Default members: every trained or hand-crafted detector that analyses any picture (not only JPEG
#: files) in under a minute at 1024x768 on the CPU (``benchmarks/bench_fusion.py`` measures it).
DEFAULT_MEMBERS = ("resampling", "resampling-lstm", "lstm-endec", "srm-cnn", "noise-baseline", "ela",
                   "jpeg-ghost", "jpeg-grid", "splicebuster", "cfa", "noise-level", "copy-move")

_EXTRA = {
    "members": list(DEFAULT_MEMBERS),
    "train_dir": "runs/fusion-train",
    "val_dir": "runs/fusion-val",
    "store": "runs/result-store",
    "per_class": 300,
    "train_set": TrainingSetSpec().to_json(),
    "val_set": {"forged": 40, "authentic": 20, "size": 384},
}


def _progress(what: str):
    def report(index: int, total: int, name: str) -> None:
        print(f"fusion {what}: member maps of {name} ({index + 1}/{total})", file=sys.stderr, flush=True)
    return report


@register_recipe
class FusionRecipe(TrainingRecipe):
    """Logistic regression on balanced pixel rows of member maps (see the module docstring)."""

    id = "fusion"
    level = "pixel"
    profiles = {"cpu": TrainConfig(steps=1500, batch_size=2048, lr=0.02, val_every=500, val_samples=0,
                                   val_batch_size=65536, checkpoint_every=500, num_workers=0, amp=False,
                                   extra=_EXTRA)}

    def __init__(self) -> None:
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._image: dict[str, Any] | None = None

    @staticmethod
    def members(config: TrainConfig) -> list[str]:
        members = list(config.extra["members"])
        for member in members:
            if get_detector(member).weights_problem() is not None:
                raise ForensicsError(f"The fusion member '{member}' is not trained; train it first or leave it out.")
        return members

    def _pixel_rows(self, config: TrainConfig, which: str) -> tuple[np.ndarray, np.ndarray]:
        if which not in self._rows:
            extra = config.extra
            store = ResultStore(extra["store"])
            if which == "train":
                folder = write_training_forgeries(Path(extra["train_dir"]), TrainingSetSpec(**extra["train_set"]))
            else:
                from forensics_core.synth.benchmark import write_synthetic_benchmark

                val = extra["val_set"]
                folder = Path(extra["val_dir"])
                if not (folder / "images").is_dir():
                    write_synthetic_benchmark(folder, val["forged"], val["authentic"], val["size"])
            seed = config.seed if which == "train" else config.seed + 1
            self._rows[which] = pixel_rows(folder, store, self.members(config), int(extra["per_class"]), seed,
                                           _progress(which))
        return self._rows[which]

    def _image_model(self, config: TrainConfig) -> dict[str, Any]:
        """The image-score regression fitted on the training pictures, with the regularisation that
        cross-validation on them chooses (:mod:`forensics_core.fusion.image_score`)."""
        if self._image is None:
            folder = write_training_forgeries(Path(config.extra["train_dir"]),
                                              TrainingSetSpec(**config.extra["train_set"]))
            evidence, labels = image_rows(folder, ResultStore(config.extra["store"]), self.members(config),
                                          _progress("image rows"))
            l2, cv_auc = choose_l2(evidence, labels)
            self._image = {"model": fit_logistic(evidence, labels, l2), "l2": l2, "cv_auc": cv_auc,
                           "pictures": int(labels.size), "forged": int(labels.sum())}
        return self._image

    def build_model(self, config: TrainConfig) -> nn.Module:
        features, _ = self._pixel_rows(config, "train")
        model = FusionModel(features.shape[1])
        model.set_standardisation(torch.from_numpy(features))
        model.set_image_model(self._image_model(config)["model"])
        return model

    def train_dataset(self, config: TrainConfig) -> Dataset:
        features, labels = self._pixel_rows(config, "train")
        return TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))

    def val_dataset(self, config: TrainConfig) -> Dataset:
        features, labels = self._pixel_rows(config, "val")
        return TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        features, labels = (tensor.to(device) for tensor in batch)
        return nn.functional.binary_cross_entropy_with_logits(model(features), labels)

    def predict(self, model: nn.Module, batch: Any, device: torch.device) -> Predictions:
        features, labels = batch
        scores = torch.sigmoid(model(features.to(device))).cpu().numpy()
        return Predictions(scores=scores, truth=labels.numpy() > 0.5)

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        return {FUSION_KEY: {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        members = self.members(config)
        detectors = {member: get_detector(member) for member in members}
        weights = {member: expected_weights_sha256(detector, {}) or {} for member, detector in detectors.items()}
        train_rows = self._pixel_rows(config, "train")[1]
        return {
            "train_set": {**config.extra["train_set"], "photos": "training photographs (photo_split, compact subsets)"},
            "val_set": {**config.extra["val_set"], "photos": "validation photographs (write_synthetic_benchmark)"},
            "pixels": {"per_picture_and_class": config.extra["per_class"], "rows": int(train_rows.size),
                       "manipulated_rows": int(train_rows.sum())},
            "member_parameters": "defaults",
            "image_score": {key: value for key, value in self._image_model(config).items() if key != "model"},
            "layout": fusion_layout(members, weights, {m: d.version for m, d in detectors.items()},
                                    {m: calibration_sha256(m) for m in members}),
        }
