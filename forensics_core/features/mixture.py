"""Two-class mixture models fitted by expectation-maximisation, for unsupervised forgery maps.

A questioned image is described by many local feature vectors, most from the untouched host and
possibly some from a pasted region. With no training data the two classes are separated by fitting
a two-component mixture to the image's own vectors (Dempster, Laird and Rubin, J. R. Stat. Soc. B
39(1), 1977):

- :func:`fit_gaussian_uniform`: the host is Gaussian, anything else is uniform over the range of
  the data (Splicebuster's default: the spliced region is not assumed to be homogeneous);
- :func:`fit_two_gaussians`: both classes are Gaussian (Splicebuster's alternative).

Both return a :class:`MixtureFit` whose :meth:`~MixtureFit.log_ratio` gives, for any vector, the
log-likelihood ratio ``log(pi1 f1(x)) - log(pi0 f0(x))`` of the second (minority, "foreign") class
against the host, so that ``sigmoid(log_ratio)`` is the posterior probability of being foreign. A
model may be fitted on a sample of the vectors and applied to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from forensics_core.anomaly import robust_mean_and_covariance

#: Fraction of the mean variance added to a covariance's diagonal, so that it stays invertible.
RIDGE = 1e-6
#: Bounds on the prior of the foreign class.
MIN_PRIOR, MAX_PRIOR = 1e-4, 0.5


@dataclass(frozen=True)
class MixtureFit:
    """A fitted two-class model: the host Gaussian, the foreign class and its prior.

    ``foreign_mean`` and ``foreign_covariance`` are ``None`` for the uniform foreign class, whose
    log density is ``log_uniform``.
    """

    host_mean: np.ndarray
    host_covariance: np.ndarray
    foreign_prior: float
    log_uniform: float
    foreign_mean: np.ndarray | None
    foreign_covariance: np.ndarray | None
    iterations: int

    def log_ratio(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log(pi1 f1(x)) - log(pi0 f0(x))`` for each row of ``x``, and its squared Mahalanobis
        distance from the host Gaussian."""
        x = np.asarray(x, dtype=np.float64)
        log_host, distance = gaussian_log_density(x, self.host_mean, self.host_covariance)
        if self.foreign_mean is None:
            log_foreign = np.full(len(x), self.log_uniform)
        else:
            log_foreign = gaussian_log_density(x, self.foreign_mean, self.foreign_covariance)[0]
        prior = self.foreign_prior
        return (np.log(prior) + log_foreign) - (np.log1p(-prior) + log_host), distance


def _regularised(covariance: np.ndarray) -> np.ndarray:
    scale = max(float(np.trace(covariance)) / len(covariance), 1e-12)
    return covariance + RIDGE * scale * np.eye(len(covariance))


# The products below are NumPy's own loops (einsum without optimisation), not BLAS calls: with
# N x D arrays of a few dimensions, BLAS threads on a busy machine wait for each other far longer
# than the arithmetic takes (measured: a 50x slowdown of the whole fit at a load of 12 on 2 cores).

def _weighted_gaussian(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = max(float(weights.sum()), 1e-12)
    mean = np.einsum("n,nd->d", weights, x) / total
    centred = x - mean
    covariance = np.einsum("n,ni,nj->ij", weights, centred, centred) / total
    return mean, _regularised(covariance)


def gaussian_log_density(x: np.ndarray, mean: np.ndarray, covariance: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Log density of ``N(mean, covariance)`` at each row of ``x`` and the squared Mahalanobis distance."""
    cholesky = np.linalg.cholesky(covariance)
    whitened = np.einsum("ij,nj->ni", np.linalg.inv(cholesky), x - mean)
    distance = np.einsum("ni,ni->n", whitened, whitened)
    log_det = 2.0 * np.log(np.diag(cholesky)).sum()
    return -0.5 * (distance + log_det + x.shape[1] * np.log(2.0 * np.pi)), distance


def fit_gaussian_uniform(x: np.ndarray, iterations: int = 50, initial_prior: float = 0.05,
                         tolerance: float = 1e-6, tick: Callable[[float], None] | None = None) -> MixtureFit:
    """EM for ``(1 - pi) N(mu, Sigma) + pi U``, U uniform over the bounding box of ``x`` (N x D).

    The Gaussian starts from the robust mean and covariance of the half of the vectors nearest the
    coordinate-wise median (:func:`forensics_core.anomaly.robust_mean_and_covariance`), so that a
    foreign region covering a sizeable part of the image does not start inside the host model;
    EM stops after ``iterations`` or when the mean log-likelihood improves by less than ``tolerance``.
    """
    from scipy.special import expit

    x = np.asarray(x, dtype=np.float64)
    span = np.maximum(x.max(axis=0) - x.min(axis=0), 1e-12)
    log_uniform = -float(np.log(span).sum())
    fit = MixtureFit(*robust_mean_and_covariance(x, inlier_fraction=0.5, ridge=RIDGE), initial_prior,
                     log_uniform, None, None, 0)
    previous = -np.inf
    for iteration in range(1, iterations + 1):
        log_ratio, _ = fit.log_ratio(x)
        foreign = expit(log_ratio)
        log_host = gaussian_log_density(x, fit.host_mean, fit.host_covariance)[0] + np.log1p(-fit.foreign_prior)
        likelihood = float(np.mean(np.logaddexp(log_host + log_ratio, log_host)))
        fit = MixtureFit(*_weighted_gaussian(x, 1.0 - foreign),
                         float(np.clip(foreign.mean(), MIN_PRIOR, MAX_PRIOR)), log_uniform, None, None, iteration)
        if tick is not None:
            tick(iteration / iterations)
        if likelihood - previous < tolerance:
            break
        previous = likelihood
    return fit


def fit_two_gaussians(x: np.ndarray, iterations: int = 50, tolerance: float = 1e-6,
                      tick: Callable[[float], None] | None = None) -> MixtureFit:
    """EM for ``(1 - pi) N(mu0, Sigma0) + pi N(mu1, Sigma1)`` on ``x`` (N x D).

    Initialised from the Gaussian-uniform fit (its foreign posterior splits the vectors); the
    class with the smaller prior at the end is reported as foreign.
    """
    from scipy.special import expit

    x = np.asarray(x, dtype=np.float64)
    start = fit_gaussian_uniform(x, iterations=10)
    log_ratio, distance = start.log_ratio(x)
    foreign = expit(log_ratio)
    if foreign.sum() < 1.0:  # nothing stands out: split off the farthest tenth
        foreign = (distance >= np.quantile(distance, 0.9)).astype(np.float64)
    previous = -np.inf
    for iteration in range(1, iterations + 1):
        prior = float(np.clip(foreign.mean(), MIN_PRIOR, 1.0 - MIN_PRIOR))
        fit = MixtureFit(*_weighted_gaussian(x, 1.0 - foreign), prior, 0.0, *_weighted_gaussian(x, foreign),
                         iteration)
        log_ratio, _ = fit.log_ratio(x)
        log_host = gaussian_log_density(x, fit.host_mean, fit.host_covariance)[0] + np.log1p(-prior)
        likelihood = float(np.mean(np.logaddexp(log_host + log_ratio, log_host)))
        foreign = expit(log_ratio)
        if tick is not None:
            tick(iteration / iterations)
        if likelihood - previous < tolerance:
            break
        previous = likelihood
    if fit.foreign_prior > 0.5:  # the larger class is the host
        return MixtureFit(fit.foreign_mean, fit.foreign_covariance, 1.0 - fit.foreign_prior, 0.0,
                          fit.host_mean, fit.host_covariance, fit.iterations)
    return fit
