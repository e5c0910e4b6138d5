"""J-Conv-LSTM-Conv training pieces: patch-label readout, the easy planted task, curriculum, patch set."""

from __future__ import annotations

import json
import pickle

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from forensics_core.errors import ForensicsError
from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv
from forensics_core.synth.data import find_data_root
from forensics_core.synth.datasets import PLANTED_AREA, PlantedResampling
from forensics_core.training import get_recipe
from forensics_core.training.config import TrainConfig
from forensics_core.training.recipes.j_conv_lstm_conv import (
    PATCH_SET_SOURCES,
    Curriculum,
    PatchSet,
    Shuffled,
    curriculum_stages,
    write_patch_set,
)


def test_patch_label_reads_the_mean_of_all_cell_outputs():
    model = JConvLSTMConv(conv_maps=2, pixel_maps=2).eval()
    with torch.no_grad():
        stages = model.forward_stages(torch.rand(2, 3, 64, 64))
        expected = model.classifier(stages["lstm"].mean(dim=1))
    assert torch.allclose(stages["label"], expected, atol=1e-6)


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for index in range(2):
        texture = cv2.GaussianBlur(rng.integers(0, 256, (300, 320, 3), dtype=np.uint8), (0, 0), 1.0)
        path = tmp_path / f"photo{index}.png"
        cv2.imwrite(str(path), texture)
        paths.append(path)
    return paths


def test_planted_regions_are_large_half_planes_and_a_quarter_are_pristine(photos):
    planted = PlantedResampling(photos, size=128, length=8, seed=5)
    kinds = [planted[i]["kind"] for i in range(8)]
    assert kinds == ["planted", "planted", "planted", "pristine"] * 2
    assert torch.equal(planted[2]["image"], planted[2]["image"]), "deterministic per index"
    assert planted[3]["mask"].sum() == 0
    for index in (0, 1, 2):
        mask = planted[index]["mask"][0].numpy() > 0.5
        low, high = PLANTED_AREA
        assert low - 0.02 <= mask.mean() <= high + 0.02
        # a half-plane: every row's (or column's) manipulated pixels form one run touching a border
        for line in mask:
            if line.any() and not line.all():
                changes = np.flatnonzero(np.diff(line.astype(int)))
                assert len(changes) == 1


def test_upscaled_region_is_smoother_than_the_rest(photos):
    item = PlantedResampling(photos, size=128, length=1, seed=1)[0]
    grey = item["image"].mean(dim=0).numpy()
    mask = item["mask"][0].numpy() > 0.5
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    outer = cv2.erode((~mask).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert laplacian[inner].mean() < 0.7 * laplacian[outer].mean()


class _Numbered(Dataset):
    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, index: int) -> dict:
        return {"image": torch.full((2, 3, 64, 64), index / 100.0), "mask": torch.zeros(2, 1, 64, 64),
                "kind": self.name}


def test_curriculum_stage_follows_the_step_of_the_item():
    curriculum = Curriculum([(0, _Numbered("easy")), (3, _Numbered("hard"))], batch_size=4, length=40)
    assert [curriculum[i]["kind"] for i in (0, 11, 12, 39)] == ["easy", "easy", "hard", "hard"]


def test_curriculum_stages_are_checked():
    config = TrainConfig(extra={"curriculum": [{"from_step": 5, "source": "forgeries"},
                                               {"from_step": 0, "source": "planted"}]})
    assert [stage["source"] for stage in curriculum_stages(config)] == ["planted", "forgeries"]
    assert curriculum_stages(TrainConfig())[0] == {"from_step": 0, "source": "forgeries"}
    for bad in ([{"from_step": 1, "source": "planted"}], [{"from_step": 0, "source": "noise"}],
                [{"from_step": 0, "source": "forgeries", "kinds": ["blur"]}]):
        with pytest.raises(ForensicsError):
            curriculum_stages(TrainConfig(extra={"curriculum": bad}))


