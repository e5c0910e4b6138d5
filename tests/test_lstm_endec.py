"""LSTM-EnDec (Bappy et al., TIP 2019) and J-Conv-LSTM-Conv (Bappy et al., ICCV 2017): the
Hilbert order, shapes at every stage, the shared resampling features, learning (each model
overfits a handful of samples), the training-data helpers and the detector contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.detectors.j_conv_lstm_conv import JConvLSTMConvDetector
from forensics_core.detectors.lstm_endec import LSTMEnDecDetector
from forensics_core.errors import Cancelled, ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.features.resampling import endec_features, extract_patches, laplacian_residual
from forensics_core.hilbert import hilbert_d2xy, hilbert_order, inverse_hilbert_order
from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv, sliding_window_heatmap, window_starts
from forensics_core.models.lstm_endec import LSTMEnDec, resampling_features
from forensics_core.training import get_recipe
from forensics_core.training.recipes.j_conv_lstm_conv import ForgeryPatches, batch_patches, patch_labels
from forensics_core.training.recipes.lstm_endec import class_weighted_cross_entropy
from tests.planted import noisy_image_with_planted_region, write_png


@pytest.fixture(autouse=True)
def _seeded_one_thread():
    """Fixed seed; one intra-op thread (two threads crawl when other work shares the two cores)."""
    torch.manual_seed(0)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_endec() -> LSTMEnDec:
    """Same stages and spatial sizes as the paper's network, a few maps wide."""
    return LSTMEnDec(lstm_hidden=8, lstm_maps=4, encoder_maps=(4, 4, 8, 8), decoder_maps=(4, 4))


