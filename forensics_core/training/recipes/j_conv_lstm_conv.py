"""Training recipe for J-Conv-LSTM-Conv (Bappy et al., ICCV 2017).

Training samples are 64x64 patches cut from 256x256 pictures (:class:`ForgeryPatches`): from
each picture, ``crops`` patches, half of them centred (with jitter) on a random pixel of the
region's boundary, so that patches holding both classes, whose transition the method is built to
learn, are frequent, the other half anywhere. A patch is labelled manipulated when more than
12.5 % of its pixels are (:data:`PATCH_LABEL_FRACTION`, the paper's rule). The loss is the paper's
joint loss of the class-weighted pixel cross-entropy and the class-weighted patch-label
cross-entropy (:func:`~forensics_core.training.recipes.lstm_endec.class_weighted_cross_entropy`),
the latter weighted by :data:`PATCH_LOSS_WEIGHT` (ours, see there).

The pictures come from a curriculum (``extra["curriculum"]``, :func:`curriculum_stages`; ours,
the paper trains on one data set): a list of stages ``{"from_step": k, "source": ...}``, each
used from its step on. ``"planted"`` is the easy task
(:class:`~forensics_core.synth.datasets.PlantedResampling`: large upscaled regions with sharp
straight boundaries); ``"forgeries"`` the realistic synthetic forgeries
(:class:`~forensics_core.synth.datasets.ForgeryDataset`, optionally restricted to ``"kinds"``).
Since the harness draws training item ``i`` at step ``i // batch_size``, the stage of an item
depends on its index only, and a resumed run continues in the stage it stopped in. With
``extra["patch_set"]`` (a folder made by ``scripts/jconv_patch_set.py``) the patches come
instead from one fixed, pre-extracted set
(:class:`PatchSet`, each epoch in a fresh order, :class:`Shuffled`); a stage's ``source`` then
picks the planted or the realistic patches, or ``"all"`` of them. Making patches costs about
0.03 s per 8 patches against about 0.4 s per 32 patches for a training step of the network
(``benchmarks/jconv_throughput.py``), so the set mostly frees the second core and fixes the data.
The shipped weights come from ``configs/j-conv-lstm-conv-cpu-cosine.json``: 6000 steps of 32
patches from a 137,600-patch set (planted patches to step 300, realistic forgeries after), the
learning rate annealed along a cosine from 1e-3 to 1e-5 (with a constant 1e-3 the validation AUC
rose to 0.82 and fell back to 0.70 by step 4000; issue 24).

Validation scores what the detector does: the sliding-window heatmap
(:func:`~forensics_core.models.j_conv_lstm_conv.sliding_window_heatmap`, window stride
``extra["val_stride"]``, Gaussian sigma ``extra["val_sigma"]``) of whole 256x256 realistic
forgeries of the held-out photographs, whatever the curriculum; the validation loss is the joint
loss on their 16 non-overlapping 64x64 tiles. Weights ``j-conv-lstm-conv/model``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.ndimage import binary_erosion
from torch import nn
from torch.utils.data import Dataset

from forensics_core.atomic import write_bytes_atomic
from forensics_core.errors import ForensicsError
from forensics_core.models.j_conv_lstm_conv import (
    PATCH_SIZE,
    JConvLSTMConv,
    sliding_window_heatmap,
)
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import (
    FORGERY_KINDS,
    ForgeryDataset,
    PlantedResampling,
)
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipe import Predictions, TrainingRecipe, register_recipe
from forensics_core.training.recipes.lstm_endec import (
    class_weighted_cross_entropy,
    kind_groups,
)

WEIGHTS_KEY = "j-conv-lstm-conv/model"
#: A patch is manipulated when more than this fraction of its pixels is (ICCV 2017, Sec. 4).
PATCH_LABEL_FRACTION = 0.125
#: Side of the forgeries patches are cut from.
SOURCE_SIZE = 256
#: Seed of the fixed validation forgeries (held-out photographs only).
VAL_SEED = 7017
#: Weight of the patch-label cross-entropy in the joint loss (ours; the paper adds the two).
#: Averaged over 64x64 pixels, the pixel loss sends the shared LSTM far smaller gradients than
#: the patch loss does; Adam, normalising each weight's step by its gradients' running size, then
#: follows the patch loss and the pixel loss stays at ln 2 (our reading of these measurements, on
#: one fixed batch of boundary patches, issue 24): with the plain sum the pixel loss was still
#: 0.692 after 50 steps while the patch loss was 0.0005; with the pixel loss alone it fell to
#: 0.57 in 30 steps; with this weight it fell to 0.64 after 50 steps and 0.056 after 300
#: (``benchmarks/jconv_sanity.py overfit``).
PATCH_LOSS_WEIGHT = 0.1
#: The curriculum when a config names none: realistic forgeries from the first step.
DEFAULT_CURRICULUM = ({"from_step": 0, "source": "forgeries"},)


def patch_labels(masks: torch.Tensor) -> torch.Tensor:
    """1 for (N, 1, 64, 64) masks more than :data:`PATCH_LABEL_FRACTION` manipulated, else 0."""
    return (masks.flatten(1).mean(dim=1) > PATCH_LABEL_FRACTION).long()


def loss_terms(label_logits: torch.Tensor, pixel_logits: torch.Tensor,
               masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixel loss, patch loss) of a batch: the class-weighted cross-entropies of the pixel logits
    against the (N, 1, 64, 64) ``masks`` and of the patch logits against :func:`patch_labels`.
    The training loss is ``pixel + extra["patch_loss_weight"] x patch``."""
    return (class_weighted_cross_entropy(pixel_logits, masks[:, 0]),
            class_weighted_cross_entropy(label_logits, patch_labels(masks)))


