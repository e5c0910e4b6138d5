"""Training recipes of the resampling detectors (Bunk et al. 2017 [Bunk2017]_).

``resampling``: the six binary MLPs, trained together as one ``nn.ModuleDict``. A batch mixes
patches of all six classes (:class:`~forensics_core.synth.datasets.ResamplingPatchDataset`); each
patch's loss is the cross-entropy of its own class's head. Features are computed in ``loss`` on
the training device (Radon operator and DFT as matrix products), from patches generated two
pixels larger than 64 so that the 3x3 Laplacian needs no border mirroring, as inside an image.
Each class's classifier is exported as ``resampling/<class>`` with its own validation figures.

``resampling-lstm``: the Section 3.3 LSTM, on 120x120-pixel windows (the 8x8 grid of 64-pixel
patches at stride 8 around a 64x64 patch) cut from synthetic splices and copy-moves
(:class:`~forensics_core.synth.datasets.ForgeryDataset`, which scale, rotate and shear the
pasted region); a window is positive when at least half of its central 64x64 patch is
manipulated. Exported as ``resampling-lstm/classifier``.

Both models store the standardisation of their inputs (mean and standard deviation of the
features of a few thousand training samples, computed in :meth:`build_model`) as buffers.
Validation uses fixed samples of the held-out photographs (:func:`~forensics_core.synth.data.
photo_split`).

.. [Bunk2017] J. Bunk et al., "Detection and localization of image forgeries using resampling
   features and deep learning", CVPR Workshops 2017. :DOI:`10.1109/CVPRW.2017.235`
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from forensics_core.features.resampling import (
    BUNK_SPEC,
    bunk_features,
    laplacian_residual_batch,
    luminance_batch,
)
from forensics_core.models.resampling_lstm import GRID, ResamplingLSTM
from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES, ResamplingMLP
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset, ResamplingPatchDataset
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe

PATCH = BUNK_SPEC.patch_size
#: Side of an LSTM training window: GRID patches of PATCH pixels at a stride of 8.
WINDOW = (GRID - 1) * 8 + PATCH
#: Side of the synthetic forgery a window is cut from.
WINDOW_SOURCE = 192
#: Seeds of the fixed validation and standardisation samples (distinct from training seeds).
VAL_SEED, STATS_SEED = 900_001, 900_002


def _residual(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Residual of the luminance of (B, 3, S + 2, S + 2) images, without the border: (B, S, S)."""
    with torch.autocast(device_type=device.type, enabled=False):
        luminance = luminance_batch(images.to(device, torch.float32, non_blocking=True))
        return laplacian_residual_batch(luminance)[:, 1:-1, 1:-1].contiguous()


def patch_features(patches: torch.Tensor, device: torch.device) -> torch.Tensor:
    """874 features of (B, 3, 66, 66) RGB patches in [0, 1], on ``device``: (B, 874)."""
    return bunk_features(_residual(patches, device))