@pytest.mark.skipif(find_data_root() is None, reason="needs the pristine photographs in ../shared/data")
def test_training_items_follow_the_configured_curriculum():
    recipe = get_recipe("j-conv-lstm-conv")
    config = TrainConfig(steps=4, batch_size=1, extra={"crops": 2, "curriculum": [
        {"from_step": 0, "source": "planted"}, {"from_step": 2, "source": "forgeries", "kinds": ["splice"]}]})
    data = recipe.train_dataset(config)
    kinds = [data[i]["kind"] for i in range(4)]
    assert kinds[0] == "planted" and kinds[2] in ("splice", "pristine") and kinds[3] in ("splice", "pristine")
    assert data[0]["image"].shape == (2, 3, 64, 64)


def test_conv1_starts_from_the_srm_residual_filters():
    from forensics_core.models.j_conv_lstm_conv import RESIDUAL_INIT_GAIN
    from forensics_core.models.mantranet import srm_kernels

    model = JConvLSTMConv()
    assert torch.equal(model.conv1.weight[:9], RESIDUAL_INIT_GAIN * srm_kernels(3))
    assert torch.count_nonzero(model.conv1.bias[:9]) == 0
    # a flat patch has no residual: the residual maps answer zero whatever its level
    flat = torch.full((1, 3, 64, 64), 0.3)
    inner = torch.nn.functional.conv2d(flat * 2.0 - 1.0, model.conv1.weight[:9])
    assert float(inner.detach().abs().max()) < 1e-5
    plain = JConvLSTMConv(residual_init=False)
    assert not torch.equal(plain.conv1.weight[:9], RESIDUAL_INIT_GAIN * srm_kernels(3))


def test_wider_bottleneck_feeds_every_map_of_a_block_to_its_lstm_step():
    model = JConvLSTMConv(conv_maps=2, pixel_maps=2, bottleneck_maps=2).eval()
    with torch.no_grad():
        stages = model.forward_stages(torch.rand(1, 3, 64, 64))
    assert stages["blocks"].shape == (1, 64, 128)
    # step 9 is block (row 1, column 1): map 0 then map 1 of pixels 8..15 x 8..15
    expected = stages["conv"][0, :, 8:16, 8:16].reshape(-1)
    assert torch.equal(stages["blocks"][0, 9], expected)


def _write_patch_set(folder, sources):
    folder.mkdir()
    count = len(sources)
    images = np.stack([np.full((3, 64, 64), 10 * i, np.uint8) for i in range(count)])
    masks = np.zeros((count, 64, 64), bool)
    masks[:, :8] = True
    np.save(folder / "images.npy", images)
    np.save(folder / "masks.npy", masks)
    np.save(folder / "sources.npy", np.array(sources, np.int8))


def test_patch_set_reads_the_patches_of_the_chosen_sources(tmp_path):
    planted, forgeries = PATCH_SET_SOURCES["planted"], PATCH_SET_SOURCES["forgeries"]
    _write_patch_set(tmp_path / "set", [forgeries, planted, forgeries, planted])
    only_planted = PatchSet(tmp_path / "set", (planted,))
    assert len(only_planted) == 2 and len(PatchSet(tmp_path / "set")) == 4
    item = only_planted[1]
    assert item["kind"] == "planted" and item["image"].shape == (3, 64, 64)
    assert torch.allclose(item["image"], torch.full((3, 64, 64), 30 / 255.0))
    assert item["mask"].shape == (1, 64, 64) and float(item["mask"].mean()) == pytest.approx(0.125)
    with pytest.raises(ForensicsError, match="jconv_patch_set"):
        PatchSet(tmp_path / "missing")
    # a loader worker receives the folder, not a copy of the mapped arrays
    shipped = pickle.dumps(only_planted)
    assert len(shipped) < only_planted.images.nbytes
    again = pickle.loads(shipped)
    assert len(again) == 2 and torch.equal(again[1]["image"], item["image"]) and again[1]["kind"] == "planted"


def test_shuffled_visits_every_patch_once_per_epoch_in_a_fixed_order():
    class Plain(Dataset):
        def __len__(self) -> int:
            return 5

        def __getitem__(self, index: int) -> int:
            return index

    drawn = Shuffled(Plain(), length=10, seed=3)
    first, second = [drawn[i] for i in range(5)], [drawn[i] for i in range(5, 10)]
    assert sorted(first) == sorted(second) == list(range(5))
    assert [Shuffled(Plain(), 10, 3)[i] for i in range(10)] == first + second


