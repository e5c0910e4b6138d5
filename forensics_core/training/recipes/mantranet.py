"""Training recipes for ManTra-Net (Wu, AbdAlmageed & Natarajan, CVPR 2019).

The authors' weights cannot be downloaded here, so the two stages of the paper are reproduced
on our synthetic data (architecture: :mod:`forensics_core.models.mantranet`, after the authors' released
Keras model "Ptrain4", https://github.com/ISICV/ManTraNet):

- ``mantranet-imc``: image manipulation classification (IMC) pre-training of the feature
  extractor. Whole 128x128 patches get one of :func:`imc_classes` (123 classes: identity and
  fine-grained parameters of JPEG compression, Gaussian/median/box blur, morphology, gamma,
  contrast, histogram equalisation, noise, sharpening, resampling, rotation and quantisation;
  the paper uses 385), and the feature extractor plus global average pooling and a linear layer
  learns to name it. Weights ``mantranet/featex-imc`` (the feature extractor only).
- ``mantranet``: end-to-end training of the whole network on
  :class:`~forensics_core.synth.datasets.ForgeryDataset` forgeries (splicing, copy-move, removal,
  local enhancement) at 256x256 with a class-weighted pixel binary cross-entropy. The feature
  extractor starts from ``mantranet/featex-imc`` when the weights folder has it (else from
  scratch; the manifest records which) and then learns at a lower rate than the anomaly
  network, as in the paper's fine-tuning of a pre-trained extractor. Weights ``mantranet/ptrain-ours``.

Constrained weights (Bayar kernels, unit-norm 1x1 kernels, the non-negative std floor) are
re-projected after every optimiser step, as Keras constraints are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from forensics_core.models.mantranet import FEATURE_CHANNELS, FeatureExtractor, ManTraNet
from forensics_core.synth import transforms
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe
from forensics_core.weights import has_weights, load_weights, manifest_entry

IMC_KEY = "mantranet/featex-imc"
LADN_KEY = "mantranet/ptrain-ours"
#: Pixels processed beyond every side of an IMC patch and cut off afterwards (no border effects).
IMC_MARGIN = 16
#: Subsets left out of IMC training: their photographs carry JPEG (cbsd68) or resampling
#: (curban100) traces, which would make the "identity" class look processed.
IMC_EXCLUDED_SUBSETS = ("cbsd68", "curban100")
#: Seed of the fixed validation sets.
VAL_SEED = 4242
#: Every ``VAL_PIXEL_STRIDE``-th row and column of a validation map is scored (a quarter).
VAL_PIXEL_STRIDE = 2
#: Limits of the positive-pixel fraction used to weight the cross-entropy (avoids huge weights).
POSITIVE_FRACTION_LIMITS = (0.02, 0.98)

_MORPHOLOGY = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE,
               "open": cv2.MORPH_OPEN, "close": cv2.MORPH_CLOSE}
_SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE}


# ---- IMC manipulation classes --------------------------------------------------------------

@dataclass(frozen=True)
class Manipulation:
    """One IMC class: an operation of a family with fixed parameters."""

    name: str
    family: str
    operation: str
    value: float = 0.0
    option: str = ""

    def source_side(self, patch: int) -> int:
        """Side of the crop to process so that the centre ``patch`` pixels carry no border effect."""
        outer = patch + 2 * IMC_MARGIN
        if self.operation == "resample":
            return math.ceil(outer / self.value)
        if self.operation == "rotate":
            angle = math.radians(self.value)
            return math.ceil(patch * (abs(math.cos(angle)) + abs(math.sin(angle)))) + 2 * IMC_MARGIN
        return outer

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The processed uint8 RGB image (resampling changes its size by ``value``)."""
        op, value = self.operation, self.value
        if op == "identity":
            return image
        if op == "jpeg":
            return transforms.jpeg_roundtrip(image, int(value), (int(rng.integers(8)), int(rng.integers(8))))
        if op == "gaussian":
            return transforms.gaussian_blur(image, value)
        if op == "median":
            return transforms.median_blur(image, int(value))
        if op == "box":
            return transforms.box_blur(image, int(value))
        if op == "morphology":
            shape, kind = self.option.split("-")
            kernel = cv2.getStructuringElement(_SHAPES[shape], (int(value), int(value)))
            return cv2.morphologyEx(image, _MORPHOLOGY[kind], kernel, borderType=cv2.BORDER_REFLECT_101)
        if op == "gamma":
            return transforms.gamma_contrast(image, value, 1.0)
        if op == "contrast":
            return transforms.gamma_contrast(image, 1.0, value)
        if op == "equalise":
            ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
            if value == 0:
                ycc[..., 0] = cv2.equalizeHist(ycc[..., 0])
            else:
                ycc[..., 0] = cv2.createCLAHE(clipLimit=value, tileGridSize=(4, 4)).apply(ycc[..., 0])
            return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
        if op == "noise":
            return transforms.add_noise(image, value, rng)
        if op == "sharpen":
            return transforms.sharpen(image, value)
        if op == "resample":
            return transforms.rescale(image, value, self.option)
        if op == "rotate":
            return transforms.rotate(image, value, "bilinear")
        if op == "quantise":
            step = 1 << (8 - int(value))
            return (image // step * step + step // 2).astype(np.uint8)
        raise ValueError(f"unknown IMC operation {op!r}")


def imc_classes() -> tuple[Manipulation, ...]:
    """The 123 IMC classes, in a fixed order (the class index is the position)."""
    m = Manipulation
    classes = [m("identity", "identity", "identity")]
    classes += [m(f"jpeg-q{q}", "compression", "jpeg", q) for q in range(50, 100, 3)]
    classes += [m(f"gaussian-s{s}", "blur", "gaussian", s) for s in (0.5, 0.7, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0)]
    classes += [m(f"median-k{k}", "blur", "median", k) for k in (3, 5, 7)]
    classes += [m(f"box-k{k}", "blur", "box", k) for k in (3, 5, 7)]
    classes += [m(f"{kind}-{shape}{k}", "morphology", "morphology", k, f"{shape}-{kind}")
                for kind in _MORPHOLOGY for shape in _SHAPES for k in (3, 5)]
    classes += [m(f"gamma-{g}", "contrast", "gamma", g) for g in (0.5, 0.6, 0.7, 0.8, 0.9, 1.15, 1.3, 1.5, 1.8, 2.2)]
    classes += [m(f"contrast-{c}", "contrast", "contrast", c) for c in (0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.35, 1.5)]
    classes += [m("equalise-global", "contrast", "equalise", 0.0)]
    classes += [m(f"clahe-{c}", "contrast", "equalise", c) for c in (2.0, 4.0)]
    classes += [m(f"noise-s{s}", "noise", "noise", s) for s in (1, 2, 3, 4, 6, 8, 12)]
    classes += [m(f"sharpen-{a}", "enhancement", "sharpen", a) for a in (0.5, 1.0, 1.5, 2.0)]
    classes += [m(f"resample-{f}-{i}", "resampling", "resample", f, i)
                for i in ("nearest", "bilinear", "bicubic")
                for f in (0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.4, 1.6, 2.0)]
    classes += [m(f"rotate-{d}", "resampling", "rotate", d) for d in (3, -3, 8, -8, 15, -15, 30, -30, 45)]
    classes += [m(f"quantise-{b}bit", "quantisation", "quantise", b) for b in (4, 5, 6, 7)]
    return tuple(classes)


class IMCPatchDataset(Dataset):
    """Whole patches with one IMC manipulation each. Item ``i`` is class ``i % len(classes)``
    and depends only on ``(seed, i)``; items are dicts ``image`` (float32 3xPxP in [0, 1]) and
    ``class_index``. Photographs smaller than a class's source crop are skipped for that class."""

    def __init__(self, photos: Sequence[Path], classes: Sequence[Manipulation], length: int, seed: int,
                 patch: int = 128) -> None:
        self.photos, self.classes = tuple(photos), tuple(classes)
        self.length, self.seed, self.patch = length, seed, patch
        self.sides = np.array([min(_photo_size(p)) for p in self.photos])
        needed = max(c.source_side(patch) for c in self.classes)
        if not self.photos or self.sides.max() < needed:
            raise ValueError(f"IMC patches of {patch} px need a photograph of at least {needed} px")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        class_index = index % len(self.classes)
        manipulation = self.classes[class_index]
        rng = np.random.default_rng([self.seed, index])
        side = manipulation.source_side(self.patch)
        candidates = np.flatnonzero(self.sides >= side)
        photo = load_photo(self.photos[int(candidates[rng.integers(len(candidates))])])
        top, left = int(rng.integers(photo.shape[0] - side + 1)), int(rng.integers(photo.shape[1] - side + 1))
        processed = manipulation.apply(np.ascontiguousarray(photo[top:top + side, left:left + side]), rng)
        y0, x0 = (processed.shape[0] - self.patch) // 2, (processed.shape[1] - self.patch) // 2
        crop = processed[y0:y0 + self.patch, x0:x0 + self.patch]
        image = np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
        return {"image": torch.from_numpy(image), "class_index": class_index}


def _photo_size(path: Path) -> tuple[int, int]:
    """Width and height from the file header. PIL, not OpenCV: OpenCV's thread pool used in the
    parent process can deadlock the data-loader processes forked from it."""
    with Image.open(path) as image:
        return image.size


class IMCClassifier(nn.Module):
    """Feature extractor, global average pooling and a linear classifier (IMC pre-training)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.featex = FeatureExtractor()
        self.classifier = nn.Linear(FEATURE_CHANNELS, classes)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, P, P) RGB in [0, 1] -> (B, classes) logits."""
        return self.classifier(self.featex(rgb).mean(dim=(2, 3)))


def _imc_photos() -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Training photographs without JPEG or resampling history, and the held-out validation ones."""
    split = photo_split(include_large=False)
    train = tuple(p for p in split.train if p.parent.name not in IMC_EXCLUDED_SUBSETS)
    return train, split.val


@register_recipe
class ManTraNetIMCRecipe(TrainingRecipe):
    """IMC pre-training of the ManTra-Net feature extractor (paper Sec. 3.2)."""

    id = "mantranet-imc"
    level = "patch"
    profiles = {
        "cpu": TrainConfig(steps=30, batch_size=8, lr=1e-3, val_every=30, val_samples=123, val_batch_size=41,
                           checkpoint_every=10, num_workers=1, amp=False, include_large_photos=False,
                           extra={"patch": 32}),
        "gpu": TrainConfig(steps=2500, batch_size=64, lr=3e-4, val_every=500, val_samples=1230,
                           val_batch_size=123, checkpoint_every=200, num_workers=14, amp=True,
                           include_large_photos=False, extra={"patch": 128}),
    }

    def __init__(self) -> None:
        self.classes = imc_classes()

    def build_model(self, config: TrainConfig) -> nn.Module:
        """A fresh feature extractor with a linear classifier over the IMC classes."""
        return IMCClassifier(len(self.classes))

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Class-balanced patches of the training photographs (JPEG- and resampling-free subsets)."""
        return IMCPatchDataset(_imc_photos()[0], self.classes, config.steps * config.batch_size,
                               config.seed, config.extra.get("patch", 128))

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed class-balanced patches of the held-out photographs."""
        return IMCPatchDataset(_imc_photos()[1], self.classes, config.val_samples, VAL_SEED,
                               config.extra.get("patch", 128))

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Cross-entropy over the IMC classes."""
        logits = model(batch["image"].to(device, non_blocking=True))
        return F.cross_entropy(logits.float(), batch["class_index"].to(device))

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """One-vs-rest: every class probability against the one-hot truth, grouped by the true
        class's family (so the AUC says how well the true class outranks the others)."""
        probabilities = torch.softmax(model(batch["image"].to(device)).detach().float(), dim=1).cpu().numpy()
        truth_index = batch["class_index"].numpy()
        truth = np.zeros_like(probabilities, dtype=bool)
        truth[np.arange(len(truth_index)), truth_index] = True
        families = np.array([self.classes[i].family for i in truth_index])
        groups = np.repeat(families[:, None], probabilities.shape[1], axis=1)
        return Predictions(scores=probabilities, truth=truth, groups=groups)

    def after_step(self, model: nn.Module) -> None:
        """Re-project the Bayar kernels."""
        model.featex.b1c1.project_bayar_()

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """The feature extractor alone."""
        return {IMC_KEY: model.featex.state_dict()}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, classes and patch size."""
        train, val = _imc_photos()
        return {"train_photos": len(train), "val_photos": len(val), "excluded_subsets": list(IMC_EXCLUDED_SUBSETS),
                "patch": config.extra.get("patch", 128), "classes": [c.name for c in self.classes],
                "class_count": len(self.classes)}


# ---- end-to-end training -------------------------------------------------------------------

def class_weighted_bce(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy in which manipulated and pristine pixels of the batch weigh half each
    (the positive fraction clipped to :data:`POSITIVE_FRACTION_LIMITS`)."""
    low, high = POSITIVE_FRACTION_LIMITS
    positive = float(mask.mean().clamp(low, high))
    weight = mask * (0.5 / positive) + (1.0 - mask) * (0.5 / (1.0 - positive))
    return F.binary_cross_entropy_with_logits(logits.float(), mask, weight=weight)


@register_recipe
class ManTraNetRecipe(TrainingRecipe):
    """End-to-end ManTra-Net training on synthetic forgeries (paper Sec. 3.3-4)."""

    id = "mantranet"
    level = "pixel"
    profiles = {
        "cpu": TrainConfig(steps=30, batch_size=2, lr=3e-4, val_every=15, val_samples=8, val_batch_size=8,
                           checkpoint_every=10, num_workers=1, amp=False, include_large_photos=True,
                           extra={"size": 48, "featex_lr_scale": 0.25, "featex_lr_scale_scratch": 1.0}),
        "gpu": TrainConfig(steps=1800, batch_size=32, lr=2e-4, val_every=300, val_samples=256, val_batch_size=32,
                           checkpoint_every=200, num_workers=14, amp=True, include_large_photos=False,
                           extra={"size": 256, "featex_lr_scale": 0.25, "featex_lr_scale_scratch": 1.0}),
    }

    def __init__(self) -> None:
        self.featex_init: dict[str, Any] = {"source": "scratch"}

    def build_model(self, config: TrainConfig) -> nn.Module:
        """ManTra-Net with the IMC-pre-trained feature extractor when the weights folder has it."""
        model = ManTraNet()
        if config.extra.get("init_from_imc", True) and has_weights(IMC_KEY):
            state, sha256 = load_weights(IMC_KEY)
            model.featex.load_state_dict(state)
            entry = manifest_entry(IMC_KEY) or {}
            self.featex_init = {"source": IMC_KEY, "sha256": sha256,
                                "imc_steps": entry.get("training", {}).get("steps")}
        return model

    def _forgeries(self, photos: Sequence[Path], config: TrainConfig, length: int, seed: int) -> ForgeryDataset:
        return ForgeryDataset(photos, object_masks(), size=config.extra.get("size", 256), length=length, seed=seed)

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Forgeries of the training photographs, one per sample the run will draw."""
        split = photo_split(include_large=config.include_large_photos)
        return self._forgeries(split.train, config, config.steps * config.batch_size, config.seed)

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed forgeries of the held-out photographs."""
        split = photo_split(include_large=config.include_large_photos)
        return self._forgeries(split.val, config, config.val_samples, VAL_SEED)

    def parameter_groups(self, model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
        """The feature extractor at ``featex_lr_scale`` times the rate when pre-trained (else
        ``featex_lr_scale_scratch``), the anomaly network at the full rate."""
        pretrained = self.featex_init["source"] != "scratch"
        scale = config.extra.get("featex_lr_scale" if pretrained else "featex_lr_scale_scratch", 1.0)
        return [{"params": list(model.featex.parameters()), "lr": config.lr * scale},
                {"params": list(model.ladn.parameters())}]

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Class-weighted pixel binary cross-entropy."""
        logits = model(batch["image"].to(device, non_blocking=True))
        return class_weighted_bce(logits, batch["mask"].to(device, non_blocking=True))

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """Pixel probabilities and truth on a stride-2 grid, grouped by manipulation kind."""
        step = VAL_PIXEL_STRIDE
        scores = torch.sigmoid(model(batch["image"].to(device)).detach().float())[:, 0, ::step, ::step].cpu().numpy()
        truth = batch["mask"][:, 0, ::step, ::step].numpy() > 0.5
        groups = np.repeat(np.asarray(batch["kind"])[:, None], scores[0].size, axis=1).reshape(scores.shape)
        return Predictions(scores=scores, truth=truth, groups=groups)

    def after_step(self, model: nn.Module) -> None:
        """Re-project the Bayar kernels, the unit-norm 1x1 kernels and the std floor."""
        model.project_constraints_()

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """The whole network (about 15 MB in float32)."""
        return {LADN_KEY: model.state_dict()}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, sample size and how the feature extractor was initialised."""
        split = photo_split(include_large=config.include_large_photos)
        return {"train_photos": len(split.train), "val_photos": len(split.val),
                "size": config.extra.get("size", 256), "featex_init": self.featex_init,
                "loss": "class-weighted binary cross-entropy", "val_pixel_stride": VAL_PIXEL_STRIDE}