def window_features(windows: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Features of the 8x8 grid of patches of (B, 3, 122, 122) windows: (B, 64, 874), row-major."""
    residual = _residual(windows, device)
    patches = residual.unfold(1, PATCH, 8).unfold(2, PATCH, 8)           # (B, 8, 8, 64, 64)
    features = bunk_features(patches.reshape(-1, PATCH, PATCH))
    return features.view(windows.shape[0], GRID * GRID, -1)


def _standardisation(dataset: Dataset, key: str, compute: Callable[[torch.Tensor, torch.device], torch.Tensor],
                     config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the features of every sample of ``dataset`` (on the CPU)."""
    loader = DataLoader(dataset, batch_size=64, num_workers=config.num_workers)
    features = torch.cat([compute(batch[key], torch.device("cpu")).reshape(-1, BUNK_SPEC.n_features)
                          for batch in loader]).double()
    return features.mean(dim=0).float(), features.std(dim=0).float()


def _photos(config: TrainConfig) -> Any:
    return photo_split(include_large=config.include_large_photos)


def _balanced_length(count: int) -> int:
    """``count`` rounded up to whole runs of one positive and one negative of every class."""
    run = 2 * len(RESAMPLING_CLASSES)
    return max(run, -(-count // run) * run)


@register_recipe
class ResamplingRecipe(TrainingRecipe):
    """The six binary resampling classifiers."""

    id = "resampling"
    level = "patch"
    profiles = {
        "cpu": TrainConfig(steps=1500, batch_size=96, lr=1e-3, val_every=500, val_samples=1200,
                           val_batch_size=300, checkpoint_every=500, num_workers=2, amp=False,
                           extra={"stats_samples": 2400}),
        # Bound by patch generation (~3 ms per patch and worker): 2M patches in about 8 minutes.
        "gpu": TrainConfig(steps=4000, batch_size=512, lr=1e-3, val_every=1000, val_samples=12000,
                           val_batch_size=2000, checkpoint_every=1000, num_workers=12, amp=True,
                           include_large_photos=False, extra={"stats_samples": 12000}),
    }

    def build_model(self, config: TrainConfig) -> nn.Module:
        """Six fresh MLPs sharing one standardisation, from ``stats_samples`` training patches."""
        model = nn.ModuleDict({name: ResamplingMLP() for name in RESAMPLING_CLASSES})
        stats = ResamplingPatchDataset(_photos(config).train, size=PATCH + 2,
                                       length=_balanced_length(config.extra.get("stats_samples", 2400)),
                                       seed=STATS_SEED)
        mean, std = _standardisation(stats, "patch", patch_features, config)
        for head in model.values():
            head.set_standardisation(mean, std)
        return model

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Balanced patches of the training photographs, one item per sample the run will draw."""
        return ResamplingPatchDataset(_photos(config).train, size=PATCH + 2,
                                      length=_balanced_length(config.steps * config.batch_size), seed=config.seed)

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed balanced patches of the held-out photographs."""
        return ResamplingPatchDataset(_photos(config).val, size=PATCH + 2,
                                      length=_balanced_length(config.val_samples), seed=VAL_SEED)

    def _scores(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> tuple[list, torch.Tensor]:
        """Per class: (class, selected rows, logits); and the labels on the device."""
        features = patch_features(batch["patch"], device)
        classes = batch["class_index"].to(device)
        outputs = []
        for index, name in enumerate(RESAMPLING_CLASSES):
            rows = torch.nonzero(classes == index).flatten()
            if rows.numel():
                outputs.append((index, rows, model[name](features[rows])))
        return outputs, batch["label"].to(device)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Mean cross-entropy of every patch under its own class's classifier."""
        outputs, labels = self._scores(model, batch, device)
        total = sum(F.cross_entropy(logits.float(), labels[rows], reduction="sum") for _, rows, logits in outputs)
        return total / labels.numel()

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """Probability of 'resampled' from each patch's own classifier, grouped by class name."""
        outputs, labels = self._scores(model, batch, device)
        scores = torch.empty(labels.numel(), device=device)
        for _, rows, logits in outputs:
            scores[rows] = torch.softmax(logits.float(), dim=1)[:, 1]
        names = np.array(RESAMPLING_CLASSES)[batch["class_index"].numpy()]
        return Predictions(scores=scores.cpu().numpy(), truth=labels.cpu().numpy(), groups=names)

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """One weights file per class: ``resampling/<class>``."""
        return {f"resampling/{name}": model[name].state_dict() for name in RESAMPLING_CLASSES}

    def groups_for_key(self, key: str) -> list[str] | None:
        """Each classifier's manifest entry records its own class's validation figures."""
        return [key.split("/", 1)[1]]

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, classes and features used."""
        photos = _photos(config)
        return {"generator": "forensics_core.synth.datasets.ResamplingPatchDataset",
                "classes": list(RESAMPLING_CLASSES), "train_photos": len(photos.train),
                "val_photos": len(photos.val), "patch_size": PATCH,
                "features": f"{BUNK_SPEC.n_angles} Radon angles, {BUNK_SPEC.n_features} values"}


class WindowDataset(Dataset):
    """120x120 windows (plus a 1-pixel margin) of synthetic forgeries, labelled by their centre.

    Item ``index`` is cut from item ``index`` of ``forgeries``: for a forgery, the window's centre
    64x64 patch is centred on a manipulated pixel drawn from ``default_rng([seed, index])``;
    for a pristine image, anywhere. ``label`` is 1 when at least half of that centre patch is
    manipulated.
    """

    def __init__(self, forgeries: ForgeryDataset) -> None:
        self.forgeries = forgeries

    def __len__(self) -> int:
        return len(self.forgeries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.forgeries[index]
        mask = item["mask"][0].numpy() > 0.5
        rng = np.random.default_rng([self.forgeries.seed, index, 1])
        side = WINDOW + 2
        limit = mask.shape[0] - side
        if mask.any():
            ys, xs = np.nonzero(mask)
            pick = int(rng.integers(len(ys)))
            top = int(np.clip(ys[pick] - side // 2, 0, limit))
            left = int(np.clip(xs[pick] - side // 2, 0, limit))
        else:
            top, left = (int(v) for v in rng.integers(limit + 1, size=2))
        margin = 1 + (WINDOW - PATCH) // 2
        centre = mask[top + margin:top + margin + PATCH, left + margin:left + margin + PATCH]
        return {"window": item["image"][:, top:top + side, left:left + side].contiguous(),
                "label": int(centre.mean() >= 0.5)}


@register_recipe
class ResamplingLSTMRecipe(TrainingRecipe):
    """The Section 3.3 LSTM patch classifier."""

    id = "resampling-lstm"
    level = "patch"
    profiles = {
        "cpu": TrainConfig(steps=900, batch_size=24, lr=1e-3, val_every=300, val_samples=384,
                           val_batch_size=48, checkpoint_every=300, num_workers=2, amp=False,
                           extra={"stats_samples": 48}),
        # Bound by forgery synthesis (~10 ms per window and worker): 512k windows in about 8 minutes.
        "gpu": TrainConfig(steps=4000, batch_size=128, lr=1e-3, val_every=1000, val_samples=2048,
                           val_batch_size=256, checkpoint_every=1000, num_workers=12, amp=True,
                           include_large_photos=False, extra={"stats_samples": 256}),
    }
    _KINDS = ("splice", "copy_move")

    def _windows(self, photos: Any, length: int, seed: int) -> WindowDataset:
        return WindowDataset(ForgeryDataset(photos, object_masks(), size=WINDOW_SOURCE, length=length, seed=seed,
                                            pristine_fraction=0.25, kinds=self._KINDS))

    def build_model(self, config: TrainConfig) -> nn.Module:
        """A fresh LSTM standardised on the block features of ``stats_samples`` training windows."""
        model = ResamplingLSTM()
        stats = self._windows(_photos(config).train, config.extra.get("stats_samples", 48), STATS_SEED)
        model.set_standardisation(*_standardisation(stats, "window", window_features, config))
        return model

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Windows of forgeries of the training photographs."""
        return self._windows(_photos(config).train, config.steps * config.batch_size, config.seed)

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed windows of forgeries of the held-out photographs."""
        return self._windows(_photos(config).val, config.val_samples, VAL_SEED)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Cross-entropy of the window labels."""
        logits = model(window_features(batch["window"], device))
        return F.cross_entropy(logits.float(), batch["label"].to(device))

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """Probability that each window's centre patch is manipulated."""
        logits = model(window_features(batch["window"], device))
        return Predictions(scores=torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy(),
                           truth=batch["label"].numpy())

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """The single weights file ``resampling-lstm/classifier``."""
        return {"resampling-lstm/classifier": model.state_dict()}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, manipulations and window geometry used."""
        photos = _photos(config)
        return {"generator": "forensics_core.synth.datasets.ForgeryDataset", "kinds": list(self._KINDS),
                "train_photos": len(photos.train), "val_photos": len(photos.val),
                "window": WINDOW, "source_size": WINDOW_SOURCE, "label": "centre 64x64 patch >= 50% manipulated"}
