"""Splicebuster: blind splicing localisation from residual co-occurrences and a two-class EM.

D. Cozzolino, G. Poggi and L. Verdoliva, "Splicebuster: a new blind image splicing detector",
IEEE International Workshop on Information Forensics and Security (WIFS), 2015. No training: the
image's own statistics separate the host from a region that came from another camera or pipeline.

1. **Residuals.** The luminance (0..255) is filtered by the third-order high-pass filter
   ``[1, -3, 3, -1]`` horizontally and vertically; the residuals are quantised with a step
   ``q`` and truncated to {-1, 0, 1} (:func:`forensics_core.features.srm.directional_codes`).
2. **Co-occurrences.** Four neighbouring quantised residuals along the filter direction form one
   code; sign and direction symmetries pool the 81 codes into 25 classes, so the horizontal and
   vertical residuals give a 50-bin histogram.
3. **Local features.** Histograms are accumulated on ``stride``-pixel cells and summed over
   sliding ``window``-pixel windows (one window per cell), each direction normalised to sum 1.
4. **Dimensionality reduction.** The windows' feature vectors are projected onto their first
   ``components`` principal components. PCA and EM are fitted on at most 20 000 windows spread
   evenly over the image (all of them below about 1.3 megapixels) and applied to every window.
5. **Two-class model.** EM fits the host as a Gaussian and the spliced windows as a uniform
   (default) or a second Gaussian (:mod:`forensics_core.features.mixture`).
6. **Heatmap.** The log-likelihood ratio of the spliced class against the host (for the
   Gaussian-uniform model a shifted squared Mahalanobis distance from the host) as the posterior
   probability of being spliced, interpolated from the window centres to every pixel; 0.5 is the
   decision threshold.

The image score is the estimated prior of the spliced class: the share of windows that the model
explains better as foreign than as host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.features.mixture import fit_gaussian_uniform, fit_two_gaussians
from forensics_core.features.srm import MIN_SIDE, N_SYMMETRIC_CLASSES, directional_codes
from forensics_core.features.windows import cell_histograms, upsample_window_map, window_sums

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Fewest windows on which a two-class model is fitted.
MIN_WINDOWS = 16
#: Most windows on which PCA and EM are fitted; the model is then applied to every window.
MAX_FIT_WINDOWS = 20_000


def window_features(luminance: np.ndarray, window: int, stride: int, step: float,
                    reporter: ProgressReporter) -> np.ndarray:
    """Co-occurrence histograms of every window (steps 1-3): ``(rows, cols, 50)``, each half summing to 1.

    Window ``(i, j)`` covers ``window`` pixels from ``(i*stride, j*stride)`` of the code maps, i.e.
    of the image shifted by the residual and tuple support (see :func:`directional_codes`).
    """
    codes = directional_codes(luminance * 255.0, step,
                              done=lambda d: reporter.update(0.15 + 0.15 * d, "Computing residual co-occurrences"))
    reporter.update(0.3, "Accumulating co-occurrence histograms")
    cells = np.concatenate([cell_histograms(codes[d], stride, N_SYMMETRIC_CLASSES) for d in range(2)], axis=2)
    del codes
    reporter.update(0.45, "Summing windows")
    sums = window_sums(cells, window // stride)
    halves = sums.reshape(*sums.shape[:2], 2, N_SYMMETRIC_CLASSES)
    halves /= np.maximum(halves.sum(axis=3, keepdims=True), 1.0)
    return sums


def principal_axes(features: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and first ``components`` principal axes (D x components) of the rows of ``features``."""
    mean = features.mean(axis=0)
    centred = features - mean
    # NumPy's own loops rather than BLAS (see forensics_core.features.mixture): faster on a busy machine.
    covariance = np.einsum("ni,nj->ij", centred, centred) / max(len(features) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    return mean, eigenvectors[:, np.argsort(eigenvalues)[::-1][:components]]


def regular_sample(count: int, limit: int) -> np.ndarray:
    """At most ``limit`` indices spread evenly over ``range(count)``."""
    return np.unique(np.linspace(0, count - 1, min(count, limit)).astype(np.int64))


@register_detector
class SplicebusterDetector(Detector):
    """Splicebuster (Cozzolino, Poggi and Verdoliva, WIFS 2015)."""

    id = "splicebuster"
    display_name = "Splicebuster (residual co-occurrences, EM)"
    reference = ("D. Cozzolino, G. Poggi and L. Verdoliva, \"Splicebuster: a new blind image splicing "
                 "detector\", IEEE WIFS 2015")
    version = "1.0"
    score_definition = "prior of the spliced class in the fitted two-class model (EM)"
    description = (
        "Co-occurrences of quantised third-order residuals on sliding windows, reduced by PCA; an "
        "EM-fitted host model (Gaussian) against a foreign model (uniform or Gaussian) gives the "
        "probability that each window was spliced in. No training. Score: estimated spliced share."
    )
    limitations = (
        "It needs a spliced region of at least a few windows; pasted regions smaller than the window "
        "are diluted and missed.",
        "Regions with very different content statistics (saturated, flat sky, dense foliage) can be "
        "taken for the foreign class in a pristine photograph.",
        "A region from a camera and pipeline with the same noise residual statistics is invisible.",
        "Strong JPEG compression or resizing of the whole image wipes out the residual differences.",
    )
    needs_weights = False
    parameters = (
        Parameter("window", int, 64, "Window (px)", "Side of the sliding window of each feature vector.", 32, 512),
        Parameter("stride", int, 8, "Stride (px)", "Step between windows; the window must be a multiple.", 4, 64),
        Parameter("quantisation", float, 2.0, "Quantisation step",
                  "Step q of the residual quantiser on the 0..255 scale.", 0.5, 16.0),
        Parameter("components", int, 6, "PCA components", "Dimensions kept after PCA.", 2, 50),
        Parameter("model", str, "gaussian-uniform", "Model",
                  "Two-class model fitted by EM: host Gaussian against a uniform or a second Gaussian. "
                  "With two Gaussians the larger class is taken as the host; when both come out near half "
                  "the windows the map can be inverted (the uniform model does not have this problem).",
                  choices=("gaussian-uniform", "gaussian-gaussian")),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: "torch.device") -> Analysis:
        """Window features, PCA, EM and the posterior map of the spliced class."""
        from scipy.special import expit  # SciPy loads when a run starts, not when detectors are listed

        stride = params["stride"]
        usable = min(evidence.height, evidence.width) - MIN_SIDE + 1
        window = min(params["window"], usable) // stride * stride
        if window < stride or (usable - window) // stride + 1 < 4:
            raise ForensicsError(
                f"Splicebuster needs an image several windows wide; {evidence.width}x{evidence.height} is too "
                f"small for a {params['window']}-px window (lower the window or the stride).")
        reporter.update(0.05, "Computing residual co-occurrences", force=True)
        features = window_features(evidence.luminance(), window, stride, params["quantisation"], reporter)
        rows, cols = features.shape[:2]
        if rows * cols < MIN_WINDOWS:
            raise ForensicsError(f"Splicebuster found only {rows * cols} windows; lower the window or the stride.")
        reporter.update(0.55, "Principal component analysis")
        vectors = features.reshape(rows * cols, -1)
        sample = vectors[regular_sample(len(vectors), MAX_FIT_WINDOWS)]
        mean, axes = principal_axes(sample, params["components"])
        tick = lambda f: reporter.update(0.6 + 0.3 * f, "Fitting the two-class model (EM)")  # noqa: E731
        fitter = fit_gaussian_uniform if params["model"] == "gaussian-uniform" else fit_two_gaussians
        fit = fitter(np.einsum("nd,dk->nk", sample - mean, axes), tick=tick)
        log_ratio, distance = fit.log_ratio(np.einsum("nd,dk->nk", vectors - mean, axes))
        posterior = expit(log_ratio).reshape(rows, cols)
        reporter.update(0.92, "Interpolating the heatmap", force=True)
        origin = (MIN_SIDE - 1) / 2.0  # a code at (i, j) describes pixels i..i+6 / j..j+6
        heatmap = upsample_window_map(posterior, window, stride, evidence.height, evidence.width, origin)
        return Analysis(
            heatmap=heatmap,
            score=fit.foreign_prior,
            threshold=0.5,
            extra={"window": window, "stride": stride, "windows": int(rows * cols), "model": params["model"],
                   "em_iterations": fit.iterations, "foreign_prior": fit.foreign_prior,
                   "median_mahalanobis": float(np.median(distance))},
        )