def test_training_from_a_patch_set_follows_the_curriculum(tmp_path):
    planted, forgeries = PATCH_SET_SOURCES["planted"], PATCH_SET_SOURCES["forgeries"]
    _write_patch_set(tmp_path / "set", [forgeries, planted] * 4)
    recipe = get_recipe("j-conv-lstm-conv")
    config = TrainConfig(steps=6, batch_size=2, extra={"patch_set": str(tmp_path / "set"), "curriculum": [
        {"from_step": 0, "source": "planted"}, {"from_step": 2, "source": "all"}]})
    data = recipe.train_dataset(config)
    assert len(data) == 12 and all(data[i]["kind"] == "planted" for i in range(4))
    assert {data[i]["kind"] for i in range(4, 12)} == {"planted", "forgeries"}
    assert recipe.describe_data(config)["patch_set_made"] is None  # no made.json: nothing claimed
    (tmp_path / "set" / "made.json").write_text('{"forgeries": 1, "planted": 1, "seed": 5}')
    assert recipe.describe_data(config)["patch_set_made"]["seed"] == 5
    with pytest.raises(ForensicsError):
        recipe.train_dataset(TrainConfig(steps=2, batch_size=1, extra={"patch_set": str(tmp_path / "set"),
                                         "curriculum": [{"from_step": 0, "source": "forgeries",
                                                         "kinds": ["splice"]}]}))


@pytest.mark.slow
@pytest.mark.skipif(find_data_root() is None, reason="needs the held-out photographs in ../shared/data")
def test_shipped_weights_outline_synthetic_forgeries_of_held_out_photographs(tmp_path):
    """The shipped network (issue 24) against fixed forgeries of photographs it never trained on:
    each forged picture's heatmap ranks its manipulated pixels above its authentic ones (pixel
    AUC averaged over the pictures; the pooled figure on the recipe's validation set is 0.87)."""
    from forensics_core import metrics
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence
    from forensics_core.synth.data import object_masks, photo_split
    from forensics_core.synth.datasets import ForgeryDataset
    from tests.planted import write_png

    detector = get_detector("j-conv-lstm-conv")
    if not detector.is_trained():
        pytest.skip("no shipped j-conv-lstm-conv weights")
    forgeries = ForgeryDataset(photo_split(include_large=False).val, object_masks(), size=256, length=12,
                               seed=2024, pristine_fraction=0.0)
    aucs = []
    for index in range(len(forgeries)):
        item = forgeries[index]
        truth = item["mask"][0].numpy() > 0.5
        if truth.all() or not truth.any():
            continue
        rgb = np.rint(item["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        evidence = load_evidence(write_png(tmp_path / f"forgery-{index}.png", rgb))
        heatmap = detector.run(evidence, device="cpu").heatmap
        aucs.append(metrics.pixel_metrics(heatmap.ravel(), truth.ravel(), threshold=0.5)["auc"])
    assert len(aucs) >= 8
    print("per-picture pixel AUC", np.round(aucs, 3))
    assert float(np.mean(aucs)) > 0.65, aucs  # 0.70 with the weights of issue 24; chance is 0.5


def test_a_written_patch_set_reads_back_with_how_it_was_made(tmp_path):
    planted, forgeries = PATCH_SET_SOURCES["planted"], PATCH_SET_SOURCES["forgeries"]
    images = np.arange(3 * 3 * 64 * 64, dtype=np.uint32).reshape(3, 3, 64, 64).astype(np.uint8)
    masks = np.zeros((3, 64, 64), bool)
    masks[1, :32] = True
    write_patch_set(tmp_path / "set", images, masks, np.array([forgeries, planted, forgeries]), {"seed": 4})
    patches = PatchSet(tmp_path / "set")
    assert len(patches) == 3 and patches[1]["kind"] == "planted"
    assert torch.equal(patches[2]["image"], torch.from_numpy(images[2].astype(np.float32) / 255.0))
    assert float(patches[1]["mask"].mean()) == 0.5
    made = json.loads((tmp_path / "set" / "made.json").read_text())
    assert made == {"seed": 4, "patches": {"forgeries": 2, "planted": 1}}
