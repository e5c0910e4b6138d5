"""Write a synthetic benchmark folder from the held-out photographs, in the shared layout.

``images/NAME.png`` forgeries, ``masks/NAME.png`` their ground truth (255 = manipulated) and
``authentic/NAME.png`` untouched crops, so that ``tamper-workbench evaluate`` scores any detector
on the synthetic validation split exactly as it scores a real benchmark. Only the fixed
validation photographs are used; the result is identical for the same arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np

from forensics_core.atomic import write_png_atomic
from forensics_core.synth import manipulations
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.datasets import ForgeryDataset
from forensics_core.synth.shapes import random_region

#: Seed of the published synthetic validation benchmark (never used for training sets).
VALIDATION_SEED = 20_171_023


def _to_uint8(tensor) -> np.ndarray:
    array = tensor.numpy()
    if array.ndim == 3:
        array = np.transpose(array, (1, 2, 0))
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)


def write_synthetic_benchmark(out_dir: Path, n_forged: int = 40, n_authentic: int = 20, size: int = 384,
                              seed: int = VALIDATION_SEED) -> Path:
    """Write ``n_forged`` forgeries and ``n_authentic`` pristine crops of the validation photos."""
    split = photo_split(include_large=False)
    forged = ForgeryDataset(split.val, object_masks(), size=size, length=n_forged, seed=seed,
                            pristine_fraction=0.0)
    pristine = ForgeryDataset(split.val, object_masks(), size=size, length=n_authentic, seed=seed + 1,
                              pristine_fraction=1.0)
    for index in range(n_forged):
        item = forged[index]
        name = f"synth_{index:03d}_{item['kind']}"
        write_png_atomic(out_dir / "images" / f"{name}.png", _to_uint8(item["image"]))
        write_png_atomic(out_dir / "masks" / f"{name}.png", _to_uint8(item["mask"][0]))
    for index in range(n_authentic):
        write_png_atomic(out_dir / "authentic" / f"pristine_{index:03d}.png", _to_uint8(pristine[index]["image"]))
    return out_dir


def resampled_splices(count: int, size: tuple[int, int] = (384, 512), seed: int = VALIDATION_SEED,
                      min_scale_change: float = 0.1, min_rotation: float = 5.0,
                      area_range: tuple[float, float] = (0.02, 0.6)) -> list[tuple[np.ndarray, np.ndarray, dict]]:
    """``count`` splices whose pasted region was clearly resampled, from the validation photos only.

    Each target is a random ``size`` (height, width) crop of a validation photograph (smaller
    photos are used whole); the donor is another validation photograph, spliced with
    :func:`~forensics_core.synth.manipulations.splice` with a hard edge. Draws are kept only when
    the scale differs from 1 by at least ``min_scale_change`` or the rotation is at least
    ``min_rotation`` degrees, and the region covers a fraction of the frame in ``area_range``.
    Returns ``(image uint8 HxWx3, mask bool HxW, splice record)`` triples; deterministic for a seed.
    """
    photos = photo_split(include_large=False).val
    rng = np.random.default_rng(seed)
    samples: list[tuple[np.ndarray, np.ndarray, dict]] = []
    while len(samples) < count:
        target = load_photo(photos[int(rng.integers(len(photos)))])
        donor = load_photo(photos[int(rng.integers(len(photos)))])
        height, width = min(size[0], target.shape[0]), min(size[1], target.shape[1])
        top = int(rng.integers(0, target.shape[0] - height + 1))
        left = int(rng.integers(0, target.shape[1] - width + 1))
        target = np.ascontiguousarray(target[top:top + height, left:left + width])
        region = random_region(donor.shape[0], donor.shape[1], rng, object_masks())
        image, mask, record = manipulations.splice(target, donor, region, rng, feather_radius=0.0)
        resampled = abs(record["scale"] - 1.0) >= min_scale_change or abs(record["angle"]) >= min_rotation
        if resampled and area_range[0] <= mask.mean() <= area_range[1]:
            samples.append((image, np.asarray(mask) > 0.5, record))
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m forensics_core.synth.benchmark OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--forged", type=int, default=40)
    parser.add_argument("--authentic", type=int, default=20)
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args(argv)
    path = write_synthetic_benchmark(Path(args.out), args.forged, args.authentic, args.size)
    print(f"synthetic validation benchmark written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
