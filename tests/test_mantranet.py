"""ManTra-Net: architecture facts, exact tiling, the Keras importer, the detector and the recipes.

References are written independently of the implementation: NumPy padding and convolutions, a
brute-force window mean, and the Keras ConvLSTM equations with Keras's weight layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from forensics_core.errors import Cancelled, ForensicsError
from forensics_core.models.mantranet import (
    FEATEX_LAYERS,
    ConvLSTM2D,
    ManTraNet,
    ZPool2D,
    hard_sigmoid,
    keras_parameter_count,
    predict_tiled,
    symmetric_pad,
    window_mean,
)
from forensics_core.models.mantranet_keras_import import AUTHORS_KEY, git_blob_id, import_mantranet

# ---- references ------------------------------------------------------------------------------


def keras_conv(x: np.ndarray, kernel: np.ndarray, mode: str) -> np.ndarray:
    """Keras/TF convolution (cross-correlation) of HxWxC ``x`` with a k x k x C x O kernel, the
    input padded by k // 2 with ``np.pad`` ``mode`` ('symmetric' or 'constant')."""
    k = kernel.shape[0]
    p = k // 2
    padded = np.pad(x, ((p, p), (p, p), (0, 0)), mode=mode)
    height, width = x.shape[:2]
    out = np.zeros((height, width, kernel.shape[3]), np.float64)
    for dy in range(k):
        for dx in range(k):
            out += padded[dy:dy + height, dx:dx + width] @ kernel[dy, dx]
    return out


def srm_hwio() -> np.ndarray:
    """The seed notes' 9 SRM filters in Keras layout (5, 5, 3, 9)."""
    k1 = np.zeros((5, 5))
    k1[1:4, 1:4] = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]]) / 4
    k2 = np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2],
                   [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]]) / 12
    k3 = np.zeros((5, 5))
    k3[2, 1:4] = np.array([1, -2, 1]) / 2
    out = np.zeros((5, 5, 3, 9))
    for i, kernel in enumerate((k1, k2, k3)):
        for channel in range(3):
            out[:, :, channel, 3 * i + channel] = kernel
    return out