def planted(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` smooth noisy RGB images, half of them with a brighter, noisier square (the mask)."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0.0, 1.0, size)
    base = 0.3 + 0.3 * ramp[None, :] + 0.2 * ramp[:, None]
    images, masks = [], []
    for i in range(n):
        image = base.expand(3, size, size) + 0.01 * torch.randn(3, size, size, generator=g)
        mask = torch.zeros(1, size, size)
        if i % 2 == 0:
            top, left = (int(v) for v in torch.randint(0, size // 2, (2,), generator=g))
            mask[:, top:top + size // 2, left:left + size // 2] = 1.0
        image = image + mask * (0.3 + 0.03 * torch.randn(3, size, size, generator=g))
        images.append(image.clamp(0.0, 1.0))
        masks.append(mask)
    return torch.stack(images), torch.stack(masks)


# ---- Hilbert curve --------------------------------------------------------------------------
def test_hilbert_order_visits_every_block_once_through_grid_neighbours():
    order = hilbert_order(3)
    assert sorted(order.tolist()) == list(range(64))
    rows, cols = np.divmod(order, 8)
    steps = np.abs(np.diff(rows)) + np.abs(np.diff(cols))
    assert steps.tolist() == [1] * 63, "consecutive blocks must share an edge"
    assert (rows[0], cols[0]) == (0, 0) and (rows[-1], cols[-1]) == (0, 7)
    assert np.array_equal(order[inverse_hilbert_order(3)], np.arange(64))
    assert hilbert_order(1).tolist() == [0, 2, 3, 1]  # (0,0) (0,1) (1,1) (1,0) as (x, y)
    with pytest.raises(ValueError):
        hilbert_d2xy(6, 0)
    with pytest.raises(ValueError):
        hilbert_d2xy(8, 64)


# ---- LSTM-EnDec -----------------------------------------------------------------------------
def test_lstm_endec_shapes_at_every_stage():
    model = LSTMEnDec().eval()
    with torch.no_grad():
        stages = model.forward_stages(torch.rand(2, 3, 256, 256))
    expected = {
        "features": (2, 64, 240), "sequence": (2, 64, 240), "lstm": (2, 64, 128), "lstm_map": (2, 64, 8, 8),
        "encoder1": (2, 32, 128, 128), "encoder2": (2, 64, 64, 64), "encoder3": (2, 128, 32, 32),
        "encoder4": (2, 256, 16, 16), "fused": (2, 128, 16, 16), "decoder1": (2, 64, 64, 64),
        "decoder2": (2, 16, 256, 256), "logits": (2, 2, 256, 256),
    }
    assert {k: tuple(v.shape) for k, v in stages.items()} == expected
    order = torch.from_numpy(hilbert_order(3))
    assert torch.equal(stages["sequence"], stages["features"][:, order])
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 128, 128))


def test_lstm_endec_features_are_the_shared_resampling_features():
    rgb = np.random.default_rng(1).random((256, 256, 3)).astype(np.float32)
    ours = resampling_features(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0]
    patches = extract_patches(laplacian_residual(rgb), 32, 32).reshape(64, 32, 32)
    reference = endec_features(np.ascontiguousarray(patches))
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-4)


def test_lstm_endec_overfits_a_handful_of_images():
    images, masks = planted(2, 256, seed=0)
    model = tiny_endec()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        logits = model(images)
        loss = class_weighted_cross_entropy(logits, masks[:, 0])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    probability = torch.softmax(logits.detach(), dim=1)[:, 1].numpy()
    assert losses[-1] < 0.5 * losses[0]
    assert metrics.pixel_auc(probability, masks[:, 0].numpy() > 0.5) > 0.95


# ---- J-Conv-LSTM-Conv -----------------------------------------------------------------------
def test_j_conv_lstm_conv_shapes_at_every_stage():
    with torch.no_grad():
        stages = JConvLSTMConv().eval().forward_stages(torch.rand(3, 3, 64, 64))
    expected = {"conv": (3, 1, 64, 64), "blocks": (3, 64, 64), "lstm": (3, 64, 256), "label": (3, 2),
                "lstm_map": (3, 1, 128, 128), "pixels": (3, 2, 64, 64)}
    assert {k: tuple(v.shape) for k, v in stages.items()} == expected


def test_j_conv_lstm_conv_blocks_are_the_8x8_blocks_in_raster_order():
    model = JConvLSTMConv().eval()
    with torch.no_grad():
        stages = model.forward_stages(torch.rand(1, 3, 64, 64))
    conv = stages["conv"][0, 0]
    assert torch.equal(stages["blocks"][0, 9], conv[8:16, 8:16].reshape(-1))  # block row 1, column 1
    assert torch.equal(stages["lstm_map"][0, 0, 16:32, 32:48], stages["lstm"][0, 10].reshape(16, 16))


def test_j_conv_lstm_conv_overfits_a_handful_of_patches():
    patches, masks = planted(8, 64, seed=1)
    model = JConvLSTMConv(conv_maps=4, pixel_maps=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    first = None
    for _ in range(60):
        label_logits, pixel_logits = model(patches)
        loss = (class_weighted_cross_entropy(label_logits, patch_labels(masks))
                + class_weighted_cross_entropy(pixel_logits, masks[:, 0]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.6 * first
    pixel_probability = torch.softmax(pixel_logits.detach(), dim=1)[:, 1].numpy()
    assert metrics.pixel_auc(pixel_probability, masks[:, 0].numpy() > 0.5) > 0.9
    labels = torch.softmax(label_logits.detach(), dim=1)[:, 1]
    assert torch.equal(labels > 0.5, patch_labels(masks).bool())


def test_window_starts_cover_the_whole_length():
    assert window_starts(200, 64, 32) == [0, 32, 64, 96, 128, 136]
    assert window_starts(64, 64, 32) == [0] and window_starts(40, 64, 32) == [0]


def test_sliding_window_heatmap_covers_small_and_odd_images():
    model = JConvLSTMConv(conv_maps=2, pixel_maps=2).eval()
    for height, width in ((50, 40), (100, 70)):
        calls: list[float] = []
        heatmap = sliding_window_heatmap(model, torch.rand(3, height, width), stride=32, sigma=2.0,
                                         batch_size=2, on_batch=calls.append)
        assert heatmap.shape == (height, width)
        assert 0.0 <= float(heatmap.min()) and float(heatmap.max()) <= 1.0
        assert calls[-1] == 1.0


# ---- training-data helpers ------------------------------------------------------------------
def test_class_weighted_cross_entropy_weighs_both_classes_equally():
    logits = torch.randn(2, 2, 8, 8)
    target = torch.zeros(2, 8, 8)
    target[0, :2, :4] = 1.0
    per_pixel = torch.nn.functional.cross_entropy(logits, target.long(), reduction="none")
    expected = 0.5 * (per_pixel[target == 1].mean() + per_pixel[target == 0].mean())
    assert torch.allclose(class_weighted_cross_entropy(logits, target), expected, atol=1e-6)


def test_patch_labels_use_the_papers_12_5_percent_rule():
    masks = torch.zeros(3, 1, 64, 64)
    masks[1, :, :8] = 1.0  # exactly 12.5 %: not manipulated
    masks[2, :, :9] = 1.0
    assert patch_labels(masks).tolist() == [0, 0, 1]


def test_forgery_patches_and_batch_tiles():
    mask = torch.zeros(1, 256, 256)
    mask[:, 100:140, 150:200] = 1.0
    items = [{"image": torch.rand(3, 256, 256), "mask": mask, "kind": "splice"},
             {"image": torch.rand(3, 256, 256), "mask": torch.zeros(1, 256, 256), "kind": "pristine"}]
    patches = ForgeryPatches(items, crops=4, seed=3)
    first = patches[0]
    assert first["image"].shape == (4, 3, 64, 64) and first["mask"].shape == (4, 1, 64, 64)
    assert all(first["mask"][i].sum() > 0 for i in (0, 2)), "even crops are centred on the manipulation"
    assert torch.equal(patches[0]["image"], first["image"]), "deterministic per index"
    stacked = {"image": first["image"][None], "mask": first["mask"][None]}
    assert batch_patches(stacked)[0].shape == (4, 3, 64, 64)
    whole = {"image": items[0]["image"][None], "mask": items[0]["mask"][None]}
    tiles, tile_masks = batch_patches(whole)
    assert tiles.shape == (16, 3, 64, 64)
    assert torch.equal(tiles[1 * 4 + 2], items[0]["image"][:, 64:128, 128:192])
    assert torch.equal(tile_masks[1 * 4 + 2], mask[:, 64:128, 128:192])


def test_recipes_are_registered_with_cpu_and_gpu_profiles():
    for recipe_id in ("lstm-endec", "j-conv-lstm-conv"):
        recipe = get_recipe(recipe_id)
        assert {"cpu", "gpu"} <= set(recipe.profiles)
        gpu = recipe.profiles["gpu"]
        assert 32 <= gpu.batch_size <= 64 and 12 <= gpu.num_workers <= 14 and gpu.checkpoint_every <= 200


# ---- detectors ------------------------------------------------------------------------------
@pytest.fixture()
def evidence(tmp_path):
    rgb, _ = noisy_image_with_planted_region(height=300, width=280)
    return load_evidence(write_png(tmp_path / "planted.png", rgb))


@pytest.mark.parametrize("detector_id", ["lstm-endec", "j-conv-lstm-conv"])
def test_detectors_refuse_to_run_without_weights(detector_id, evidence, tmp_path, monkeypatch):
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    detector = get_detector(detector_id)
    assert not detector.is_trained() and "NOT TRAINED" in detector.training_status()
    with pytest.raises(ForensicsError, match="not trained"):
        detector.run(evidence, device="cpu")


def _cancel_after(checks: int):
    count = {"n": 0}

    def cancel() -> bool:
        count["n"] += 1
        return count["n"] > checks

    return cancel


@pytest.mark.parametrize("params", [{"mode": "resize"}, {"mode": "tiled", "tile_stride": 128}])
def test_lstm_endec_detector_contract(params, evidence):
    detector = LSTMEnDecDetector(tiny_endec())
    progress: list[float] = []
    result = detector.run(evidence, params, progress=lambda f, m: progress.append(f), device="cpu")
    assert result.heatmap.shape == (300, 280) and result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert result.extra["mode"] == params["mode"] and progress[-1] == 1.0
    with pytest.raises(Cancelled):
        LSTMEnDecDetector(tiny_endec()).run(evidence, params, cancel=_cancel_after(2), device="cpu")


def test_j_conv_lstm_conv_detector_contract(evidence):
    detector = JConvLSTMConvDetector(JConvLSTMConv(conv_maps=2, pixel_maps=2))
    result = detector.run(evidence, {"stride": 64, "sigma": 2.0}, device="cpu")
    assert result.heatmap.shape == (300, 280) and result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    with pytest.raises(Cancelled):
        JConvLSTMConvDetector(JConvLSTMConv(conv_maps=2, pixel_maps=2)).run(
            evidence, {"stride": 32}, cancel=_cancel_after(3), device="cpu")
