"""Torch datasets of synthetic forgeries and resampling patches.

Every item is a pure function of ``(seed, index)``: it draws all its randomness from its own
``numpy.random.default_rng([seed, index])``, so a sample does not depend on the number of loader
workers, on the order of access, or on what was generated before.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES
from forensics_core.synth import manipulations, transforms
from forensics_core.synth.data import load_photo
from forensics_core.synth.postprocessing import apply_postprocess, draw_postprocess
from forensics_core.synth.resampling_patches import resampling_patch
from forensics_core.synth.shapes import MAX_AREA, random_region

#: Scale factors and frame fractions of :class:`PlantedResampling` regions.
PLANTED_SCALE = (1.6, 2.5)
PLANTED_AREA = (0.3, 0.7)

#: The manipulation kinds :class:`ForgeryDataset` can make.
FORGERY_KINDS = ("splice", "copy_move", "removal", "enhancement")

#: Largest fraction of the frame removed by inpainting: larger holes smear visibly (and slowly),
#: and objects removed in practice are small.
REMOVAL_MAX_AREA = 0.10


class ForgeryDataset(Dataset):
    """Random crops of pristine photographs, most of them with one synthetic local manipulation.

    Item ``index`` is made as follows, all from ``default_rng([seed, index])``:

    1. The global post-processing is drawn (:func:`~forensics_core.synth.postprocessing.
       draw_postprocess`). A crop of ``size`` pixels is taken from a random photograph, or of
       ``ceil(size / factor)`` pixels when the post-processing resizes by ``factor``, so that the
       final picture needs no upscaling. Photographs smaller than the crop are upscaled
       (bicubic) by the least factor that fits; otherwise crops are taken at the native resolution.
       These draws (and the position of the final window of step 4) come first, so item
       ``index`` has the same photograph, crop and post-processing whatever ``kinds`` and
       ``pristine_fraction`` are.
    2. The item is pristine when ``floor((index + 1) * pristine_fraction) > floor(index *
       pristine_fraction)``, so that exactly that fraction of every run of consecutive indices,
       and the expected fraction of any random batch, is pristine. Otherwise its kind is drawn
       uniformly from ``kinds``.
    3. A region (:func:`~forensics_core.synth.shapes.random_region`; at most
       :data:`REMOVAL_MAX_AREA` of the frame for a removal) and the manipulation
       (:mod:`~forensics_core.synth.manipulations`) are applied to the crop; a splice takes its
       donor from a crop of another photograph of the same size.
    4. The post-processing is applied to the image (and to the mask, for a resize), and a random
       ``size x size`` window is cut out of a resized result. Pristine crops get the same
       post-processing distribution, with an all-zero mask.

    Parameters
    ----------
    photos : sequence of Path
        Pristine photographs (e.g. :attr:`~forensics_core.synth.data.PhotoSplit.train`).
    mask_paths : sequence of Path
        Object masks for region shapes (e.g. :func:`~forensics_core.synth.data.object_masks`);
        may be empty, then polygons and blobs only.
    size : int, optional
        Side of the square samples.
    length : int, optional
        Number of items.
    seed : int, optional
        Seed of the whole dataset.
    pristine_fraction : float, optional
        Fraction of untouched samples, in [0, 1].
    kinds : tuple of str, optional
        Manipulations to draw from, a subset of :data:`FORGERY_KINDS`.

    Notes
    -----
    An item is a dict: ``image`` (float32 tensor 3xSxS in [0, 1]), ``mask`` (float32 tensor
    1xSxS of 0/1, the manipulated pixels), ``label`` (int, 1 when any pixel is manipulated; a
    forgery whose region the final crop cut away is labelled 0), ``kind`` (``"pristine"`` or the
    manipulation) and ``labels`` (a JSON string with the photograph, crop, region, manipulation and
    post-processing parameters, for tracing a sample back).
    """

    def __init__(self, photos: Sequence[Path], mask_paths: Sequence[Path], size: int = 256, length: int = 10000,
                 seed: int = 0, pristine_fraction: float = 0.25, kinds: tuple[str, ...] = FORGERY_KINDS) -> None:
        if not photos:
            raise ValueError("ForgeryDataset needs at least one photograph")
        unknown = set(kinds) - set(FORGERY_KINDS)
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {FORGERY_KINDS}, got {kinds}")
        if not 0.0 <= pristine_fraction <= 1.0:
            raise ValueError(f"pristine_fraction must lie in [0, 1], got {pristine_fraction}")
        self.photos = tuple(Path(p) for p in photos)
        self.mask_paths = tuple(Path(p) for p in mask_paths)
        self.size = size
        self.length = length
        self.seed = seed
        self.pristine_fraction = pristine_fraction
        self.kinds = tuple(kinds)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        image, mask, labels = self.sample(index)
        return {
            "image": _to_tensor(image),
            "mask": torch.from_numpy(mask[None].astype(np.float32)),
            "label": int(mask.any()),
            "kind": labels["kind"],
            "labels": json.dumps(labels),
        }

    def is_pristine(self, index: int) -> bool:
        """Whether item ``index`` is an untouched photograph (see step 2 above)."""
        p = self.pristine_fraction
        return math.floor((index + 1) * p) > math.floor(index * p)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Item ``index`` as ``(image uint8 SxSx3, mask bool SxS, labels dict)``."""
        rng = np.random.default_rng([self.seed, index])
        post = draw_postprocess(rng)
        resized = post["postprocess"] == "resize"
        work = math.ceil(self.size / post["factor"]) if resized else self.size
        final = round(work * post["factor"]) if resized else work
        top, left = (int(v) for v in rng.integers(final - self.size + 1, size=2))
        photo_index = int(rng.integers(len(self.photos)))
        image, crop = _random_crop(load_photo(self.photos[photo_index]), work, rng)
        kind = "pristine" if self.is_pristine(index) else self.kinds[int(rng.integers(len(self.kinds)))]
        labels: dict[str, Any] = {"seed": self.seed, "index": index, "kind": kind,
                                  "photo": str(self.photos[photo_index]), "crop": crop}
        if kind == "pristine":
            mask = np.zeros((work, work), dtype=bool)
        else:
            image, mask, forgery = self._forge(kind, image, photo_index, rng)
            labels.update(forgery)
        image, mask = apply_postprocess(image, mask, post)
        labels["postprocess"] = post
        if resized:
            image = image[top:top + self.size, left:left + self.size]
            mask = mask[top:top + self.size, left:left + self.size]
            labels["final_crop"] = {"top": top, "left": left}
        return np.ascontiguousarray(image), np.ascontiguousarray(mask), labels

    def _forge(self, kind: str, image: np.ndarray, photo_index: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Step 3: a random region and the manipulation ``kind`` on the crop ``image``."""
        side = image.shape[0]
        region_record: dict[str, Any] = {}
        max_area = REMOVAL_MAX_AREA if kind == "removal" else MAX_AREA
        region = random_region(side, side, rng, self.mask_paths, region_record, max_area)
        labels: dict[str, Any] = {"region": region_record}
        if kind == "splice":
            donor_index = _other_index(photo_index, len(self.photos), rng)
            donor, donor_crop = _random_crop(load_photo(self.photos[donor_index]), side, rng)
            labels["donor"] = {"photo": str(self.photos[donor_index]), "crop": donor_crop}
            image, mask, edit = manipulations.splice(image, donor, region, rng)
        elif kind == "copy_move":
            image, mask, edit = manipulations.copy_move(image, region, rng)
        elif kind == "removal":
            image, mask, edit = manipulations.removal(image, region, rng)
        else:
            image, mask, edit = manipulations.local_enhancement(image, region, rng)
        labels["manipulation"] = edit
        return image, mask, labels


class _SeededPhotoDataset(Dataset):
    """``length`` items of side ``size`` made from ``photos``; item ``i`` draws everything from
    ``default_rng([seed, i])`` (:meth:`rng`), so it is the same whatever the order of access."""

    def __init__(self, photos: Sequence[Path], size: int, length: int, seed: int) -> None:
        self.photos = tuple(Path(p) for p in photos)
        self.size = size
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index``."""
        return np.random.default_rng([self.seed, index])


class ResamplingPatchDataset(_SeededPhotoDataset):
    """Patches for the binary resampling classifiers (:mod:`~forensics_core.synth.resampling_patches`).

    Item ``index`` belongs to class ``classes[index % len(classes)]`` and is positive when
    ``(index // len(classes))`` is even, so every run of ``2 * len(classes)`` consecutive items
    holds one positive and one negative of every class: labels are exactly balanced per class
    when ``length`` is a multiple of that. The photograph and the patch come from
    ``default_rng([seed, index])``.

    An item is a dict: ``patch`` (float32 tensor 3xSxS in [0, 1]), ``class_index`` (int, into
    ``classes``) and ``label`` (int, 1 = transformed).
    """

    def __init__(self, photos: Sequence[Path], classes: tuple[str, ...] = RESAMPLING_CLASSES, size: int = 64,
                 length: int = 12000, seed: int = 0) -> None:
        if not photos:
            raise ValueError("ResamplingPatchDataset needs at least one photograph")
        unknown = set(classes) - set(RESAMPLING_CLASSES)
        if unknown or not classes:
            raise ValueError(f"classes must be a non-empty subset of {RESAMPLING_CLASSES}, got {classes}")
        super().__init__(photos, size, length, seed)
        self.classes = tuple(classes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        class_index = index % len(self.classes)
        positive = (index // len(self.classes)) % 2 == 0
        rng = self.rng(index)
        photo = _random_photo(self.photos, rng)
        patch = resampling_patch(photo, self.classes[class_index], positive, rng, self.size)
        return {
            "patch": _to_tensor(patch),
            "class_index": class_index,
            "label": int(positive),
        }


class PlantedResampling(_SeededPhotoDataset):
    """The easy task: a large region of a crop replaced by an upscaled copy, with a hard edge.

    Item ``i`` (all from ``default_rng([seed, i])``): a ``size x size`` crop of a random
    photograph; a straight line cuts it so that 30-70 % of the frame lies on one side
    (:data:`PLANTED_AREA`); that side is replaced, without feathering or post-processing, by the
    same crop upscaled by 1.6-2.5 (:data:`PLANTED_SCALE`; bilinear or bicubic) about its centre.
    The region is large, its boundary sharp and straight and its interior carries strong
    interpolation traces, so a network that cannot find it cannot find anything. Items are dicts
    like :class:`~forensics_core.synth.datasets.ForgeryDataset`'s (``image``, ``mask``, ``kind`` =
    ``"planted"``); a quarter are pristine (``kind`` = ``"pristine"``, all-zero mask), as there.
    """

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = self.rng(index)
        side = self.size
        crop, _ = _random_crop(_random_photo(self.photos, rng), side, rng)
        mask = np.zeros((side, side), dtype=bool)
        kind = "pristine"
        if index % 4 != 3:
            kind = "planted"
            angle = rng.uniform(0.0, 2.0 * np.pi)
            normal = np.array([np.cos(angle), np.sin(angle)])
            yy, xx = np.mgrid[:side, :side]
            distance = (xx - (side - 1) / 2.0) * normal[0] + (yy - (side - 1) / 2.0) * normal[1]
            mask = distance > np.quantile(distance, 1.0 - rng.uniform(*PLANTED_AREA))
            scale = rng.uniform(*PLANTED_SCALE)
            centre = (side - 1) / 2.0
            matrix = np.array([[scale, 0.0, centre * (1.0 - scale)], [0.0, scale, centre * (1.0 - scale)]])
            interpolation = "bilinear" if rng.random() < 0.5 else "bicubic"
            crop[mask] = transforms.affine_resample(crop, matrix, (side, side), interpolation)[mask]
        return {"image": _to_tensor(crop), "mask": torch.from_numpy(mask[None].astype(np.float32)), "kind": kind}


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 to a 3xHxW float32 tensor in [0, 1]. Converted in NumPy: torch's own
    element-wise ops are far slower in a loader process that shares its cores."""
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    chw /= 255.0
    return torch.from_numpy(chw)


def _random_photo(photos: Sequence[Path], rng: np.random.Generator) -> np.ndarray:
    """One of ``photos``, drawn uniformly with ``rng`` and loaded."""
    return load_photo(photos[int(rng.integers(len(photos)))])


def _random_crop(photo: np.ndarray, side: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """A writable ``side x side`` crop at a random place, upscaling a too small photograph first."""
    height, width = photo.shape[:2]
    upscale = 1.0
    if min(height, width) < side:
        upscale = side / min(height, width)
        new_shape = (max(side, math.ceil(height * upscale)), max(side, math.ceil(width * upscale)))
        photo = transforms.resize(photo, new_shape, "bicubic")
        height, width = new_shape
    top, left = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
    crop = np.array(photo[top:top + side, left:left + side])
    return crop, {"top": top, "left": left, "size": side, "upscale": upscale}


def _other_index(index: int, count: int, rng: np.random.Generator) -> int:
    """A random index in ``range(count)`` other than ``index`` (``index`` itself if ``count`` is 1)."""
    if count == 1:
        return index
    other = int(rng.integers(count - 1))
    return other + (other >= index)
