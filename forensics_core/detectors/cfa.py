"""CFA: forgery localisation from colour filter array interpolation artefacts.

P. Ferrara, T. Bianchi, A. De Rosa and A. Piva, "Image forgery localization via fine-grained
analysis of CFA artifacts", IEEE Transactions on Information Forensics and Security 7(5), 2012.

A camera records one colour per photosite through a Bayer filter and interpolates the rest. In
the green channel the recorded ("acquired") pixels form one quincunx lattice and the interpolated
ones the other; interpolated pixels are predicted well from their neighbours, acquired ones are
not. A region pasted from elsewhere (another camera, a resampled or filtered picture) lacks this
trace or carries it on the other lattice.

1. **Prediction error.** The green channel is predicted by bilinear interpolation from its four
   neighbours, ``e = G - (G * K)`` with ``K = [[0, 1, 0], [1, 0, 1], [0, 1, 0]] / 4``.
2. **Local variance.** At every pixel the variance of ``e`` over the pixels *of the same lattice*
   in a ``(2k+1) x (2k+1)`` neighbourhood, with Gaussian weights (a checkerboard kernel).
3. **Bayer pattern estimate.** The acquired green lattice is the one with the larger prediction
   error overall; the red photosite is the non-green position of the 2x2 cell where the red
   channel's own prediction error is largest.
4. **Feature.** On every 2x2 cell, ``L = log(GM_A / GM_I)``: the log-ratio of the geometric means
   of the local variances at its two acquired and its two interpolated green pixels. Where the
   trace is present ``L`` is clearly positive; where it is missing ``L`` is near zero.
5. **Mixture.** ``L`` is modelled as ``N(mu1, s1^2)`` (trace present) mixed with ``N(0, s0^2)``
   (trace absent), fitted by EM.
6. **Map.** The log-likelihood ratio ``log p(L | absent) - log p(L | present)`` of each cell,
   summed over ``cells x cells`` cells, as a posterior probability of "no CFA trace here".

When the picture as a whole shows no trace (the median ``L`` is below :data:`MIN_TRACE`, as after
resizing, strong JPEG compression or in a scanned or synthetic picture), the detector says so and
returns an empty map instead of a map of noise. The image score is the estimated share of the
picture without the trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.features.windows import upsample_window_map

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Bilinear prediction of a green pixel from its four neighbours.
BILINEAR_KERNEL = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32) / 4.0
#: Median cell feature below which the picture is said to show no CFA trace. tests/test_cfa.py checks
#: that camera-like pictures (bilinear or VNG demosaicing) lie well above it and resized or JPEG
#: (quality 90) ones well below; benchmarks/bench_camera_traces.py counts how many pictures of each
#: benchmark show a trace.
MIN_TRACE = 0.2
#: Floor of the local variance (0..255 scale), so that flat or clipped areas give finite logs.
VARIANCE_FLOOR = 1e-3
#: Most cells on which the mixture is fitted and the median feature taken; the mixture is then
#: applied to every cell.
MAX_FIT_CELLS = 50_000
#: Side of the central crop on which the red photosite is located.
PATTERN_CROP = 1024
#: Bayer layouts by the colours of the 2x2 cell at the image origin, row by row.
BAYER_NAMES = {(0, 0): "RGGB", (0, 1): "GRBG", (1, 0): "GBRG", (1, 1): "BGGR"}


def prediction_error(channel: np.ndarray) -> np.ndarray:
    """``channel - bilinear prediction from the four neighbours`` (step 1), float32."""
    return channel - cv2.filter2D(channel, cv2.CV_32F, BILINEAR_KERNEL, borderType=cv2.BORDER_REFLECT)


def lattice_kernel(radius: int, sigma: float) -> np.ndarray:
    """Gaussian weights on the offsets ``(i, j)`` with ``i + j`` even (the same quincunx lattice), sum 1."""
    offsets = np.arange(-radius, radius + 1)
    ii, jj = np.meshgrid(offsets, offsets, indexing="ij")
    weights = np.exp(-(ii ** 2 + jj ** 2) / (2.0 * sigma ** 2)) * ((ii + jj) % 2 == 0)
    return (weights / weights.sum()).astype(np.float32)


def local_variance(error: np.ndarray, radius: int) -> np.ndarray:
    """Weighted variance of ``error`` over the same-lattice neighbourhood of every pixel (step 2)."""
    kernel = lattice_kernel(radius, sigma=radius / 2.0 + 0.5)
    mean = cv2.filter2D(error, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
    mean_square = cv2.filter2D(error * error, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
    return np.maximum(mean_square - mean * mean, VARIANCE_FLOOR)


def cell_log_variances(variance: np.ndarray) -> np.ndarray:
    """``log variance`` at the four positions of every whole 2x2 cell: ``(rows, cols, 4)`` in the
    order (0, 0), (0, 1), (1, 0), (1, 1)."""
    rows, cols = variance.shape[0] // 2, variance.shape[1] // 2
    cells = np.log(variance[:2 * rows, :2 * cols]).reshape(rows, 2, cols, 2)
    return cells.transpose(0, 2, 1, 3).reshape(rows, cols, 4)


def channel_255(evidence: Evidence, channel: int, crop: int | None = None) -> np.ndarray:
    """One colour channel as float32 on the 0..255 scale, optionally a central ``crop`` square
    (its origin kept on even coordinates, so that the Bayer layout is unchanged)."""
    pixels = evidence.pixels[..., channel]
    if crop is not None:
        top = max((pixels.shape[0] - crop) // 4 * 2, 0)
        left = max((pixels.shape[1] - crop) // 4 * 2, 0)
        pixels = pixels[top:top + crop, left:left + crop]
    scale = 255.0 / 65535.0 if pixels.dtype == np.uint16 else 1.0
    return np.multiply(pixels, scale, dtype=np.float32)


def bayer_pattern(red: np.ndarray, green_on_diagonal: bool) -> str:
    """Name of the Bayer layout (step 3) from the red channel, given which green lattice was acquired."""
    red_error = prediction_error(red)
    rows, cols = red_error.shape[0] // 2 * 2, red_error.shape[1] // 2 * 2
    power = [float(np.mean(red_error[r:rows:2, c:cols:2] ** 2)) for r in (0, 1) for c in (0, 1)]
    candidates = [(0, 1), (1, 0)] if green_on_diagonal else [(0, 0), (1, 1)]
    red = max(candidates, key=lambda rc: power[2 * rc[0] + rc[1]])
    return BAYER_NAMES[red]


@dataclass(frozen=True)
class TraceMixture:
    """``(1 - p) N(mu1, s1^2) + p N(0, s0^2)`` of the cell feature: trace present / absent."""

    mean_present: float
    sd_present: float
    sd_absent: float
    prior_absent: float
    iterations: int

    def log_ratio(self, feature: np.ndarray) -> np.ndarray:
        """``log(p f_absent(L)) - log((1 - p) f_present(L))`` for every ``L``."""
        absent = -0.5 * (feature / self.sd_absent) ** 2 - np.log(self.sd_absent) + np.log(self.prior_absent)
        present = (-0.5 * ((feature - self.mean_present) / self.sd_present) ** 2 - np.log(self.sd_present)
                   + np.log1p(-self.prior_absent))
        return absent - present


def fit_trace_mixture(feature: np.ndarray, iterations: int = 100, tolerance: float = 1e-7) -> TraceMixture:
    """EM for :class:`TraceMixture` (step 5), started with the absent class holding the cells nearest 0."""
    from scipy.special import expit  # SciPy loads when a run starts, not when detectors are listed

    feature = np.asarray(feature, dtype=np.float64)
    spread = max(float(np.std(feature)), 1e-3)
    model = TraceMixture(float(np.median(feature)), spread, spread / 2.0, 0.1, 0)
    previous = -np.inf
    for iteration in range(1, iterations + 1):
        log_ratio = model.log_ratio(feature)
        absent = expit(log_ratio)
        present = 1.0 - absent
        # Element-wise products and sums, not BLAS dot products: on a busy machine BLAS threads wait
        # for each other far longer than these few thousand operations take.
        weight = max(float(present.sum()), 1e-9)
        mean = float((present * feature).sum() / weight)
        model = TraceMixture(
            mean_present=mean,
            sd_present=max(float(np.sqrt((present * (feature - mean) ** 2).sum() / weight)), 1e-3),
            sd_absent=max(float(np.sqrt((absent * feature ** 2).sum() / max(float(absent.sum()), 1e-9))), 1e-3),
            prior_absent=float(np.clip(absent.mean(), 1e-4, 0.9)),
            iterations=iteration)
        likelihood = float(np.mean(np.logaddexp(0.0, log_ratio)))
        if abs(likelihood - previous) < tolerance:
            break
        previous = likelihood
    return model


@register_detector
class CFADetector(Detector):
    """CFA interpolation artefacts (Ferrara, Bianchi, De Rosa and Piva, TIFS 2012)."""

    id = "cfa"
    display_name = "CFA interpolation artefacts"
    reference = ("P. Ferrara, T. Bianchi, A. De Rosa and A. Piva, \"Image forgery localization via fine-grained "
                 "analysis of CFA artifacts\", IEEE TIFS 7(5), 2012")
    version = "1.0"
    score_definition = "share of the picture without the CFA trace, from the fitted two-class mixture"
    description = (
        "Looks for the demosaicing trace of a Bayer camera in the green channel, 2x2 cell by 2x2 cell, and "
        "maps where it is missing. Says 'no CFA trace' when the whole picture has none. Score: estimated "
        "share of the picture without the trace."
    )
    limitations = (
        "Only pictures that kept their camera demosaicing trace can be analysed: resizing, strong JPEG "
        "compression, scanning or heavy denoising remove it from the whole picture.",
        "Flat, dark or clipped areas carry almost no trace and can be flagged in an untouched picture.",
        "A region pasted from another Bayer camera with the same pattern and alignment keeps the trace "
        "and is invisible.",
        "Cameras whose demosaicing is far from bilinear (or non-Bayer sensors) give a weak trace.",
    )
    needs_weights = False
    parameters = (
        Parameter("radius", int, 3, "Variance radius (px)",
                  "Half-side of the neighbourhood of the local prediction-error variance.", 1, 8),
        Parameter("cells", int, 8, "Aggregation (cells)",
                  "Side, in 2x2 cells, of the square over which cell log-likelihoods are summed.", 1, 64),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: "torch.device") -> Analysis:
        """Prediction error, local variances, cell features, EM and the log-likelihood map."""
        from scipy.special import expit

        if min(evidence.height, evidence.width) < 16:
            raise ForensicsError("The CFA analysis needs a picture of at least 16x16 pixels.")
        reporter.update(0.05, "Predicting the green channel", force=True)
        variance = local_variance(prediction_error(channel_255(evidence, 1)), params["radius"])
        reporter.update(0.4, "Cell features")
        logs = cell_log_variances(variance)
        del variance
        diagonal = logs[..., 0] + logs[..., 3]
        anti_diagonal = logs[..., 1] + logs[..., 2]
        feature = 0.5 * (diagonal - anti_diagonal)
        del logs, diagonal, anti_diagonal
        step = max(feature.size // MAX_FIT_CELLS, 1)
        sample = feature.ravel()[::step]
        green_on_diagonal = bool(np.median(sample) > 0)
        if not green_on_diagonal:
            feature, sample = -feature, -sample
        trace = float(np.median(sample))
        shape = (evidence.height, evidence.width)
        if trace < MIN_TRACE:
            return Analysis(
                heatmap=np.zeros(shape, np.float32), score=0.0, threshold=0.5,
                extra={"cfa_trace": False, "median_cell_feature": trace,
                       "note": "No CFA trace: the picture shows no demosaicing pattern (median log variance "
                               f"ratio {trace:.3f} < {MIN_TRACE}); it may have been resized, strongly compressed, "
                               "scanned or synthesised, so this analysis cannot say anything about it."})
        reporter.update(0.55, "Estimating the Bayer pattern")
        pattern = bayer_pattern(channel_255(evidence, 0, PATTERN_CROP), green_on_diagonal)
        reporter.update(0.65, "Fitting the trace mixture (EM)")
        model = fit_trace_mixture(sample)
        reporter.update(0.8, "Log-likelihood map")
        log_ratio = model.log_ratio(feature).astype(np.float32)
        side = min(params["cells"], *feature.shape)
        summed = cv2.boxFilter(log_ratio, -1, (side, side), normalize=False, borderType=cv2.BORDER_REFLECT)
        posterior = expit(summed).astype(np.float32)
        heatmap = upsample_window_map(posterior, 2, 2, *shape)
        return Analysis(
            heatmap=heatmap, score=float(np.mean(posterior)), threshold=0.5,
            extra={"cfa_trace": True, "bayer_pattern": pattern, "median_cell_feature": trace,
                   "mean_present": model.mean_present, "sd_present": model.sd_present,
                   "sd_absent": model.sd_absent, "prior_absent": model.prior_absent,
                   "em_iterations": model.iterations},
        )
