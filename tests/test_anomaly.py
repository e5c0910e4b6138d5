"""Known answers of the outlier scores in forensics_core.anomaly."""

import numpy as np
import pytest

from forensics_core.anomaly import robust_mahalanobis, robust_standard_score


def test_robust_mahalanobis_of_gaussian_bulk_and_planted_outliers():
    rng = np.random.default_rng(1)
    correlated = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.0, 0.0, 0.1]])
    bulk = rng.normal(size=(4000, 3)) @ correlated.T
    # A minority displaced along the bulk's smallest axis: small in Euclidean terms, far in Mahalanobis.
    outliers = rng.normal(size=(400, 3)) @ correlated.T + np.array([0.0, 0.0, 1.0])
    distances = robust_mahalanobis(np.vstack([bulk, outliers]))
    # Inliers: about chi-square with 3 degrees of freedom (mean 3), once the reweighted covariance
    # (estimated on the inner half) is accounted for; outliers rank above almost all inliers.
    assert 1.5 < np.median(distances[:4000]) < 6.0
    assert np.mean(distances[4000:] > np.quantile(distances[:4000], 0.99)) > 0.95


def test_robust_mahalanobis_rejects_bad_fraction_and_handles_constant_columns():
    values = np.column_stack([np.arange(100.0), np.ones(100)])
    assert np.all(np.isfinite(robust_mahalanobis(values)))
    with pytest.raises(ValueError):
        robust_mahalanobis(values, inlier_fraction=0.0)


def test_robust_standard_score_known_answer():
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD 1 -> scale 1.4826
    assert np.allclose(robust_standard_score(values), (values - 3.0) / 1.4826)
    assert not robust_standard_score(np.full(4, 2.0)).any()
