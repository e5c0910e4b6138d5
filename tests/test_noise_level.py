"""Local noise level (Lyu, Pan and Zhang, IJCV 2014): the DCT bands, the kurtosis-concentration fit,
known noise levels, and localisation of a region pasted from a noisier or differently demosaiced picture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.fft import dctn

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import ProgressReporter
from forensics_core.detectors.noise_level import block_ac_coefficients, noise_variance, window_noise_variance
from forensics_core.errors import ForensicsError
from forensics_core.evidence import load_evidence
from tests.camera_like import camera_picture, camera_splice
from tests.planted import write_png


def test_block_coefficients_are_the_orthonormal_dct():
    rng = np.random.default_rng(0)
    grey = rng.uniform(0, 255, (8, 12)).astype(np.float32)
    coefficients = block_ac_coefficients(grey)
    assert coefficients.shape == (2, 3, 15)
    reference = dctn(grey[4:8, 8:12].astype(np.float64), norm="ortho").ravel()[1:]
    np.testing.assert_allclose(coefficients[1, 2], reference, rtol=1e-4, atol=1e-3)


def test_kurtosis_concentration_fit_recovers_the_noise_variance():
    """Bands built from the model itself: clean kurtosis K in every band, noise variance 4."""
    clean_variance = np.array([5.0, 10.0, 20.0, 40.0, 80.0, 160.0])
    noisy_variance = clean_variance + 4.0
    kurtosis = 9.0 * (clean_variance / noisy_variance) ** 2
    estimate, fitted = noise_variance(noisy_variance[None], kurtosis[None])
    assert fitted[0] and estimate[0] == pytest.approx(4.0, rel=1e-6)
    flat, fitted_flat = noise_variance(np.full((1, 6), 3.0), np.zeros((1, 6)))
    assert not fitted_flat[0] and flat[0] == pytest.approx(3.0)


def test_white_noise_level_is_found_on_a_textured_picture():
    """A natural-image-like texture (heavy-tailed: sparse Laplacian impulses; falling spectrum: blurred)
    plus white noise of known standard deviation: the median window estimate is within 25 %."""
    rng = np.random.default_rng(3)
    impulses = (rng.laplace(0.0, 100.0, (256, 256)) * (rng.random((256, 256)) < 0.2)).astype(np.float32)
    texture = cv2.GaussianBlur(impulses, (0, 0), 1.0)
    for sigma in (2.0, 4.0, 12.0):
        picture = (128.0 + texture + rng.normal(0.0, sigma, texture.shape)).astype(np.float32)
        variance, fitted = window_noise_variance(picture, 32, 8, ProgressReporter())
        assert float(np.median(np.sqrt(variance))) == pytest.approx(sigma, rel=0.25)
        assert fitted.mean() > 0.5


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["noise", "demosaic"])
def test_noise_level_localises_a_region_with_other_noise(tmp_path, kind, seed):
    rgb, truth = camera_splice(kind, seed=seed)
    result = get_detector("noise-level").run(load_evidence(write_png(tmp_path / "f.png", rgb)), device="cpu")
    assert result.heatmap.shape == truth.shape
    assert metrics.pixel_auc(result.heatmap, truth) >= 0.85
    assert 0.0 < result.extra["kurtosis_fit_share"] <= 1.0


def test_score_rises_with_a_noisier_region(tmp_path):
    detector = get_detector("noise-level")
    pristine = detector.run(load_evidence(write_png(tmp_path / "p.png", camera_picture(256, 320, 0))), device="cpu")
    forged = detector.run(load_evidence(write_png(tmp_path / "f.png", camera_splice("noise", seed=0)[0])),
                          device="cpu")
    assert forged.score > pristine.score


def test_too_small_picture_is_refused(tmp_path):
    evidence = load_evidence(write_png(tmp_path / "tiny.png", camera_picture(40, 48, 0)))
    with pytest.raises(ForensicsError, match="too small"):
        get_detector("noise-level").run(evidence, device="cpu")
