"""Splicebuster (Cozzolino, Poggi and Verdoliva, WIFS 2015): the pooled co-occurrence codes, the
two-class EM, and localisation of regions pasted from differently processed camera pictures."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.errors import ForensicsError
from forensics_core.evidence import load_evidence
from forensics_core.features.mixture import fit_gaussian_uniform, fit_two_gaussians
from forensics_core.features.srm import N_SYMMETRIC_CLASSES, directional_codes, symmetric_classes
from forensics_core.features.windows import cell_histograms, window_sums
from tests.camera_like import SPLICE_KINDS, camera_picture, camera_splice
from tests.planted import write_png


def _code(values: tuple[int, ...]) -> int:
    return int(np.dot(np.asarray(values) + 1, [27, 9, 3, 1]))


def test_symmetric_classes_pool_sign_and_direction():
    classes = symmetric_classes()
    assert classes.shape == (81,) and len(np.unique(classes)) == N_SYMMETRIC_CLASSES
    for values in itertools.product((-1, 0, 1), repeat=4):
        negative = tuple(-v for v in values)
        same = {classes[_code(v)] for v in (values, negative, values[::-1], negative[::-1])}
        assert len(same) == 1
    assert classes[_code((1, 0, 0, 0))] != classes[_code((0, 1, 0, 0))]
    assert np.flatnonzero(classes == classes[_code((0, 0, 0, 0))]).tolist() == [_code((0, 0, 0, 0))]


def test_directional_codes_of_a_cubic_ramp():
    """x = j^3 along rows: the third difference is the constant -6, quantised to -1 everywhere;
    nothing changes down the columns, so the vertical residual is 0."""
    x = np.tile(np.arange(20, dtype=np.float64) ** 3, (15, 1))
    codes = directional_codes(x, step=2.0)
    classes = symmetric_classes()
    assert codes.shape == (2, 15 - 6, 20 - 6)
    assert np.all(codes[0] == classes[_code((-1, -1, -1, -1))])
    assert np.all(codes[1] == classes[_code((0, 0, 0, 0))])


def test_window_sums_equal_direct_sums():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, (40, 56))
    cells = cell_histograms(codes, 8, 5)
    assert cells.shape == (5, 7, 5) and cells.sum() == 40 * 56
    sums = window_sums(cells, 2)
    direct = np.bincount(codes[8:24, 16:32].ravel(), minlength=5)
    np.testing.assert_array_equal(sums[1, 2], direct)


def test_em_separates_a_foreign_cluster():
    rng = np.random.default_rng(0)
    host = rng.normal(0.0, 1.0, (900, 4))
    foreign = rng.normal(0.0, 1.0, (150, 4)) + np.array([6.0, 0.0, 0.0, 0.0])
    x = np.vstack([host, foreign])
    truth = np.r_[np.zeros(900), np.ones(150)]
    for fit in (fit_gaussian_uniform(x), fit_two_gaussians(x)):
        log_ratio, _ = fit.log_ratio(x)
        assert metrics.image_auc(log_ratio, truth) > 0.99
        assert 0.05 < fit.foreign_prior < 0.3


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", SPLICE_KINDS)
def test_splicebuster_localises_a_differently_processed_region(tmp_path, kind, seed):
    rgb, truth = camera_splice(kind, seed=seed)
    evidence = load_evidence(write_png(tmp_path / f"{kind}.png", rgb))
    result = get_detector("splicebuster").run(evidence, device="cpu")
    assert result.heatmap.shape == truth.shape
    assert metrics.pixel_auc(result.heatmap, truth) >= 0.85


def test_score_is_higher_on_the_forgery_and_the_alternative_model_runs(tmp_path):
    detector = get_detector("splicebuster")
    pristine = detector.run(load_evidence(write_png(tmp_path / "p.png", camera_picture(256, 320, 0))), device="cpu")
    forged_rgb, truth = camera_splice("noise", seed=0)
    forged = load_evidence(write_png(tmp_path / "f.png", forged_rgb))
    assert detector.run(forged, device="cpu").score > pristine.score
    gg = detector.run(forged, {"model": "gaussian-gaussian"}, device="cpu")
    assert gg.extra["model"] == "gaussian-gaussian" and 0.0 <= gg.score <= 0.5


def test_too_small_image_is_refused(tmp_path):
    evidence = load_evidence(write_png(tmp_path / "tiny.png", camera_picture(40, 48, 0)))
    with pytest.raises(ForensicsError, match="too small"):
        get_detector("splicebuster").run(evidence, device="cpu")
