"""Outlier scores of feature vectors against the bulk of one image (robust Mahalanobis distance).

Plain NumPy functions used by detectors that look for the part of an image whose local signature
departs from the rest of it (a spliced region among untouched background).
"""

from __future__ import annotations

import numpy as np

#: MAD of a normal distribution times this is its standard deviation.
MAD_TO_SIGMA = 1.4826


def _median_and_scale(values: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Median and ``1.4826 MAD`` (the robust standard deviation) of ``values`` along ``axis``."""
    median = np.median(values, axis=axis)
    return median, MAD_TO_SIGMA * np.median(np.abs(values - median), axis=axis)


def robust_mahalanobis(values: np.ndarray, inlier_fraction: float = 0.5, ridge: float = 1e-3) -> np.ndarray:
    """Squared Mahalanobis distance of each row of ``values`` (N x D) from the bulk of the rows.

    The bulk is estimated robustly, so that a minority of outlying rows (a manipulated region)
    does not pull the estimate towards itself: every row is first scored by its
    coordinate-wise distance from the median, each coordinate scaled by its MAD; the
    ``inlier_fraction`` of rows nearest the median give the mean and covariance (a one-step
    reweighting in the spirit of the minimum covariance determinant estimator, Rousseeuw 1984).
    ``ridge`` times the mean variance is added to the diagonal, so that constant or collinear
    coordinates do not make the covariance singular. Returns N float64 squared distances.
    """
    values = np.asarray(values, dtype=np.float64)
    mean, covariance = robust_mean_and_covariance(values, inlier_fraction, ridge)
    centred = values - mean
    return np.einsum("ij,ij->i", centred @ np.linalg.inv(covariance), centred)


def robust_mean_and_covariance(values: np.ndarray, inlier_fraction: float = 0.5, ridge: float = 1e-3
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the bulk of the rows of ``values`` (N x D), as in :func:`robust_mahalanobis`."""
    if not 0.0 < inlier_fraction <= 1.0:
        raise ValueError(f"inlier_fraction must be in (0, 1], got {inlier_fraction}")
    values = np.asarray(values, dtype=np.float64)
    median, scale = _median_and_scale(values, axis=0)
    scale[scale <= 0] = 1.0
    rough = (((values - median) / scale) ** 2).sum(axis=1)
    inliers = rough <= np.quantile(rough, inlier_fraction)
    bulk = values[inliers]
    mean = bulk.mean(axis=0)
    covariance = np.atleast_2d(np.cov(bulk, rowvar=False)) if len(bulk) > 1 else np.eye(values.shape[1])
    covariance = covariance + ridge * max(float(np.trace(covariance)) / len(covariance), 1e-12) * np.eye(len(covariance))
    return mean, covariance


def robust_standard_score(values: np.ndarray) -> np.ndarray:
    """``(values - median) / (1.4826 MAD)``: how many robust standard deviations above typical.

    A constant array (MAD 0) gives all zeros. Returns float32 of the same shape.
    """
    median, scale = _median_and_scale(values, axis=None)
    if scale <= 0:
        return np.zeros(values.shape, dtype=np.float32)
    return ((values - median) / scale).astype(np.float32)