class ForgeryPatches(Dataset):
    """``crops`` 64x64 patches of each :class:`ForgeryDataset` item, deterministic per index.

    Item ``i`` is ``{"image": crops x 3 x 64 x 64, "mask": crops x 1 x 64 x 64, "kind": str}``.
    Half of the crops of a forged picture are centred on a boundary pixel of the manipulated
    region (a manipulated pixel with an authentic 4-neighbour; +-16 px jitter, clipped to the
    picture), the rest uniformly placed; all from ``default_rng([seed, i, 1])``.
    """

    def __init__(self, forgeries: ForgeryDataset, crops: int, seed: int) -> None:
        self.forgeries = forgeries
        self.crops = crops
        self.seed = seed

    def __len__(self) -> int:
        return len(self.forgeries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.forgeries[index]
        rng = np.random.default_rng([self.seed, index, 1])
        mask = item["mask"][0].numpy() > 0.5
        limit = mask.shape[0] - PATCH_SIZE
        boundary = np.argwhere(mask & ~binary_erosion(mask, border_value=1))
        corners = []
        for crop in range(self.crops):
            if crop % 2 == 0 and len(boundary):
                y, x = boundary[int(rng.integers(len(boundary)))] + rng.integers(-16, 17, size=2)
                top, left = (int(np.clip(v - PATCH_SIZE // 2, 0, limit)) for v in (y, x))
            else:
                top, left = (int(v) for v in rng.integers(0, limit + 1, size=2))
            corners.append((top, left))
        return {
            "image": torch.stack([item["image"][:, t:t + PATCH_SIZE, l:l + PATCH_SIZE] for t, l in corners]),
            "mask": torch.stack([item["mask"][:, t:t + PATCH_SIZE, l:l + PATCH_SIZE] for t, l in corners]),
            "kind": item["kind"],
        }


def curriculum_stages(config: TrainConfig, allow_all: bool = False) -> list[dict[str, Any]]:
    """The checked stages of ``extra["curriculum"]``, sorted by their first step (the first at 0);
    ``allow_all`` admits the source ``"all"`` (every patch of a patch set)."""
    stages = sorted((dict(stage) for stage in config.extra.get("curriculum", DEFAULT_CURRICULUM)),
                    key=lambda stage: int(stage.get("from_step", -1)))
    if not stages or int(stages[0].get("from_step", -1)) != 0:
        raise ForensicsError("The j-conv-lstm-conv curriculum needs a first stage with from_step 0.")
    for stage in stages:
        if stage.get("source") not in ("planted", "forgeries") + (("all",) if allow_all else ()):
            raise ForensicsError(f"Unknown curriculum source {stage.get('source')!r}: use 'planted' or 'forgeries'.")
        unknown = set(stage.get("kinds", ())) - set(FORGERY_KINDS)
        if unknown:
            raise ForensicsError(f"Unknown forgery kinds {sorted(unknown)}; known: {', '.join(FORGERY_KINDS)}.")
    return stages


class Curriculum(Dataset):
    """Item ``i`` from the stage whose ``from_step`` is the last one not after step ``i // batch_size``.

    ``stages`` are ``(from_step, dataset)`` pairs sorted by step; every dataset is as long as the
    curriculum, so a stage yields the same item ``i`` whenever it is asked for it.
    """

    def __init__(self, stages: list[tuple[int, Dataset]], batch_size: int, length: int) -> None:
        self.stages = stages
        self.batch_size = batch_size
        self.length = length

    def __len__(self) -> int:
        return self.length

    def stage_of(self, index: int) -> int:
        """Position in ``stages`` of the stage that makes item ``index``."""
        step = index // self.batch_size
        return max(k for k, (first, _) in enumerate(self.stages) if first <= step)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.stages[self.stage_of(index)][1][index]


#: Codes of the pre-extracted patch sets' ``sources.npy`` (``scripts/jconv_patch_set.py``).
PATCH_SET_SOURCES = {"forgeries": 0, "planted": 1}


def write_patch_set(folder: Path, images: np.ndarray, masks: np.ndarray, sources: np.ndarray,
                    made: dict[str, Any]) -> None:
    """Write a patch set that :class:`PatchSet` reads, each file atomically.

    ``images`` N x 3 x 64 x 64 uint8, ``masks`` N x 64 x 64 bool, ``sources`` N int8 codes of
    :data:`PATCH_SET_SOURCES`; ``made`` (how the set was made) goes to ``made.json`` with the
    patch count per source, and the training run copies it into the manifest.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("images", images), ("masks", masks), ("sources", sources.astype(np.int8))):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        write_bytes_atomic(folder / f"{name}.npy", buffer.getvalue())
    counts = {name: int((sources == code).sum()) for name, code in PATCH_SET_SOURCES.items()}
    write_bytes_atomic(folder / "made.json", json.dumps({**made, "patches": counts}, indent=1).encode())


class PatchSet(Dataset):
    """A fixed, pre-extracted set of 64x64 patches (``scripts/jconv_patch_set.py``).

    ``folder`` holds ``images.npy`` (N x 3 x 64 x 64 uint8), ``masks.npy`` (N x 64 x 64 bool) and
    ``sources.npy`` (N int8, :data:`PATCH_SET_SOURCES`), read memory-mapped with
    ``allow_pickle=False``; ``sources`` keeps the patches of those codes only. Item ``i`` is
    ``{"image": 3 x 64 x 64, "mask": 1 x 64 x 64, "kind": source name}``. Sent to a loader worker,
    it travels as its folder and selection and maps the files again there (a memory map would
    otherwise be pickled as a full copy: 2.2 GB for the shipped set).
    """

    def __init__(self, folder: Path, sources: tuple[int, ...] = tuple(PATCH_SET_SOURCES.values())) -> None:
        self.folder = Path(folder)
        self.selected = tuple(sources)
        self._open()

    def __getstate__(self) -> dict[str, Any]:
        return {"folder": self.folder, "selected": self.selected}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.folder, self.selected = state["folder"], state["selected"]
        self._open()

    def _open(self) -> None:
        folder, sources = self.folder, self.selected
        try:
            self.images = np.load(folder / "images.npy", mmap_mode="r", allow_pickle=False)
            self.masks = np.load(folder / "masks.npy", mmap_mode="r", allow_pickle=False)
            all_sources = np.load(folder / "sources.npy", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ForensicsError(f"No readable J-Conv-LSTM-Conv patch set in {folder}: {error}. "
                                 "Make one with scripts/jconv_patch_set.py.") from error
        self.index = np.flatnonzero(np.isin(all_sources, sources))
        self.sources = all_sources[self.index]
        if not len(self.index):
            raise ForensicsError(f"The patch set in {folder} holds no patches of sources {sources}.")
        self._names = {code: name for name, code in PATCH_SET_SOURCES.items()}

    def __len__(self) -> int:
        return len(self.index)

    def gather(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images (N x 3 x 64 x 64 in [0, 1]) and masks (N x 1 x 64 x 64) at ``positions``."""
        rows = self.index[np.asarray(positions)]
        images = torch.from_numpy(self.images[rows].astype(np.float32) / 255.0)
        masks = torch.from_numpy(self.masks[rows].astype(np.float32))[:, None]
        return images, masks

    def __getitem__(self, position: int) -> dict[str, Any]:
        images, masks = self.gather(np.array([position]))
        return {"image": images[0], "mask": masks[0], "kind": self._names[int(self.sources[position])]}


class Shuffled(Dataset):
    """``length`` items drawn from ``patches`` epoch by epoch, each epoch in a fresh random order.

    Item ``i`` is patch ``permutation(epoch)[i mod N]`` with ``epoch = i // N`` and the permutation
    drawn from ``default_rng([seed, epoch])``: fixed by ``i``, so a resumed run sees the same batches.
    """

    def __init__(self, patches: Dataset, length: int, seed: int) -> None:
        self.patches = patches
        self.length = length
        self.seed = seed
        self._epoch: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        count = len(self.patches)
        epoch = index // count
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (epoch, np.random.default_rng([self.seed, epoch]).permutation(count))
        return self.patches[int(self._epoch[1][index % count])]


def batch_patches(batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, 64, 64) patches and (N, 1, 64, 64) masks of a batch of patch stacks
    (B x crops x C x 64 x 64) or of whole pictures (B x C x S x S, cut into 64x64 tiles)."""
    image, mask = batch["image"], batch["mask"]
    if image.ndim == 5:
        return image.flatten(0, 1), mask.flatten(0, 1)

    def tiles(x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // PATCH_SIZE, PATCH_SIZE, w // PATCH_SIZE, PATCH_SIZE)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(-1, c, PATCH_SIZE, PATCH_SIZE)

    return tiles(image), tiles(mask)


@register_recipe
class JConvLSTMConvRecipe(TrainingRecipe):
    """Joint patch-label and pixel training of J-Conv-LSTM-Conv on synthetic forgeries."""

    id = "j-conv-lstm-conv"
    level = "pixel"
    profiles = {
        "cpu": TrainConfig(steps=200, batch_size=4, lr=1e-3, val_every=100, val_samples=16, val_batch_size=8,
                           checkpoint_every=25, num_workers=1, amp=False, include_large_photos=False,
                           extra={"crops": 8, "val_stride": 64, "val_sigma": 3.0,
                                  "curriculum": [{"from_step": 0, "source": "planted"},
                                                 {"from_step": 100, "source": "forgeries"}]}),
        "gpu": TrainConfig(steps=3000, batch_size=32, lr=1e-3, val_every=500, val_samples=128,
                           val_batch_size=16, checkpoint_every=200, num_workers=12, amp=True,
                           include_large_photos=False,
                           extra={"crops": 8, "val_stride": 32, "val_sigma": 3.0}),
    }

    def __init__(self) -> None:
        #: (stride, sigma) of the validation windows; set from the config by :meth:`val_dataset`.
        self._val_window: tuple[int, float] = (32, 3.0)
        #: Weight of the patch-label loss; set from the config by :meth:`train_dataset`.
        self._patch_loss_weight = PATCH_LOSS_WEIGHT

    def build_model(self, config: TrainConfig) -> nn.Module:
        """A freshly initialised J-Conv-LSTM-Conv (``extra["residual_init"]``, default true)."""
        return JConvLSTMConv(residual_init=bool(config.extra.get("residual_init", True)))

    def train_dataset(self, config: TrainConfig) -> Dataset:
        """Patches of a pre-extracted patch set (``extra["patch_set"]``), or patch stacks cut from
        the curriculum's pictures of the training photographs."""
        self._patch_loss_weight = float(config.extra.get("patch_loss_weight", PATCH_LOSS_WEIGHT))
        length = config.steps * config.batch_size
        if config.extra.get("patch_set"):
            return self.patch_set_curriculum(config, Path(config.extra["patch_set"]), length)
        split = photo_split(include_large=config.include_large_photos)
        crops = config.extra.get("crops", 8)
        stages: list[tuple[int, Dataset]] = []
        for stage in curriculum_stages(config):
            if stage["source"] == "planted":
                pictures: Dataset = PlantedResampling(split.train, SOURCE_SIZE, length, config.seed)
            else:
                pictures = ForgeryDataset(split.train, object_masks(), size=SOURCE_SIZE, length=length,
                                          seed=config.seed, kinds=tuple(stage.get("kinds", FORGERY_KINDS)))
            stages.append((int(stage["from_step"]), ForgeryPatches(pictures, crops, config.seed)))
        return Curriculum(stages, config.batch_size, length)

    def patch_set_curriculum(self, config: TrainConfig, folder: Path, length: int) -> Dataset:
        """The curriculum's stages drawn from a patch set: a stage's ``source`` selects the patches
        of that source (``kinds`` cannot be selected there); ``"all"`` takes every patch."""
        stages: list[tuple[int, Dataset]] = []
        for stage in curriculum_stages(config, allow_all=True):
            codes = (tuple(PATCH_SET_SOURCES.values()) if stage["source"] == "all"
                     else (PATCH_SET_SOURCES[stage["source"]],))
            if stage.get("kinds"):
                raise ForensicsError("A patch-set curriculum stage cannot select forgery kinds.")
            stages.append((int(stage["from_step"]), Shuffled(PatchSet(folder, codes), length, config.seed)))
        return Curriculum(stages, config.batch_size, length)

    def patch_set_made(self, config: TrainConfig) -> dict[str, Any] | None:
        """How the configured patch set was made (its ``made.json``), None without one."""
        if not config.extra.get("patch_set"):
            return None
        try:
            return json.loads((Path(config.extra["patch_set"]) / "made.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def val_dataset(self, config: TrainConfig) -> Dataset:
        """Fixed whole forgeries of the held-out photographs (also fixes the validation windows)."""
        self._val_window = (int(config.extra.get("val_stride", 32)), float(config.extra.get("val_sigma", 3.0)))
        split = photo_split(include_large=config.include_large_photos)
        return ForgeryDataset(split.val, object_masks(), size=SOURCE_SIZE, length=config.val_samples, seed=VAL_SEED)

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """Joint loss: class-weighted pixel cross-entropy plus ``extra["patch_loss_weight"]``
        (:data:`PATCH_LOSS_WEIGHT` by default) times the class-weighted patch-label cross-entropy."""
        patches, masks = batch_patches(batch)
        masks = masks.to(device, non_blocking=True)
        label_logits, pixel_logits = model(patches.to(device, non_blocking=True))
        pixel_loss, patch_loss = loss_terms(label_logits, pixel_logits, masks)
        return pixel_loss + float(self._patch_loss_weight) * patch_loss

    def predict(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> Predictions:
        """Sliding-window heatmaps of whole validation pictures, grouped by manipulation kind."""
        images = batch["image"].to(device)
        stride, sigma = self._val_window
        scores = torch.stack([sliding_window_heatmap(model, image, stride, sigma) for image in images])
        scores_np = scores.float().cpu().numpy()
        truth = batch["mask"][:, 0].numpy() > 0.5
        return Predictions(scores=scores_np, truth=truth, groups=kind_groups(batch["kind"], scores_np.shape))

    def export(self, model: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
        """The whole network (about 5.5 MB in float32)."""
        return {WEIGHTS_KEY: model.state_dict()}

    def describe_data(self, config: TrainConfig) -> dict[str, Any]:
        """Photographs, crops, labelling rule and validation windows."""
        split = photo_split(include_large=config.include_large_photos)
        return {"train_photos": len(split.train), "val_photos": len(split.val), "source_size": SOURCE_SIZE,
                "patch": PATCH_SIZE, "crops_per_forgery": config.extra.get("crops", 8),
                "patch_label_fraction": PATCH_LABEL_FRACTION, "val_seed": VAL_SEED,
                "val_stride": config.extra.get("val_stride", 32), "val_sigma": config.extra.get("val_sigma", 3.0),
                "curriculum": curriculum_stages(config, allow_all=bool(config.extra.get("patch_set"))),
                "patch_set": config.extra.get("patch_set"),
                "patch_set_made": self.patch_set_made(config),
                "residual_init": bool(config.extra.get("residual_init", True)),
                "loss": "class-weighted pixel CE + patch_loss_weight x class-weighted patch CE",
                "patch_loss_weight": float(config.extra.get("patch_loss_weight", PATCH_LOSS_WEIGHT))}
