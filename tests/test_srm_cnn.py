"""SRM-CNN (Cozzolino, Poggi and Verdoliva, IH&MMSec 2017): the CNN equals the hand-crafted
descriptor exactly, the sliding window equals per-window classification, the detector contract,
learning, and the hand-crafted reference with a linear SVM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forensics_core.detectors import get_detector
from forensics_core.errors import Cancelled, ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.features.srm import N_CODES, N_FEATURES, srm_features, srm_histogram
from forensics_core.models.srm_cnn import SRMNet, codebook, hand_crafted_srm_net
from forensics_core.synth.data import find_data_root
from forensics_core.weights import save_weights
from tests.planted import noisy_image_with_planted_region, write_png

needs_data = pytest.mark.skipif(find_data_root() is None, reason="../shared/data is not present")


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these many small operations crawl when two threads share busy cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _patches(rng: np.random.Generator) -> list[np.ndarray]:
    """Continuous noise, 8-bit noise, a smooth 8-bit scene with weak noise, odd sizes."""
    yy, xx = np.mgrid[0:96, 0:80]
    scene = 128 + 60 * np.sin(xx / 9.0) + 40 * np.cos(yy / 13.0) + rng.normal(0, 2, yy.shape)
    return [rng.random((64, 64)), rng.random((37, 71)),
            rng.integers(0, 256, (128, 128)) / 255.0, np.clip(np.rint(scene), 0, 255) / 255.0,
            np.full((16, 16), 0.5)]


def _random_classifier(model: SRMNet, seed: int) -> SRMNet:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        dtype = model.classifier.weight.dtype
        model.classifier.weight.copy_(torch.randn(1, N_FEATURES, generator=generator).to(dtype))
        model.feature_mean.copy_(torch.rand(N_FEATURES, generator=generator).to(dtype) / N_CODES)
        model.feature_scale.copy_((0.01 + torch.rand(N_FEATURES, generator=generator)).to(dtype))
    return model


def test_codebook_follows_the_documented_bin_order():
    words = codebook()
    assert words.shape == (N_CODES, 4)
    assert words[0].tolist() == [-1, -1, -1, -1] and words[40].tolist() == [0, 0, 0, 0]
    assert words[80].tolist() == [1, 1, 1, 1] and words[27 * 2 + 3 * 1].tolist() == [1, -1, 0, -1]


def test_network_histogram_equals_hand_crafted_exactly():
    net = hand_crafted_srm_net().double().eval()
    for patch in _patches(np.random.default_rng(0)):
        expected = srm_histogram(patch)
        with torch.no_grad():
            got = net.histogram(torch.from_numpy(patch)[None, None]).numpy()[0]
        assert np.array_equal(got, expected), np.abs(got - expected).max()
        assert expected[:N_CODES].sum() == pytest.approx(1.0) and expected[N_CODES:].sum() == pytest.approx(1.0)


@needs_data
def test_network_histogram_equals_hand_crafted_on_photographs():
    from forensics_core.synth.data import load_photo, photo_split

    net = hand_crafted_srm_net().double().eval()
    green = load_photo(photo_split(include_large=False).val[0])[..., 1]
    batch = np.stack([green[:128, :128], green[200:328, 100:228], green[-128:, -128:]]) / 255.0
    with torch.no_grad():
        got = net.histogram(torch.from_numpy(batch)[:, None]).numpy()
    assert np.array_equal(got, srm_features(batch))
    with torch.no_grad():   # float32, as the detector runs: 8-bit residuals are far from the thresholds
        single = hand_crafted_srm_net().eval().histogram(torch.from_numpy(batch).float()[:, None]).double().numpy()
    np.testing.assert_allclose(single, got, atol=1e-6)


def test_shapes_and_soft_histogram():
    net = hand_crafted_srm_net(alpha=1000.0)
    x = torch.rand(3, 1, 40, 48)
    soft = net.train().histogram(x)
    hard = net.eval().histogram(x)
    assert soft.shape == hard.shape == (3, N_FEATURES)
    assert torch.allclose(soft.sum(1), torch.full((3,), 2.0), atol=1e-5)
    assert torch.allclose(soft, hard, atol=5e-3)   # a large alpha approaches the hard-max
    assert net(x).shape == (3,)
    with pytest.raises(ValueError, match="at least"):
        net(torch.rand(1, 1, 6, 30))


def test_soft_histogram_gradient_matches_plain_autograd():
    torch.manual_seed(0)
    net = SRMNet(alpha=3.0, chunk=7).double().train()
    x = torch.rand(2, 1, 9, 11, dtype=torch.float64)

    def reference() -> torch.Tensor:
        means = {}
        for geometry, transposed in net.streams(x):
            weight, bias = net.quantiser(geometry)
            scores = torch.einsum("nchw,ck->nkhw", net.residual_tuples(x, geometry, transposed), weight)
            mean = torch.softmax(net.log_alpha.exp() * (scores + bias[:, None, None]), 1).mean((2, 3))
            means[geometry] = means.get(geometry, 0) + mean
        return torch.cat([means["along"], means["across"]], 1) / 2

    params = [p for name, p in net.named_parameters() if not name.startswith("classifier")]
    probe = torch.randn(2, N_FEATURES, dtype=torch.float64)
    ours = torch.autograd.grad((net.histogram(x) * probe).sum(), params)
    theirs = torch.autograd.grad((reference() * probe).sum(), params)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("window,stride", [(32, 8), (40, 12)])
def test_sliding_window_equals_per_window_classification(window, stride):
    net = _random_classifier(hand_crafted_srm_net().double().eval(), seed=1)
    x = torch.from_numpy(np.random.default_rng(2).integers(0, 256, (75, 90)) / 255.0)[None, None]
    with torch.no_grad():
        logits = net.window_logits(x, window, stride)
        assert logits.shape == ((75 - window) // stride + 1, (90 - window) // stride + 1)
        for i, j in [(0, 0), (1, 2), (logits.shape[0] - 1, logits.shape[1] - 1)]:
            patch = x[..., i * stride:i * stride + window, j * stride:j * stride + window]
            assert logits[i, j].item() == pytest.approx(net(patch).item(), abs=1e-9)
    net.train()   # the soft-max network slides identically
    with torch.no_grad():
        soft = net.window_logits(x, window, stride)
        assert soft[1, 1].item() == pytest.approx(net(x[..., stride:stride + window, stride:stride + window]).item(),
                                                  abs=1e-9)


def test_detector_refuses_to_run_untrained(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "empty"))
    detector = get_detector("srm-cnn")
    assert detector.is_trained() is False and "NOT TRAINED" in detector.training_status()
    rgb, _ = noisy_image_with_planted_region()
    evidence = load_evidence(write_png(tmp_path / "x.png", rgb))
    with pytest.raises(ForensicsError, match="not trained"):
        detector.run(evidence, device="cpu")


def test_detector_contract_with_a_fresh_model(tmp_path, monkeypatch):
    torch.manual_seed(0)
    weights = tmp_path / "weights"
    save_weights("srm-cnn/general", _random_classifier(hand_crafted_srm_net(), seed=3).state_dict(),
                 training={"note": "test"}, validation={}, folder=weights)
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(weights))
    detector = get_detector("srm-cnn")
    assert detector.is_trained()
    rgb, _ = noisy_image_with_planted_region(height=150, width=170)
    evidence = load_evidence(write_png(tmp_path / "planted.png", rgb))
    progress: list[float] = []
    result = detector.run(evidence, {"window": 64, "stride": 8}, progress=lambda f, m: progress.append(f),
                          device="cpu")
    assert result.heatmap.shape == (150, 170) and result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0 and result.heatmap.std() > 0
    assert result.provenance["weights_sha256"]["srm-cnn/general"]
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert result.extra["windows"] == ((150 - 64) // 8 + 1) * ((170 - 64) // 8 + 1)
    small = load_evidence(write_png(tmp_path / "small.png", rgb[:40, :50]))
    assert detector.run(small, device="cpu").heatmap.shape == (40, 50)   # the window shrinks to fit
    calls = iter([False, False, True])
    with pytest.raises(Cancelled):
        detector.run(evidence, cancel=lambda: next(calls, True), device="cpu")


def test_model_overfits_a_handful_of_samples():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    patches = torch.from_numpy(rng.integers(0, 256, (8, 1, 32, 32)) / 255.0).float()
    labels = torch.tensor([0.0, 1.0] * 4)
    net = hand_crafted_srm_net(alpha=40.0)
    with torch.no_grad():
        features = net.eval().histogram(patches)
        net.feature_mean.copy_(features.mean(0))
        net.feature_scale.copy_(features.std(0) + 1e-3)
        net.classifier.weight.zero_()
    descriptor = [p for name, p in net.named_parameters() if not name.startswith("classifier")]
    optimiser = torch.optim.Adam([{"params": net.classifier.parameters(), "lr": 0.05},
                                  {"params": descriptor, "lr": 1e-3}])
    net.train()
    for _ in range(30):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(patches), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.01
    with torch.no_grad():
        assert ((net.eval()(patches) > 0).float() == labels).all()


@needs_data
def test_reference_svm_separates_median_filtered_patches():
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn is only needed for the reference SVM")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from forensics_core.synth.data import photo_split
    from forensics_core.training.recipes.srm_cnn import PAPER_TASKS, TaskPatchDataset

    assert sklearn.__version__
    median = [t for t in PAPER_TASKS if t.name == "median3"]
    split = photo_split(include_large=False)

    def features(photos, length, seed):
        items = [TaskPatchDataset(photos, median, length, seed, size=64)[i] for i in range(length)]
        patches = np.stack([item["patch"][0].numpy() for item in items])
        return srm_features(patches), np.array([item["label"].item() for item in items])

    x_train, y_train = features(split.train, 160, 0)
    x_val, y_val = features(split.val, 80, 1)
    svm = make_pipeline(StandardScaler(), LinearSVC(C=0.1)).fit(x_train, y_train)
    assert svm.score(x_val, y_val) > 0.9


@needs_data
def test_task_recipe_datasets_and_export_keys():
    from forensics_core.training import get_recipe
    from forensics_core.training.recipes.srm_cnn import PAPER_TASKS, SRMNetBank

    recipe = get_recipe("srm-cnn-tasks")
    config = recipe.profiles["cpu"]
    assert not any(p.parent.name in ("cbsd68", "curban100") for p in recipe.train_photos(config))
    dataset = recipe.val_dataset(config.updated(val_samples=60))
    items = [dataset[i] for i in range(60)]
    assert [item["task"] for item in items[:15]] == list(range(15))
    assert all(items[i]["label"] == 0 and items[i + 15]["label"] == 1 for i in range(15))
    for item in items:
        assert item["patch"].shape == (1, 128, 128) and 0 <= item["patch"].min() <= item["patch"].max() <= 1
    keys = recipe.export(SRMNetBank(len(PAPER_TASKS), alpha=40.0))
    assert len(keys) == 15 and "srm-cnn/jpeg90" in keys
    assert recipe.groups_for_key("srm-cnn/resize1.01") == ["resize1.01"]
