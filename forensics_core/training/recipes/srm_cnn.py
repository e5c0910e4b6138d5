"""Training recipes for SRM-CNN (Cozzolino, Poggi and Verdoliva, ACM IH&MMSec 2017).

Two recipes share the model (:class:`~forensics_core.models.srm_cnn.SRMNet`), the initialisation
and the loss:

- ``srm-cnn``: the general "manipulated vs pristine" window classifier used by the detector
  (weights ``srm-cnn/general``). Samples are 128x128 green-channel crops of
  :class:`~forensics_core.synth.datasets.ForgeryDataset` pictures (256x256, half of them pristine):
  a forged picture is cropped where its mask covers most of the window, and the crop is positive
  when at least :data:`MIN_COVERAGE` of it is manipulated.
- ``srm-cnn-tasks``: the fifteen binary tasks of the paper's Table II (:data:`PAPER_TASKS`), one
  independent network per task trained in one run (weights ``srm-cnn/<task>``, each manifest entry
  with its own task's validation figures). Item ``i`` belongs to task ``i % 15``; consecutive
  items of a task alternate pristine / processed versions of the same crop, so every batch whose
  size is a multiple of 30 is balanced per task.

Initialisation, as in the paper's recasting: layers 1-2 are hard-wired to the hand-crafted
descriptor, the standardisation takes the mean and deviation of the hand-crafted features of
training samples, and the classifier starts as the L2-regularised logistic regression on them
(i.e. the CNN starts as "SRM + linear classifier"). Training then fine-tunes every layer with the
soft-max quantiser (learnable alpha and biases); validation runs the hard-max network.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from forensics_core.features.srm import srm_features
from forensics_core.models.srm_cnn import SRMNet, set_hand_crafted_weights
from forensics_core.synth import transforms
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe

#: Side of the training and validation patches (the paper's 128x128).
PATCH = 128
#: Pixels cut off every side after processing a larger crop, so that no border effect remains.
MARGIN = 16
#: Smallest manipulated fraction of a crop for the general model to call it manipulated.
MIN_COVERAGE = 0.05
#: Floor of the feature standardisation (histogram frequencies that hardly vary in training).
SCALE_FLOOR = 1e-3
#: Subsets left out of the task training photos: they carry JPEG (cbsd68) or resampling
#: (curban100) traces, so their "pristine" patches would look processed for several tasks.
TASK_EXCLUDED_SUBSETS = ("cbsd68", "curban100")
#: Seeds of the fixed validation sets and of the initialisation samples.
VAL_SEED, INIT_SEED_OFFSET = 12345, 1000


@dataclass(frozen=True)
class ProcessingTask:
    """One binary task of the paper: pristine vs ``operation`` with parameter ``value``."""

    name: str
    operation: str
    value: float

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The processed uint8 RGB ``image`` (resizing changes its size by ``value``)."""
        if self.operation == "median":
            return transforms.median_blur(image, int(self.value))
        if self.operation == "blur":
            return transforms.gaussian_blur(image, self.value)
        if self.operation == "awgn":
            return transforms.add_noise(image, self.value, rng)
        if self.operation == "resize":
            return transforms.rescale(image, self.value, "bilinear")
        offset = (int(rng.integers(8)), int(rng.integers(8)))
        return transforms.jpeg_roundtrip(image, int(self.value), offset)


#: The fifteen tasks of the paper's Table II, in its order.
PAPER_TASKS: tuple[ProcessingTask, ...] = (
    ProcessingTask("median7", "median", 7), ProcessingTask("median5", "median", 5),
    ProcessingTask("median3", "median", 3),
    ProcessingTask("blur1.1", "blur", 1.1), ProcessingTask("blur0.75", "blur", 0.75),
    ProcessingTask("blur0.5", "blur", 0.5),
    ProcessingTask("awgn2.0", "awgn", 2.0), ProcessingTask("awgn0.5", "awgn", 0.5),
    ProcessingTask("awgn0.25", "awgn", 0.25),
    ProcessingTask("resize1.5", "resize", 1.5), ProcessingTask("resize1.125", "resize", 1.125),
    ProcessingTask("resize1.01", "resize", 1.01),
    ProcessingTask("jpeg70", "jpeg", 70), ProcessingTask("jpeg80", "jpeg", 80), ProcessingTask("jpeg90", "jpeg", 90),
)