def keras_hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def keras_convlstm(sequence: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras 2.2 ConvLSTM2D (zero padding, tanh, hard_sigmoid), T x H x W x C -> H x W x F, with
    the gates sliced i, f, c, o from the last axis of the Keras kernels."""
    filters = recurrent.shape[2]
    gate = {name: slice(i * filters, (i + 1) * filters) for i, name in enumerate("ifco")}
    h = np.zeros(sequence.shape[1:3] + (filters,))
    c = np.zeros_like(h)
    for x in sequence:
        def z(name: str) -> np.ndarray:
            return (keras_conv(x, kernel[..., gate[name]], "constant") + bias[gate[name]]
                    + keras_conv(h, recurrent[..., gate[name]], "constant"))
        i, f, o = keras_hard_sigmoid(z("i")), keras_hard_sigmoid(z("f")), keras_hard_sigmoid(z("o"))
        c = f * c + i * np.tanh(z("c"))
        h = o * np.tanh(c)
    return h


def brute_window_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over the valid pixels of every size x size window of a (C, H, W) array."""
    r = size // 2
    out = np.zeros_like(x, dtype=np.float64)
    height, width = x.shape[1:]
    for y in range(height):
        for xx in range(width):
            out[:, y, xx] = x[:, max(y - r, 0):y + r + 1, max(xx - r, 0):xx + r + 1].mean(axis=(1, 2))
    return out


def keras_weights(seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """Random weights with the shapes and names of the authors' Keras model."""
    rng = np.random.default_rng(seed)

    def r(*shape: int, scale: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {("b1c1", "regular_kernel"): r(5, 5, 3, 4), ("b1c1", "bayar_kernel"): r(5, 5, 3, 3)}
    channels = 16
    for name, width in FEATEX_LAYERS + (("transform", 256),):
        weights[(name, "kernel")] = r(3, 3, channels, width)
        weights[(name, "bias")] = r(width)
        channels = width
    weights[("outlierTrans", "kernel")] = r(1, 1, 256, 64)
    weights[("bnorm", "moving_mean")] = r(64, scale=0.01)
    weights[("bnorm", "moving_variance")] = rng.uniform(0.001, 0.01, 64).astype(np.float32)
    weights[("glbStd", "min_std")] = rng.uniform(0.0, 0.1, (1, 1, 1, 64)).astype(np.float32)
    weights[("cLSTM", "kernel")] = r(7, 7, 64, 32)
    weights[("cLSTM", "recurrent_kernel")] = r(7, 7, 8, 32)
    weights[("cLSTM", "bias")] = r(32)
    weights[("pred", "kernel")] = r(7, 7, 8, 1)
    weights[("pred", "bias")] = r(1)
    return weights


def write_keras_h5(path: Path, weights: dict[tuple[str, str], np.ndarray], epsilon: float = 1e-3) -> None:
    """An HDF5 file laid out as Keras 2.2's ``model.save`` writes ManTra-Net (nested Featex)."""
    h5py = pytest.importorskip("h5py")
    featex_layers = {"b1c1", "transform"} | {name for name, _ in FEATEX_LAYERS}
    config = {"class_name": "Model", "config": {"name": "ManTraNet", "layers": [
        {"name": "Featex", "class_name": "Model", "config": {"layers": []}},
        {"name": "bnorm", "class_name": "BatchNormalization", "config": {"name": "bnorm", "epsilon": epsilon}},
    ]}}
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config).encode()
        root = handle.create_group("model_weights")
        top = ["img_in", "Featex", "outlierTrans", "bnorm", "nestedAvgFeatex", "glbStd", "cLSTM", "pred"]
        root.attrs["layer_names"] = [name.encode() for name in top]
        for name in top:
            root.create_group(name)
        for (layer, weight), value in weights.items():
            group = root["Featex"] if layer in featex_layers else root[layer]
            group.create_dataset(f"{layer}/{weight}:0", data=value)


def small_eval_model(seed: int = 0) -> ManTraNet:
    """A random model with plausible batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = ManTraNet().eval()
    with torch.no_grad():
        model.ladn.bnorm.running_mean.normal_(0.0, 0.01)
        model.ladn.bnorm.running_var.uniform_(0.001, 0.01)
    return model


def write_png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


# ---- architecture ----------------------------------------------------------------------------


def test_parameter_counts_match_the_released_model():
    model = ManTraNet()
    assert keras_parameter_count(model) == 3_805_078
    assert keras_parameter_count(model.featex) == 3_675_181
    # PyTorch keeps the 128 batch-norm moving statistics as buffers, not parameters.
    assert sum(p.numel() for p in model.parameters()) == 3_805_078 - 128


@pytest.mark.parametrize("pad", [1, 2, 3])
def test_symmetric_padding_equals_numpy(pad):
    x = np.random.default_rng(pad).standard_normal((2, 3, 5, 7)).astype(np.float32)
    expected = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="symmetric")
    np.testing.assert_array_equal(symmetric_pad(torch.from_numpy(x), pad).numpy(), expected)


@pytest.mark.parametrize("size", [3, 7, 15, 31])
def test_window_mean_counts_valid_pixels_only(size):
    x = np.random.default_rng(size).standard_normal((1, 2, 11, 17))
    got = window_mean(torch.from_numpy(x), size).numpy()[0]
    np.testing.assert_allclose(got, brute_window_mean(x[0], size), rtol=0, atol=1e-10)
    if size // 2 <= 11:  # avg_pool2d's own limit on padding
        pooled = F.avg_pool2d(torch.from_numpy(x), size, stride=1, padding=size // 2, count_include_pad=False)
        np.testing.assert_allclose(got, pooled.numpy()[0], atol=1e-10)


def test_zpool_steps_are_7_15_31_then_global_over_the_floored_std():
    zpool = ZPool2D(channels=2)
    with torch.no_grad():
        zpool.min_std.copy_(torch.tensor([0.5, 0.25]))
    x = np.random.default_rng(0).standard_normal((1, 2, 20, 23)).astype(np.float32)
    x[0, 1] = 3.0  # a constant channel: std 0, floored at 1e-6
    out = zpool(torch.from_numpy(x)).detach().numpy()[0]
    assert out.shape == (4, 2, 20, 23)
    sigma = np.maximum(x[0].std(axis=(1, 2)), 1e-6) + np.array([0.5, 0.25])
    for step, size in enumerate((7, 15, 31)):
        expected = np.abs((brute_window_mean(x[0], size) - x[0]) / sigma[:, None, None])
        np.testing.assert_allclose(out[step], expected, atol=1e-5)
    expected_global = np.abs((x[0].mean(axis=(1, 2), keepdims=True) - x[0]) / sigma[:, None, None])
    np.testing.assert_allclose(out[3], expected_global, atol=1e-5)


def test_hard_sigmoid_is_keras_not_torch():
    x = torch.tensor([-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0])
    np.testing.assert_allclose(hard_sigmoid(x).numpy(), [0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0], atol=1e-7)


def test_convlstm_gate_order_and_recurrence_match_keras():
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((7, 7, 6, 12)) * 0.3
    recurrent = rng.standard_normal((7, 7, 3, 12)) * 0.3
    bias = rng.standard_normal(12)
    lstm = ConvLSTM2D(in_channels=6, filters=3)
    with torch.no_grad():
        lstm.input_conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
        lstm.input_conv.bias.copy_(torch.from_numpy(bias))
        lstm.recurrent_conv.weight.copy_(torch.from_numpy(recurrent.transpose(3, 2, 0, 1)))
    sequence = rng.standard_normal((3, 9, 10, 6))  # T x H x W x C
    expected = keras_convlstm(sequence, kernel, recurrent, bias)
    got = lstm(torch.from_numpy(sequence.transpose(0, 3, 1, 2)[None]).float())[0].detach().numpy()
    np.testing.assert_allclose(got.transpose(1, 2, 0), expected, atol=1e-4)


def test_bayar_projection_and_fixed_srm_survive_training_steps():
    model = ManTraNet()
    first = model.featex.b1c1
    srm_before = first.srm_kernel.clone()
    assert "featex.b1c1.srm_kernel" not in model.state_dict()
    assert all(p is not first.srm_kernel for p in model.parameters())
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    image = torch.rand(1, 3, 12, 12)
    for _ in range(2):
        optimiser.zero_grad()
        model(image).mean().backward()
        optimiser.step()
        model.project_constraints_()
    kernel = first.bayar_kernel.detach()
    np.testing.assert_array_equal(kernel[:, :, 2, 2].numpy(), -1.0)
    np.testing.assert_allclose(kernel.sum(dim=(2, 3)).numpy(), 0.0, atol=1e-5)  # others sum to 1
    torch.testing.assert_close(first.srm_kernel, srm_before)
    np.testing.assert_allclose(model.ladn.outlier_trans.weight.norm(dim=1).detach().numpy(), 1.0, atol=1e-5)
    assert (model.ladn.zpool.min_std >= 0).all()


def test_output_has_the_input_size_for_odd_sizes():
    with torch.no_grad():
        out = ManTraNet().eval()(torch.rand(1, 3, 37, 53))
    assert out.shape == (1, 1, 37, 53)


def test_tiled_inference_equals_untiled():
    model = small_eval_model()
    rgb = np.random.default_rng(0).random((45, 70, 3)).astype(np.float32)
    with torch.inference_mode():
        untiled = torch.sigmoid(model(torch.from_numpy(rgb).permute(2, 0, 1)[None]))[0, 0].numpy()
    calls: list[tuple[int, int]] = []
    tiled = predict_tiled(model, rgb, torch.device("cpu"), tile=24, overlap=14,
                          on_tile=lambda done, total: calls.append((done, total)))
    assert tiled.shape == (45, 70)
    np.testing.assert_allclose(tiled, untiled, atol=1e-4)
    assert calls[-1] == (12, 12) and len(calls) == 12  # 2 x 3 tiles in each of the two passes
    with pytest.raises(ValueError):
        predict_tiled(model, rgb, torch.device("cpu"), tile=24, overlap=8)


def test_overfits_a_tiny_sample():
    from forensics_core.training.recipes.mantranet import class_weighted_bce

    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    mask = torch.zeros(1, 1, 16, 16)
    mask[:, :, 4:10, 5:11] = 1.0
    image = (0.5 + 0.1 * torch.rand(1, 3, 16, 16, generator=generator)
             + 0.1 * mask * torch.randn(1, 3, 16, 16, generator=generator)).clamp(0, 1)
    model = ManTraNet()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        loss = class_weighted_bce(model(image), mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        model.project_constraints_()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


# ---- importer --------------------------------------------------------------------------------


def test_git_blob_id_matches_git(tmp_path):
    # `printf 'hello\n' | git hash-object --stdin`
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_importer_maps_every_keras_weight(tmp_path, monkeypatch):
    from forensics_core.weights import load_weights

    weights = keras_weights()
    h5_path = tmp_path / "ManTraNet_Ptrain4.h5"
    write_keras_h5(h5_path, weights, epsilon=2e-3)
    report = import_mantranet(h5_path, folder=tmp_path / "user")
    assert report.key == AUTHORS_KEY
    assert any("blob id" in w for w in report.warnings) and any("epsilon" in w for w in report.warnings)
    state, _ = load_weights(AUTHORS_KEY, tmp_path / "user")
    model = ManTraNet().eval()
    model.load_state_dict(state)

    def hwio(key: str) -> np.ndarray:
        return state[key].numpy().transpose(2, 3, 1, 0)

    np.testing.assert_array_equal(hwio("featex.b1c1.regular_kernel"), weights[("b1c1", "regular_kernel")])
    np.testing.assert_array_equal(hwio("featex.b1c1.bayar_kernel"), weights[("b1c1", "bayar_kernel")])
    for name in [n for n, _ in FEATEX_LAYERS] + ["transform"]:
        np.testing.assert_array_equal(hwio(f"featex.{name}.weight"), weights[(name, "kernel")])
        np.testing.assert_array_equal(state[f"featex.{name}.bias"].numpy(), weights[(name, "bias")])
    np.testing.assert_array_equal(hwio("ladn.outlier_trans.weight"), weights[("outlierTrans", "kernel")])
    np.testing.assert_array_equal(state["ladn.bnorm.running_mean"].numpy(), weights[("bnorm", "moving_mean")])
    np.testing.assert_allclose(state["ladn.bnorm.running_var"].numpy(),
                               weights[("bnorm", "moving_variance")] + 1e-3, rtol=1e-6)  # eps 2e-3 folded
    np.testing.assert_array_equal(state["ladn.zpool.min_std"].numpy(), weights[("glbStd", "min_std")].ravel())
    np.testing.assert_array_equal(hwio("ladn.pred.weight"), weights[("pred", "kernel")])

    # The first layer against a NumPy Keras reference: plain, SRM, Bayar, symmetric padding, ReLU.
    rgb = np.random.default_rng(2).random((9, 11, 3))
    full_kernel = np.concatenate([weights[("b1c1", "regular_kernel")], srm_hwio(),
                                  weights[("b1c1", "bayar_kernel")]], axis=3)
    expected = np.maximum(keras_conv(rgb * 2 - 1, full_kernel, "symmetric"), 0.0)
    with torch.no_grad():
        got = model.featex.b1c1(torch.from_numpy(rgb * 2 - 1).permute(2, 0, 1)[None].float())[0]
    np.testing.assert_allclose(got.numpy().transpose(1, 2, 0), expected, atol=1e-5)

    # The ConvLSTM against the Keras equations with the file's own kernels (gate order i, f, c, o).
    sequence = np.random.default_rng(3).standard_normal((4, 6, 7, 64)) * 0.3
    expected = keras_convlstm(sequence, weights[("cLSTM", "kernel")], weights[("cLSTM", "recurrent_kernel")],
                              weights[("cLSTM", "bias")])
    with torch.no_grad():
        got = model.ladn.clstm(torch.from_numpy(sequence.transpose(0, 3, 1, 2)[None]).float())[0]
    np.testing.assert_allclose(got.numpy().transpose(1, 2, 0), expected, atol=1e-4)

    # The detector then offers the imported weights.
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "shipped"))
    monkeypatch.setenv("TAMPER_USER_WEIGHTS_DIR", str(tmp_path / "user"))
    detector = get_detector("mantranet")
    assert detector.is_trained()
    image = (np.random.default_rng(4).random((24, 30, 3)) * 255).astype(np.uint8)
    evidence = load_evidence(write_png(tmp_path / "photo.png", image))
    result = detector.run(evidence, {"weights": "auto"}, device="cpu")
    assert result.heatmap.shape == (24, 30)
    assert result.provenance["weights_sha256"] == {AUTHORS_KEY: report.entry["sha256"]}
    with pytest.raises(ForensicsError, match="not trained"):
        detector.run(evidence, {"weights": "shipped"}, device="cpu")


def test_cli_imports_and_still_lists(tmp_path, monkeypatch, capsys):
    from forensics_core.cli import main

    write_keras_h5(tmp_path / "w.h5", keras_weights(1))
    monkeypatch.setenv("TAMPER_USER_WEIGHTS_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "shipped"))
    assert main(["weights", "import-mantranet", str(tmp_path / "w.h5")]) == 0
    assert (tmp_path / "user" / f"{AUTHORS_KEY}.safetensors").is_file()
    assert main(["weights"]) == 0 and main(["weights", "list"]) == 0
    assert "no weights in the manifest" in capsys.readouterr().out
    assert main(["weights", "import-mantranet", str(tmp_path / "missing.h5")]) == 2


# ---- detector --------------------------------------------------------------------------------


def test_detector_refuses_without_weights(tmp_path, monkeypatch):
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "shipped"))
    monkeypatch.setenv("TAMPER_USER_WEIGHTS_DIR", str(tmp_path / "user"))
    detector = get_detector("mantranet")
    assert not detector.is_trained()
    assert "NOT TRAINED" in detector.training_status()
    evidence = load_evidence(write_png(tmp_path / "p.png", np.zeros((16, 16, 3), np.uint8)))
    for choice in ("auto", "shipped", "authors"):
        with pytest.raises(ForensicsError):
            detector.run(evidence, {"weights": choice}, device="cpu")


def test_detector_reports_progress_per_tile_and_cancels(tmp_path):
    from forensics_core.detectors.mantranet import ManTraNetDetector
    from forensics_core.evidence import load_evidence

    image = (np.random.default_rng(5).random((40, 70, 3)) * 255).astype(np.uint8)
    evidence = load_evidence(write_png(tmp_path / "p.png", image))
    detector = ManTraNetDetector(model=small_eval_model())
    messages: list[str] = []
    result = detector.run(evidence, {"tile": 64}, progress=lambda f, m: messages.append(m), device="cpu")
    assert result.heatmap.shape == (40, 70) and 0.0 <= result.score <= 1.0
    assert any(m.startswith("Tile") for m in messages)
    checks = iter(range(100))
    with pytest.raises(Cancelled):
        detector.run(evidence, {"tile": 64}, cancel=lambda: next(checks) >= 3, device="cpu")


# ---- recipes ---------------------------------------------------------------------------------


def test_imc_has_over_100_classes_that_each_change_a_patch():
    from forensics_core.training.recipes.mantranet import imc_classes

    classes = imc_classes()
    assert len(classes) >= 100 and len({c.name for c in classes}) == len(classes)
    rng = np.random.default_rng(0)
    photo = (rng.random((400, 400, 3)) * 200 + 20).astype(np.uint8)
    photo = cv2.GaussianBlur(photo, (0, 0), 2)
    for manipulation in classes:
        side = manipulation.source_side(32)
        out = manipulation.apply(photo[:side, :side].copy(), np.random.default_rng(1))
        assert out.dtype == np.uint8 and min(out.shape[:2]) >= 32 + 2 * 16 - 1, manipulation.name
        if manipulation.operation != "identity":
            assert out.shape != (side, side, 3) or not np.array_equal(out, photo[:side, :side]), manipulation.name


@pytest.mark.shared
def test_mantranet_recipe_trains_and_exports(tmp_path):
    from forensics_core.synth.data import find_data_root
    from forensics_core.training import get_recipe
    from forensics_core.training.harness import train
    from forensics_core.weights import load_weights

    if find_data_root() is None:
        pytest.skip("no ../shared/data: the training photographs are missing")
    recipe = get_recipe("mantranet")
    config = recipe.profiles["cpu"].updated(steps=2, batch_size=2, val_every=2, val_samples=2, val_batch_size=2,
                                            checkpoint_every=2, num_workers=0,
                                            extra={"size": 32, "init_from_imc": False})
    outcome = train(recipe, config, torch.device("cpu"), tmp_path / "run", tmp_path / "weights", show_progress=False)
    entry = outcome.weights["mantranet/ptrain-ours"]
    assert entry["bytes"] < 25 * 2 ** 20
    assert entry["training"]["data"]["featex_init"] == {"source": "scratch"}
    state, _ = load_weights("mantranet/ptrain-ours", tmp_path / "weights")
    ManTraNet().load_state_dict(state)
    np.testing.assert_array_equal(state["featex.b1c1.bayar_kernel"][:, :, 2, 2].numpy(), -1.0)
