"""Resampling detector (Bunk et al. 2017): features against scikit-image, the paper's premise,
the detector contract with tiny injected models, refusal when untrained, and a short training run."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage.transform import radon
from torch import nn

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.detectors.resampling import (
    HEATMAP_MODES,
    ResamplingDetector,
    ResamplingLSTMDetector,
    _refine,
    deviation_heatmap,
    signature_anomaly,
)
from forensics_core.errors import Cancelled, ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.features.resampling import (
    BUNK_SPEC,
    bunk_features,
    endec_features,
    extract_patches,
    iter_feature_strips,
    laplacian_residual,
    laplacian_residual_batch,
    radon_projector,
    reorient_features,
)
from forensics_core.models.resampling_lstm import ResamplingLSTM
from forensics_core.models.resampling_mlp import RESAMPLING_CLASSES, ResamplingMLP
from forensics_core.synth.data import find_data_root
from tests.planted import noisy_image_with_planted_region, write_png


# ---- features: known answers ----------------------------------------------------------------
@pytest.mark.parametrize("size, n_angles, bins", [(64, 18, 91), (32, 10, 46)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_radon_operator_equals_skimage(size, n_angles, bins, dtype):
    projector = radon_projector(size, n_angles)
    patches = np.random.default_rng(size).random((4, size, size)).astype(dtype)
    ours = projector.project(torch.from_numpy(patches)).numpy()
    assert ours.shape == (4, n_angles, bins)
    for patch, projection in zip(patches, ours, strict=True):
        reference = radon(patch, theta=np.linspace(0, 180, n_angles, endpoint=False), circle=False)
        np.testing.assert_allclose(projection.T, reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())


def test_laplacian_residual_of_ramp_is_zero_and_matches_hand_values():
    yy, xx = np.mgrid[0:12, 0:16].astype(np.float32)
    ramp = 0.25 * xx + 0.5 * yy  # exactly representable: the Laplacian is exactly 0
    assert np.all(laplacian_residual(ramp)[1:-1, 1:-1] == 0.0)
    impulse = np.zeros((3, 3), np.float32)
    impulse[1, 1] = 1.0
    # 4-neighbour Laplacian, mirrored borders: centre -4, edge midpoints 2 (the centre counted twice).
    r2 = np.sqrt(2.0)
    expected = np.array([[0, r2, 0], [r2, 2, r2], [0, r2, 0]], np.float32)
    np.testing.assert_allclose(laplacian_residual(impulse), expected, rtol=1e-6)
    colour = np.stack([impulse, 4 * impulse, np.zeros_like(impulse)], axis=-1)
    np.testing.assert_allclose(laplacian_residual(colour), expected * (1 + 2 + 0) / 3, rtol=1e-6)


def test_torch_residual_equals_numpy_residual():
    image = np.random.default_rng(1).random((20, 24, 3)).astype(np.float32)
    batch = torch.from_numpy(image.transpose(2, 0, 1)[None].copy())
    np.testing.assert_allclose(laplacian_residual_batch(batch)[0].numpy(), laplacian_residual(image), atol=1e-6)


def test_feature_lengths_and_bunk_definition():
    patches = np.random.default_rng(2).random((3, 64, 64))
    features = bunk_features(patches).numpy()
    assert features.shape == (3, 874) == (3, BUNK_SPEC.n_features)
    assert endec_features(np.random.default_rng(3).random((2, 32, 32))).shape == (2, 240)
    sinogram = radon(patches[1], theta=np.linspace(0, 180, 18, endpoint=False), circle=False)
    magnitude = np.abs(np.fft.rfft(sinogram, axis=0)).T          # (18 angles, 46 frequencies)
    average = magnitude.mean(axis=0)
    expected = np.concatenate([magnitude / average, average[None]]).ravel()
    np.testing.assert_allclose(features[1], expected, rtol=1e-9)


def _relative_difference(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return float(torch.linalg.norm(ours - reference) / torch.linalg.norm(reference))


def test_reoriented_features_equal_the_features_of_the_flipped_or_turned_patch():
    spec, compute, size = BUNK_SPEC, bunk_features, BUNK_SPEC.patch_size
    yy, xx = np.mgrid[0:size, 0:size]
    # Two plane waves in different directions: spectra that differ strongly from angle to angle.
    patch = (np.cos(0.9 * xx + 0.35 * yy) + 0.5 * np.cos(0.3 * xx - 1.1 * yy)
             + 0.1 * np.random.default_rng(7).random((size, size)))
    own = compute(patch[None])
    turned = {"mirror": np.fliplr(patch), "rotate90": np.rot90(patch), "transpose": patch.T}
    for orientation, image in turned.items():
        direct = compute(np.ascontiguousarray(image)[None])
        assert _relative_difference(reorient_features(own, spec, orientation), direct) < 0.03
        assert _relative_difference(own, direct) > 0.1  # the orientation does change the features
    np.testing.assert_allclose(reorient_features(own, spec, "transpose"), compute(np.ascontiguousarray(patch.T)[None]),
                               rtol=1e-9, atol=1e-12)  # the transposition is an exact permutation
    assert torch.equal(reorient_features(own, spec, "identity"), own)
    with pytest.raises(ValueError):
        reorient_features(own, spec, "rotate45")


def _mean_spectrum(patches: list[np.ndarray]) -> np.ndarray:
    residuals = np.stack([laplacian_residual(p) for p in patches]).astype(np.float64)
    projections = radon_projector(64, 18).project(torch.from_numpy(residuals)).numpy()
    return np.abs(np.fft.rfft(projections, axis=2)).mean(axis=0)  # (angles, frequencies)


def test_upsampling_leaves_a_periodic_peak_in_the_projection_spectra():
    """The paper's premise: interpolation makes the residual periodic, a peak in |FFT(projection)|."""
    noise = np.random.default_rng(4).random((256, 256)).astype(np.float32)
    upsampled = cv2.resize(noise, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
    corners = [(i, j) for i in (0, 96, 180) for j in (0, 96, 180)]
    spectra = {name: _mean_spectrum([image[i:i + 64, j:j + 64] for i, j in corners])[:, 6:]
               for name, image in (("pristine", noise), ("upsampled", upsampled))}
    ratio = {name: float((s.max(axis=1) / s.mean(axis=1)).max()) for name, s in spectra.items()}
    assert ratio["upsampled"] > 1.25 * ratio["pristine"]
    # Scaling by 3/2 makes the interpolation weights repeat every 2 output pixels out of 3 source
    # periods: a peak at 1/3 cycle per pixel, bin 91/3 ~ 30 of the 0-degree projection.
    assert abs(int(np.argmax(spectra["upsampled"][0])) + 6 - 91 / 3) <= 1


def test_patch_grid_is_centred_on_cells_and_strips_match_batch_features():
    residual = np.random.default_rng(5).random((37, 50)).astype(np.float32)
    patches = extract_patches(residual, 16, 8)
    assert patches.shape == (5, 7, 16, 16)
    # Patch (i, j) starts 4 pixels before cell (i, j): its rows 4..11 are the cell's block rows.
    assert np.array_equal(patches[2, 3, 4:12, 4:12], residual[16:24, 24:32])
    big = np.random.default_rng(6).random((40, 72)).astype(np.float32)
    strips = list(iter_feature_strips(big, BUNK_SPEC, 8, strip_patches=20))
    assert len(strips) > 1 and strips[-1][1] == 5
    together = torch.cat([features for _, _, features in strips])
    direct = bunk_features(extract_patches(big, 64, 8).reshape(-1, 64, 64).copy())
    np.testing.assert_allclose(together.numpy(), direct.numpy(), rtol=1e-5, atol=1e-6)


# ---- detector contract ----------------------------------------------------------------------
class _NoiseLevel(nn.Module):
    """A stand-in classifier: probability rises with the patch's average residual spectrum."""

    def __init__(self, centre: float) -> None:
        super().__init__()
        self.centre = centre

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        level = features[:, -46:].mean(dim=1, keepdim=True).log()
        return torch.cat([torch.zeros_like(level), 8.0 * (level - self.centre)], dim=1)


@pytest.fixture(scope="module")
def planted_image(tmp_path_factory):
    rgb, mask = noisy_image_with_planted_region(height=192, width=256)
    path = write_png(tmp_path_factory.mktemp("img") / "planted.png", rgb)
    return load_evidence(path), mask


def _noise_level_centre(evidence) -> float:
    residual = laplacian_residual(evidence.luminance())
    features = torch.cat([f for _, _, f in iter_feature_strips(residual, BUNK_SPEC, 8)])
    levels = features[:, -46:].mean(dim=1).log()
    return float(levels.median() + levels.max()) / 2


def test_detector_contract_with_injected_models(planted_image):
    evidence, truth = planted_image
    centre = _noise_level_centre(evidence)
    detector = ResamplingDetector({name: _NoiseLevel(centre) for name in RESAMPLING_CLASSES})
    calls = []
    result = detector.run(evidence, progress=lambda f, m: calls.append(f), device="cpu")
    assert result.heatmap.shape == (evidence.height, evidence.width) == truth.shape
    assert result.heatmap.dtype == np.float32 and 0.0 <= result.heatmap.min() <= result.heatmap.max() <= 1.0
    assert set(result.extra_maps) == {f"{kind}/{name}" for kind in ("raw", "filtered") for name in RESAMPLING_CLASSES}
    assert all(m.shape == truth.shape for m in result.extra_maps.values())
    assert list(result.per_class) == list(RESAMPLING_CLASSES)
    assert all(len(c.counts) + 1 == len(c.edges) and c.map_name in result.extra_maps
               for c in result.per_class.values())
    assert result.summary()["per_class"]["shearing"]["histogram"]["counts"] == list(result.per_class["shearing"].counts)
    assert len(calls) >= 3 and calls[-1] == 1.0
    # Every stand-in flags the noisier rectangle: all maps bimodal, the mask covers the rectangle
    # (widened by up to half a 64-pixel patch), the heatmap ranks its pixels first.
    assert all(c.kept and c.confidence is not None for c in result.per_class.values())
    hits = (result.mask & truth).sum()
    assert hits / truth.sum() > 0.9 and hits / result.mask.sum() > 0.4 and result.score > 0.3
    assert metrics.pixel_auc(result.heatmap, truth) > 0.95


def test_deviation_heatmap_ranks_a_region_that_departs_either_way():
    background = np.full((40, 50), 0.6, np.float32)
    higher, lower = background.copy(), background.copy()
    higher[5:15, 5:15] = 0.9  # a region more "resampled" than the rest
    lower[5:15, 5:15] = 0.1  # ... and one less "resampled" than the rest
    heatmap = deviation_heatmap([higher, lower])
    assert heatmap.dtype == np.float32
    assert np.allclose(heatmap[5:15, 5:15], (0.3 + 0.5) / 2) and np.allclose(heatmap[20:, 20:], 0.0)


def test_signature_anomaly_ranks_a_departing_block_on_a_strictly_increasing_scale():
    rng = np.random.default_rng(8)
    log_odds = rng.normal(0.0, 1.0, (30, 40, 12))
    log_odds[5:13, 20:30, 3] += 4.0  # a block whose signature departs along one coordinate
    truth = np.zeros((30, 40), bool)
    truth[5:13, 20:30] = True
    anomaly = signature_anomaly(log_odds, stride=16, window=48)
    assert anomaly.dtype == np.float32 and 0.0 < anomaly.min() and anomaly.max() < 1.0
    assert metrics.pixel_auc(anomaly, truth) > 0.99
    # Logistic scale: the image's median at 0.05, no ties made by clipping below it.
    assert abs(float(np.median(anomaly)) - 0.05) < 0.01
    assert len(np.unique(anomaly)) > 0.9 * anomaly.size


def test_refine_puts_coarse_cells_on_every_second_grid_cell():
    coarse = np.arange(12, dtype=np.float32).reshape(3, 4)
    fine = _refine(coarse, (6, 7), 2)
    assert fine.shape == (6, 7)
    assert np.array_equal(fine[::2, ::2], coarse)
    assert fine[1, 1] == pytest.approx(coarse[:2, :2].mean())
    assert np.array_equal(fine[5], fine[4])  # past the last coarse row: its value


@pytest.mark.parametrize("mode", HEATMAP_MODES)
def test_every_heatmap_mode_ranks_the_planted_region(planted_image, mode):
    evidence, truth = planted_image
    detector = ResamplingDetector({name: _NoiseLevel(_noise_level_centre(evidence)) for name in RESAMPLING_CLASSES})
    result = detector.run(evidence, params={"heatmap": mode, "use_random_walker": False}, device="cpu")
    assert 0.0 <= result.heatmap.min() <= result.heatmap.max() <= 1.0
    assert metrics.pixel_auc(result.heatmap, truth) > 0.95
    assert result.provenance["parameters"]["heatmap"] == mode


def test_detector_with_random_tiny_models_and_cancel(planted_image):
    evidence, _ = planted_image
    torch.manual_seed(0)
    models = {name: ResamplingMLP(hidden=8) for name in RESAMPLING_CLASSES}
    result = ResamplingDetector(models).run(evidence, params={"use_random_walker": False, "stride": 16})
    assert result.heatmap.shape == (evidence.height, evidence.width)
    checks = iter(range(1000))
    with pytest.raises(Cancelled):
        ResamplingDetector(models).run(evidence, cancel=lambda: next(checks) >= 3)


def test_anomaly_heatmap_of_a_panorama_processed_one_grid_row_at_a_time(tmp_path):
    # 525 grid columns: every feature strip is one grid row, half of them between coarse rows.
    rgb = np.random.default_rng(9).integers(0, 256, (40, 4200, 3), dtype=np.uint8)
    evidence = load_evidence(write_png(tmp_path / "panorama.png", rgb))
    torch.manual_seed(0)
    models = {name: ResamplingMLP(hidden=8) for name in RESAMPLING_CLASSES}
    result = ResamplingDetector(models).run(evidence, params={"use_random_walker": False})
    assert result.heatmap.shape == (40, 4200) and np.all(np.isfinite(result.heatmap))
    assert 0.0 < result.heatmap.min() <= result.heatmap.max() < 1.0


def test_lstm_detector_with_injected_model(planted_image):
    evidence, _ = planted_image
    torch.manual_seed(0)
    result = ResamplingLSTMDetector(ResamplingLSTM(hidden=8, layers=1)).run(evidence, params={"window_stride": 2})
    assert result.heatmap.shape == (evidence.height, evidence.width)
    assert 0.0 <= result.heatmap.min() <= result.heatmap.max() <= 1.0


@pytest.mark.parametrize("detector_id", ["resampling", "resampling-lstm"])
def test_untrained_detector_refuses_to_run(detector_id, planted_image, tmp_path, monkeypatch):
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    detector = get_detector(detector_id)
    assert not detector.is_trained()
    with pytest.raises(ForensicsError, match="not trained"):
        detector.run(planted_image[0])


# ---- training -------------------------------------------------------------------------------
@pytest.mark.shared
@pytest.mark.slow
def test_recipe_trains_and_writes_six_manifest_entries(tmp_path, planted_image, monkeypatch):
    if find_data_root() is None:
        pytest.skip("no ../shared/data: the training photographs are missing")
    from forensics_core.training import get_recipe
    from forensics_core.training.harness import train
    from forensics_core.weights import read_manifest

    recipe = get_recipe("resampling")
    config = recipe.profiles["cpu"].updated(steps=5, batch_size=24, val_every=5, checkpoint_every=5,
                                            val_samples=48, val_batch_size=24, num_workers=0,
                                            extra={"stats_samples": 48})
    outcome = train(recipe, config, torch.device("cpu"), tmp_path / "run", tmp_path, resume=False,
                    show_progress=False)
    models = read_manifest(tmp_path)["models"]
    assert sorted(models) == sorted(f"resampling/{name}" for name in RESAMPLING_CLASSES)
    for name in RESAMPLING_CLASSES:
        entry = models[f"resampling/{name}"]
        assert len(entry["sha256"]) == 64 and (tmp_path / entry["file"]).is_file()
        assert entry["validation"]["level"] == "patch" and "auc" in entry["validation"]
    assert outcome.steps == 5
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    detector = get_detector("resampling")
    assert detector.is_trained()
    result = detector.run(planted_image[0], params={"stride": 16})
    assert set(result.provenance["weights_sha256"]) == {f"resampling/{n}" for n in RESAMPLING_CLASSES}