def green(image: np.ndarray) -> np.ndarray:
    """The green channel of a uint8 RGB image as float32 in [0, 1]."""
    return image[..., 1].astype(np.float32) / np.float32(255.0)


def task_patch(photo: np.ndarray, task: ProcessingTask, processed: bool, rng: np.random.Generator,
               size: int = PATCH) -> np.ndarray:
    """A ``size x size`` green patch of ``photo``, processed by ``task`` or not.

    A crop of ``size + 2 * MARGIN`` pixels (``/ value`` before a resize, so that the result is as
    large) is taken at a random place, processed, and its centre kept. The draws for the crop come
    first, so the pristine and processed versions made from equal generators show the same content.
    """
    outer = size + 2 * MARGIN
    top, left = (float(v) for v in rng.random(2))
    side = math.ceil(outer / task.value) if processed and task.operation == "resize" else outer
    height, width = photo.shape[:2]
    y, x = int(top * (height - side + 1)), int(left * (width - side + 1))
    crop = np.ascontiguousarray(photo[y:y + side, x:x + side])
    if processed:
        crop = task.apply(crop, rng)
    y0, x0 = (crop.shape[0] - size) // 2, (crop.shape[1] - size) // 2
    return green(crop[y0:y0 + size, x0:x0 + size])


class TaskPatchDataset(Dataset):
    """Pristine and processed patches for several binary tasks (see the module notes).

    Items are dicts: ``patch`` (float32 1xSxS), ``label`` (float32, 1 = processed), ``task``
    (index into ``tasks``). Item ``i`` depends only on ``(seed, i)``.
    """

    def __init__(self, photos: Sequence[Path], tasks: Sequence[ProcessingTask], length: int, seed: int,
                 size: int = PATCH) -> None:
        if not photos:
            raise ValueError("TaskPatchDataset needs at least one photograph")
        self.photos, self.tasks = tuple(photos), tuple(tasks)
        self.length, self.seed, self.size = length, seed, size

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        task_index, rest = index % len(self.tasks), index // len(self.tasks)
        processed = rest % 2 == 1
        rng = np.random.default_rng([self.seed, task_index, rest // 2])
        photo = load_photo(self.photos[int(rng.integers(len(self.photos)))])
        patch = task_patch(photo, self.tasks[task_index], processed, rng, self.size)
        return {"patch": torch.from_numpy(patch[None]), "label": torch.tensor(float(processed)),
                "task": task_index}


class ForgeryPatchDataset(Dataset):
    """128x128 green crops of :class:`ForgeryDataset` pictures, labelled by mask coverage.

    A forged picture is cropped at one of the positions (on a grid of step 8) whose coverage is
    at least 90 % of the best; a pristine one at a random position. ``label`` is 1 when the crop's
    manipulated fraction is at least :data:`MIN_COVERAGE`.
    """

    def __init__(self, forgeries: ForgeryDataset, size: int = PATCH) -> None:
        if forgeries.size < size:
            raise ValueError(f"forgery pictures of {forgeries.size} px cannot give {size} px crops")
        self.forgeries, self.size = forgeries, size

    def __len__(self) -> int:
        return len(self.forgeries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, mask, _ = self.forgeries.sample(index)
        rng = np.random.default_rng([self.forgeries.seed, index, 1])
        positions = np.arange(0, mask.shape[0] - self.size + 1, 8)
        integral = np.pad(mask.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        top, bottom = positions[:, None], positions[:, None] + self.size
        left, right = positions[None, :], positions[None, :] + self.size
        coverage = (integral[bottom, right] - integral[top, right] - integral[bottom, left]
                    + integral[top, left]) / self.size ** 2
        candidates = np.argwhere(coverage >= 0.9 * coverage.max())
        i, j = candidates[int(rng.integers(len(candidates)))]
        y, x = positions[i], positions[j]
        patch = green(image[y:y + self.size, x:x + self.size])
        return {"patch": torch.from_numpy(patch[None]),
                "label": torch.tensor(float(coverage[i, j] >= MIN_COVERAGE)), "task": 0}


class SRMNetBank(nn.Module):
    """Independent :class:`SRMNet` models, one per task; ``forward(patches, tasks)`` routes each
    patch to its task's network and returns the ``(N,)`` logits."""

    def __init__(self, count: int, alpha: float) -> None:
        super().__init__()
        self.nets = nn.ModuleList(set_hand_crafted_weights(SRMNet(alpha=alpha)) for _ in range(count))

    def forward(self, patches: torch.Tensor, tasks: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(patches.shape[0], dtype=patches.dtype, device=patches.device)
        for task in tasks.unique().tolist():
            selected = tasks == task
            logits = logits.index_put((selected,), self.nets[task](patches[selected]))
        return logits


def fit_classifier(net: SRMNet, features: np.ndarray, labels: np.ndarray, l2: float) -> None:
    """Set ``net``'s standardisation from ``features`` (Nx162) and fit its classifier to ``labels``
    by L2-regularised logistic regression (L-BFGS, float64)."""
    mean = features.mean(axis=0)
    scale = np.sqrt(features.var(axis=0) + SCALE_FLOOR ** 2)
    z = torch.from_numpy((features - mean) / scale)
    y = torch.from_numpy(labels.astype(np.float64))
    weight = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(z @ weight + bias, y) + 0.5 * l2 * weight @ weight
        loss.backward()
        return loss

    optimiser.step(closure)
    dtype = net.classifier.weight.dtype
    with torch.no_grad():
        net.feature_mean.copy_(torch.from_numpy(mean))
        net.feature_scale.copy_(torch.from_numpy(scale))
        net.classifier.weight.copy_(weight.detach().to(dtype)[None])
        net.classifier.bias.copy_(bias.detach().to(dtype))


def hand_crafted_features(dataset: Dataset, num_workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-crafted descriptors, labels and task indices of every item of ``dataset``."""
    loader = DataLoader(dataset, batch_size=64, num_workers=num_workers)
    features, labels, tasks = [], [], []
    for batch in loader:
        features.append(srm_features(batch["patch"][:, 0].numpy()))
        labels.append(batch["label"].numpy())
        tasks.append(batch["task"].numpy())
    return np.concatenate(features), np.concatenate(labels), np.concatenate(tasks)


class _SRMRecipe(TrainingRecipe):
    """What both SRM-CNN recipes share: model bank, initialisation, loss, predictions."""

    level = "patch"

    @abstractmethod
    def task_names(self) -> tuple[str, ...]:
        """Names of the bank's networks, in order (export keys are ``srm-cnn/<name>``)."""

    @abstractmethod
    def make_dataset(self, photos: Sequence[Path], length: int, seed: int) -> Dataset:
        """Samples from ``photos``: dicts with ``patch``, ``label`` and ``task``."""

    def train_photos(self, config: TrainConfig) -> tuple[Path, ...]:
        """Training photographs (never the held-out validation ones)."""
        return photo_split(include_large=config.include_large_photos).train

    def build_model(self, config: TrainConfig) -> nn.Module:
        """Hand-wired bank whose classifiers are fitted on hand-crafted features of training data."""
        names = self.task_names()
        bank = SRMNetBank(len(names), alpha=float(config.extra["alpha"]))
        samples = int(config.extra["init_samples"]) * len(names)
        dataset = self.make_dataset(self.train_photos(config), samples, config.seed + INIT_SEED_OFFSET)
        features, labels, tasks = hand_crafted_features(dataset, config.num_workers)
        for index, net in enumerate(bank.nets):
            keep = tasks == index
            fit_classifier(net, features[keep], labels[keep], float(config.extra["l2"]))
        return bank

    def train_dataset(self, config: TrainConfig) -> Dataset:
        return self.make_dataset(self.train_photos(config), 1_000_000, config.seed)

    def val_dataset(self, config: TrainConfig) -> Dataset:
        return self.make_dataset(photo_split(include_large=False).val, config.val_samples, VAL_SEED)

    def parameter_groups(self, model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
        """The classifiers at ``lr``; the descriptor layers at ``lr * extra["feature_lr_scale"]``."""
        classifier = [p for n, p in model.named_parameters() if ".classifier." in n]
        features = [p for n, p in model.named_parameters() if ".classifier." not in n]
        return [{"params": classifier},
                {"params": features, "lr": config.lr * float(config.extra["feature_lr_scale"])}]

    def _logits(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        return model(batch["patch"].to(device), batch["task"].to(device))

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        logits = self._logits(model, batch, device)
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), batch["label"].to(device))

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        scores = torch.sigmoid(self._logits(model, batch, device).float()).cpu().numpy()
        names = np.asarray(self.task_names())[batch["task"].numpy()] if len(self.task_names()) > 1 else None
        return Predictions(scores=scores, truth=batch["label"].numpy() > 0.5, groups=names)

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        return {f"srm-cnn/{name}": net.state_dict() for name, net in zip(self.task_names(), model.nets)}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        photos = self.train_photos(config)
        return {"train_photos": len(photos), "train_subsets": sorted({p.parent.name for p in photos}),
                "val_photos": len(photo_split(include_large=False).val), "val_seed": VAL_SEED,
                "patch": PATCH, "channel": "green", "init_samples_per_model": int(config.extra["init_samples"])}


_COMMON_EXTRA = {"alpha": 40.0, "l2": 1e-2, "feature_lr_scale": 0.1}


@register_recipe
class SRMCNNRecipe(_SRMRecipe):
    """``srm-cnn``: the general manipulated-vs-pristine window classifier of the detector."""

    id = "srm-cnn"
    profiles = {
        "cpu": TrainConfig(steps=120, batch_size=16, lr=1e-3, val_every=60, val_samples=384, val_batch_size=64,
                           checkpoint_every=60, num_workers=1, amp=False,
                           extra={**_COMMON_EXTRA, "init_samples": 3000}),
        "gpu": TrainConfig(steps=4000, batch_size=128, lr=1e-3, val_every=500, val_samples=2048,
                           val_batch_size=256, checkpoint_every=500, num_workers=12, amp=False,
                           include_large_photos=False, extra={**_COMMON_EXTRA, "init_samples": 20000}),
    }

    def task_names(self) -> tuple[str, ...]:
        return ("general",)

    def make_dataset(self, photos: Sequence[Path], length: int, seed: int) -> Dataset:
        return ForgeryPatchDataset(ForgeryDataset(photos, object_masks(), size=2 * PATCH, length=length,
                                                  seed=seed, pristine_fraction=0.5))

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        return {**super().describe_data(config), "source": "ForgeryDataset 256 px, all kinds, 50 % pristine",
                "min_coverage": MIN_COVERAGE}


@register_recipe
class SRMCNNTasksRecipe(_SRMRecipe):
    """``srm-cnn-tasks``: the paper's fifteen binary tasks, one network each, in one run."""

    id = "srm-cnn-tasks"
    profiles = {
        "cpu": TrainConfig(steps=40, batch_size=60, lr=3e-4, val_every=40, val_samples=960, val_batch_size=120,
                           checkpoint_every=20, num_workers=1, amp=False,
                           extra={**_COMMON_EXTRA, "init_samples": 600}),
        "gpu": TrainConfig(steps=3000, batch_size=480, lr=1e-3, val_every=500, val_samples=6000,
                           val_batch_size=600, checkpoint_every=500, num_workers=12, amp=False,
                           include_large_photos=False, extra={**_COMMON_EXTRA, "init_samples": 4000}),
    }

    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in PAPER_TASKS)

    def train_photos(self, config: TrainConfig) -> tuple[Path, ...]:
        return tuple(p for p in super().train_photos(config) if p.parent.name not in TASK_EXCLUDED_SUBSETS)

    def make_dataset(self, photos: Sequence[Path], length: int, seed: int) -> Dataset:
        return TaskPatchDataset(photos, PAPER_TASKS, length, seed)

    def groups_for_key(self, key: str) -> list[str] | None:
        return [key.split("/", 1)[1]]

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        return {**super().describe_data(config), "tasks": [asdict(t) for t in PAPER_TASKS],
                "excluded_subsets": list(TASK_EXCLUDED_SUBSETS), "resize_interpolation": "bilinear",
                "jpeg_grid_offset": "random 0-7", "margin": MARGIN}
