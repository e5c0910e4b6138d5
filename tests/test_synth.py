"""Tests of the forgery factory (forensics_core.synth). Most read ../shared/data and skip without it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES
from forensics_core.synth import data, manipulations, postprocessing, shapes, transforms
from forensics_core.synth.datasets import FORGERY_KINDS, ForgeryDataset, ResamplingPatchDataset
from forensics_core.synth.resampling_patches import resampling_patch

shared = pytest.mark.shared


@pytest.fixture(scope="module")
def root():
    found = data.find_data_root()
    if found is None:
        pytest.skip("shared data not found: set TAMPER_DATA_DIR or put it at ../shared/data beside the checkout")
    return found


@pytest.fixture(scope="module")
def split(root):
    return data.photo_split(root)


@pytest.fixture(scope="module")
def masks(root):
    return data.object_masks(root)


@pytest.fixture(scope="module")
def kodak_crop(root):
    """A textured 192x192 crop and a donor crop from two never-compressed photographs."""
    target = data.load_photo(root / "pristine" / "kodak24" / "kodim08.png")[100:292, 150:342]
    donor = data.load_photo(root / "pristine" / "kodak24" / "kodim13.png")[50:242, 50:242]
    return np.array(target), np.array(donor)


# --- data ---------------------------------------------------------------------------------------

def test_find_data_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.find_data_root() == tmp_path
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "missing"))
    assert data.find_data_root() is None
    with pytest.raises(FileNotFoundError, match=data.DATA_DIR_ENV):
        data.photo_split()


def test_photo_split_without_photographs_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pristine photographs"):
        data.photo_split(tmp_path)


@shared
def test_photo_split_is_fixed_disjoint_and_holds_out_odd_numbers(root, split):
    assert data.photo_split(root) == split
    assert not set(split.train) & set(split.val)
    assert list(split.train) == sorted(split.train) and list(split.val) == sorted(split.val)
    expected_val = {
        p for subset in ("kodak24", "mcmaster") for p in (root / "pristine" / subset).glob("*.png")
        if int(re.findall(r"\d+", p.stem)[-1]) % 2 == 1
    }
    assert set(split.val) == expected_val and len(expected_val) == 21
    every = set((root / "pristine").glob("*/*.png"))
    assert set(split.train) | set(split.val) == every
    compact = data.photo_split(root, include_large=False)
    assert compact.val == split.val
    assert {p.parent.name for p in compact.train} == set(data.compact_subsets)


@shared
def test_load_photo_is_rgb_and_read_only(split):
    path = split.train[0]
    photo = data.load_photo(path)
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
    np.testing.assert_array_equal(photo, np.asarray(Image.open(path).convert("RGB")))
    assert not photo.flags.writeable
    assert data.load_photo(path) is photo


# --- shapes and transforms ----------------------------------------------------------------------

@shared
@pytest.mark.parametrize("maker", ["object", "polygon", "blob", "random"])
def test_regions_are_non_empty_and_sized(maker, masks):
    rng = np.random.default_rng(7)
    for _ in range(10):
        record: dict = {}
        if maker == "object":
            region = shapes.object_region(160, 200, rng, masks, record)
        elif maker == "polygon":
            region = shapes.polygon_region(160, 200, rng, record)
        elif maker == "blob":
            region = shapes.blob_region(160, 200, rng, record)
        else:
            region = shapes.random_region(160, 200, rng, masks, record, max_area=0.15)
        assert region.dtype == bool and region.shape == (160, 200)
        assert shapes.MIN_AREA <= region.mean() <= (0.15 if maker == "random" else 0.36)
        assert record["shape"] in ("object", "polygon", "blob")


def test_random_region_without_masks():
    rng = np.random.default_rng(0)
    assert all(shapes.random_region(64, 64, rng, ()).any() for _ in range(5))


def test_rotation_sign_is_counter_clockwise_as_displayed():
    img = np.zeros((21, 21, 3), dtype=np.uint8)
    img[10, 18] = 255  # right of the centre
    turned = transforms.rotate(img, 90.0)
    y, x = np.unravel_index(np.argmax(turned[..., 0]), turned.shape[:2])
    assert (y, x) == (2, 10)  # now above the centre


def test_jpeg_roundtrip_offset_moves_the_grid():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    aligned = transforms.jpeg_roundtrip(img, 70)
    shifted = transforms.jpeg_roundtrip(img, 70, offset=(3, 5))
    assert aligned.shape == shifted.shape == img.shape
    assert not np.array_equal(aligned, shifted)


def test_feather_keeps_the_mask_at_one_half():
    region = np.zeros((50, 50), dtype=bool)
    region[10:30, 15:40] = True
    alpha = manipulations.feather(region, 2.5)
    np.testing.assert_array_equal(alpha > 0.5, region)
    assert 0.0 < alpha[region].min() < 1.0 and alpha[~region].max() > 0.0


# --- manipulations ------------------------------------------------------------------------------

def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return (before != after).any(axis=2)


@shared
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_splice_and_copy_move_masks_are_exact(seed, kodak_crop, masks):
    target, donor = kodak_crop
    rng = np.random.default_rng(seed)
    region = shapes.random_region(*target.shape[:2], rng, masks)
    for image, mask, labels in (manipulations.splice(target, donor, region, rng, feather_radius=0),
                                manipulations.copy_move(target, region, rng, feather_radius=0)):
        changed = _changed(target, image)
        assert mask.shape == target.shape[:2] and mask.any()
        assert not (changed & ~mask).any(), labels["manipulation"]
        assert changed[mask].mean() > 0.9, labels["manipulation"]
        json.dumps(labels)


@shared
def test_copy_move_destination_is_the_transformed_source(kodak_crop, masks):
    target, _ = kodak_crop
    rng = np.random.default_rng(5)
    region = shapes.random_region(*target.shape[:2], rng, masks)
    image, mask, labels = manipulations.copy_move(target, region, rng, feather_radius=0)
    moved = transforms.affine_resample(target, np.array(labels["matrix"]), target.shape[:2], labels["interpolation"])
    np.testing.assert_array_equal(image[mask], moved[mask])
    np.testing.assert_array_equal(image[~mask], target[~mask])


@shared
def test_removal_and_enhancement_change_only_the_mask(kodak_crop, masks):
    target, _ = kodak_crop
    rng = np.random.default_rng(3)
    operations = set()
    for _ in range(12):
        region = shapes.random_region(*target.shape[:2], rng, masks)
        for image, mask, labels in (manipulations.removal(target, region, rng),
                                    manipulations.local_enhancement(target, region, rng, feather_radius=0)):
            assert not (_changed(target, image) & ~mask).any(), labels
            assert mask[region].all()
            operations.add(labels.get("operation", "removal"))
    assert len(operations) >= 5


@shared
def test_feathered_paste_marks_alpha_above_one_half(kodak_crop, masks):
    target, donor = kodak_crop
    rng = np.random.default_rng(4)
    region = shapes.random_region(*target.shape[:2], rng, masks)
    image, mask, labels = manipulations.splice(target, donor, region, rng, feather_radius=2.0)
    assert labels["feather_radius"] == 2.0
    changed = _changed(target, image)
    assert changed[mask].mean() > 0.9
    near = manipulations.feather(mask, 2.0) > 0.0
    assert not (changed & ~near).any()


# --- post-processing ----------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"postprocess": "none"},
    {"postprocess": "jpeg", "quality": 75, "offset": [0, 0]},
    {"postprocess": "jpeg_misaligned", "quality": 90, "offset": [3, 6]},
    {"postprocess": "resize", "factor": 0.73, "interpolation": "area"},
    {"postprocess": "noise", "sigma": 1.5, "noise_seed": 4},
])
def test_postprocess_keeps_mask_and_image_aligned(params):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (100, 90, 3), dtype=np.uint8)
    mask = np.zeros((100, 90), dtype=bool)
    mask[20:60, 30:80] = True
    out, out_mask = postprocessing.apply_postprocess(image, mask, params)
    assert out.dtype == np.uint8 and out.shape[2] == 3 and out_mask.shape == out.shape[:2]
    assert abs(out_mask.mean() - mask.mean()) < 0.02
    if params["postprocess"] == "resize":
        assert out.shape[:2] == (73, 66)


def test_global_postprocess_draws_every_operation():
    rng = np.random.default_rng(0)
    image = np.full((64, 64, 3), 128, dtype=np.uint8)
    mask = np.zeros((64, 64), dtype=bool)
    names = set()
    for _ in range(60):
        out, out_mask, labels = postprocessing.global_postprocess(image, mask, rng)
        assert out_mask.shape == out.shape[:2]
        names.add(labels["postprocess"])
    assert names == set(postprocessing.POSTPROCESSES)


# --- datasets -----------------------------------------------------------------------------------

@shared
def test_forgery_dataset_is_deterministic(split, masks):
    first, again = (ForgeryDataset(split.train, masks, size=96, length=8, seed=11) for _ in range(2))
    for index in (0, 5):
        a, b = first[index], again[index]
        assert a["labels"] == b["labels"]
        assert np.array_equal(a["image"].numpy(), b["image"].numpy())
        assert np.array_equal(a["mask"].numpy(), b["mask"].numpy())
    assert not np.array_equal(first[0]["image"].numpy(), first[1]["image"].numpy())


@shared
def test_forgery_dataset_items(split, masks):
    dataset = ForgeryDataset(split.train, masks, size=96, length=12, seed=2, pristine_fraction=0.25)
    assert sum(dataset.is_pristine(i) for i in range(len(dataset))) == 3
    for index in range(len(dataset)):
        item = dataset[index]
        image, mask = item["image"], item["mask"]
        assert tuple(image.shape) == (3, 96, 96) and tuple(mask.shape) == (1, 96, 96)
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert set(np.unique(mask.numpy())) <= {0.0, 1.0}
        assert item["label"] == int(mask.sum() > 0)
        assert (item["kind"] == "pristine") == dataset.is_pristine(index)
        assert item["kind"] in ("pristine",) + FORGERY_KINDS
        assert json.loads(item["labels"])["index"] == index
    with pytest.raises(IndexError):
        dataset[len(dataset)]


@shared
def test_pristine_samples_are_unmasked_crops(split, masks):
    dataset = ForgeryDataset(split.train, masks, size=96, length=40, seed=0, pristine_fraction=1.0)
    untouched = 0
    for index in range(len(dataset)):
        image, mask, labels = dataset.sample(index)
        assert labels["kind"] == "pristine" and not mask.any()
        crop = labels["crop"]
        if labels["postprocess"]["postprocess"] == "none" and crop["upscale"] == 1.0:
            photo = data.load_photo(labels["photo"])
            np.testing.assert_array_equal(image, photo[crop["top"]:crop["top"] + 96, crop["left"]:crop["left"] + 96])
            untouched += 1
    assert untouched >= 3


@shared
def test_forgeries_start_from_the_pristine_crop(split, masks):
    """Item i has the same photograph, crop and post-processing whatever its kind."""
    pristine = ForgeryDataset(split.train, masks, size=96, length=4, seed=9, pristine_fraction=1.0)
    forged = ForgeryDataset(split.train, masks, size=96, length=4, seed=9, pristine_fraction=0.0, kinds=("copy_move",))
    for index in range(4):
        _, _, a = pristine.sample(index)
        _, mask, b = forged.sample(index)
        assert (a["photo"], a["crop"], a["postprocess"]) == (b["photo"], b["crop"], b["postprocess"])
        assert b["kind"] == "copy_move"


@shared
def test_resampling_patches(split):
    rng = np.random.default_rng(0)
    photo = data.load_photo(split.train[0])
    for name in RESAMPLING_CLASSES:
        for positive in (True, False):
            patch = resampling_patch(photo, name, positive, rng, size=48)
            assert patch.shape == (48, 48, 3) and patch.dtype == np.uint8 and patch.flags.c_contiguous
    with pytest.raises(ValueError):
        resampling_patch(photo, "mirroring", True, rng)


@shared
def test_resampling_dataset_is_balanced_and_deterministic(split):
    dataset = ResamplingPatchDataset(split.train, size=32, length=48, seed=1)
    items = [dataset[i] for i in range(len(dataset))]
    for class_index in range(len(RESAMPLING_CLASSES)):
        labels = [it["label"] for it in items if it["class_index"] == class_index]
        assert labels.count(1) == labels.count(0) == 4
    assert tuple(items[0]["patch"].shape) == (3, 32, 32)
    assert np.array_equal(dataset[7]["patch"].numpy(), items[7]["patch"].numpy())


# --- gallery ------------------------------------------------------------------------------------

@shared
def test_gallery_writes_index_and_pngs(tmp_path, root):
    from forensics_core.synth.gallery import main

    assert main([str(tmp_path / "gallery"), "--n-per-kind", "1", "--size", "64"]) == 0
    pngs = sorted((tmp_path / "gallery").glob("*.png"))
    assert len(pngs) == 1 + len(FORGERY_KINDS)
    page = (tmp_path / "gallery" / "index.html").read_text(encoding="utf-8")
    assert all(p.name in page for p in pngs)
    with Image.open(pngs[0]) as picture:
        assert picture.size[1] == 64 and picture.size[0] > 128
    assert not list((tmp_path / "gallery").glob("*.tmp"))


def test_resampled_splices_are_deterministic_and_clearly_resampled(root):
    from forensics_core.synth.benchmark import resampled_splices

    first, again = resampled_splices(4, size=(96, 128), seed=3), resampled_splices(4, size=(96, 128), seed=3)
    for (image, mask, record), (image2, mask2, _) in zip(first, again):
        assert np.array_equal(image, image2) and np.array_equal(mask, mask2)
        assert image.shape[:2] == mask.shape and image.shape[:2][0] <= 96 and image.shape[:2][1] <= 128
        assert mask.dtype == bool and 0.02 <= mask.mean() <= 0.6
        assert abs(record["scale"] - 1.0) >= 0.1 or abs(record["angle"]) >= 5.0
