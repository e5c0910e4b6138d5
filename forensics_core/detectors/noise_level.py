"""Local noise level: blind noise estimation from band-pass kurtosis concentration.

S. Lyu, X. Pan and X. Zhang, "Exposing region splicing forgeries with blind local noise
estimation", International Journal of Computer Vision 110(2), 2014.

Natural images have band-pass responses whose kurtosis is nearly the same in every band
("kurtosis concentration"). Additive white noise of variance ``s^2`` lowers the kurtosis of each
band by a known amount: with ``v_k`` the variance and ``k_k`` the excess kurtosis of the noisy
response in band ``k`` and ``K`` the clean kurtosis common to all bands,

    sqrt(k_k) = sqrt(K) (1 - s^2 / v_k),

so a straight-line fit of ``sqrt(k_k)`` against ``1 / v_k`` over the bands gives ``sqrt(K)`` as its
intercept ``a`` and ``sqrt(K) s^2`` as minus its slope ``b``: ``s^2 = b / a`` (the closed-form
solution of the paper's least-squares problem). Done on every window of the image, it gives a local
noise level without knowing the clean image; a region spliced from a picture with another noise
level stands out.

1. **Band-pass responses.** The luminance (0..255) is cut into 4x4 blocks and each block is
   transformed by the orthonormal 2-D DCT; the 15 AC coefficients are the band-pass responses
   (white noise of variance ``s^2`` adds ``s^2`` to each).
2. **Local moments.** The first four raw moments of every band are summed over cells and then over
   sliding ``window``-pixel windows (stride one cell), giving each window's variance and excess
   kurtosis per band.
3. **Noise variance per window** from the kurtosis-concentration fit above, clipped to
   ``[0, min_k v_k]`` (noise cannot exceed the quietest band). Where the fit is degenerate (no
   kurtosis decrease across the bands, as in flat areas whose bands are all noise) the bound
   ``min_k v_k`` itself is the estimate; ``extra["kurtosis_fit_share"]`` says how many windows used
   the fit.
4. **Map.** The image's dominant noise level is the median over windows; the heatmap is
   ``|log2(s / s_dominant)|`` clipped to [0, 1] (1: the local noise level differs by a factor of two
   or more), interpolated from the window centres to every pixel. The image score is its mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.features.windows import cell_sums, upsample_window_map, window_sums

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Side of the DCT blocks whose AC coefficients are the band-pass responses.
BLOCK = 4
#: Automatic stride: fine up to this many megapixels, coarse above (a 12-megapixel map at 16 px
#: still has 47 000 windows, and takes a quarter of the time).
AUTO_STRIDE_MEGAPIXELS = 4.0
AUTO_FINE_STRIDE, AUTO_COARSE_STRIDE = 8, 16
#: Band variance (0..255 scale, squared) below which a band carries no usable statistics.
MIN_BAND_VARIANCE = 1e-6


def dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix (rows are the basis vectors)."""
    n = np.arange(size)
    matrix = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * size)) * np.sqrt(2.0 / size)
    matrix[0] /= np.sqrt(2.0)
    return matrix


def block_ac_coefficients(grey: np.ndarray) -> np.ndarray:
    """AC coefficients of the orthonormal 4x4 block DCT of ``grey``: ``(H // 4, W // 4, 15)`` float32."""
    rows, cols = grey.shape[0] // BLOCK, grey.shape[1] // BLOCK
    blocks = grey[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3)
    basis = np.kron(dct_matrix(BLOCK), dct_matrix(BLOCK)).astype(np.float32)[1:]  # drop the DC row
    return (blocks.reshape(rows * cols, BLOCK * BLOCK) @ basis.T).reshape(rows, cols, -1)


def noise_variance(variance: np.ndarray, kurtosis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise variance from per-band variances and excess kurtoses (last axis = bands), step 3.

    Least-squares line ``sqrt(kurtosis) = a - b / variance`` over the bands; the estimate is
    ``b / a`` clipped to ``[0, smallest band variance]``. Where the fit does not show the decrease of
    kurtosis that noise causes (``a <= 0`` or ``b <= 0``: Gaussian-like content such as a flat area,
    where every band is noise, or content whose kurtosis varies more than the noise changes it), the
    smallest band variance, the upper bound of the estimate, is taken. Returns the estimate and
    where the kurtosis fit was used.
    """
    variance = np.maximum(variance, MIN_BAND_VARIANCE)
    y = np.sqrt(np.maximum(kurtosis, 0.0))
    x = 1.0 / variance
    x_centred = x - x.mean(axis=-1, keepdims=True)
    y_centred = y - y.mean(axis=-1, keepdims=True)
    spread = (x_centred * x_centred).sum(axis=-1)
    slope = -(x_centred * y_centred).sum(axis=-1) / np.maximum(spread, 1e-30)
    intercept = y.mean(axis=-1) + slope * x.mean(axis=-1)
    fitted = (slope > 0) & (intercept > 0)
    bound = variance.min(axis=-1)
    estimate = np.where(fitted, slope / np.where(fitted, intercept, 1.0), bound)
    return np.clip(estimate, 0.0, bound), fitted


def window_noise_variance(grey: np.ndarray, window: int, stride: int, reporter: ProgressReporter
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Noise variance of every ``window`` x ``window`` window, windows ``stride`` apart (steps 1-3),
    and where the kurtosis fit gave it (see :func:`noise_variance`)."""
    coefficients = block_ac_coefficients(grey)
    cell = stride // BLOCK
    moments = []
    power = np.ones_like(coefficients)
    for order in range(1, 5):
        reporter.update(0.1 + 0.15 * order, f"Band moments of order {order}")
        power *= coefficients
        moments.append(window_sums(cell_sums(power, cell), window // stride) / (window // BLOCK) ** 2)
    del coefficients, power
    m1, m2, m3, m4 = moments
    variance = m2 - m1 * m1
    central4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 ** 4
    kurtosis = central4 / np.maximum(variance, MIN_BAND_VARIANCE) ** 2 - 3.0
    return noise_variance(variance, kurtosis)


@register_detector
class NoiseLevelDetector(Detector):
    """Local noise level from kurtosis concentration (Lyu, Pan and Zhang, IJCV 2014)."""

    id = "noise-level"
    display_name = "Local noise level (kurtosis concentration)"
    reference = ("S. Lyu, X. Pan and X. Zhang, \"Exposing region splicing forgeries with blind local noise "
                 "estimation\", IJCV 110(2), 2014")
    version = "1.0"
    description = (
        "Estimates the noise standard deviation of every window from how noise lowers the kurtosis of "
        "band-pass (DCT) responses, and maps where it departs from the picture's dominant level. "
        "Score: mean departure over the picture."
    )
    limitations = (
        "A region pasted from a picture with the same noise level is invisible.",
        "Noise that depends on brightness (real sensors) makes dark and bright areas of an untouched "
        "picture differ; saturated or flat areas give unreliable estimates.",
        "Denoising, strong JPEG compression or resizing of the whole picture levels the noise everywhere.",
        "The estimate assumes white noise and natural-image statistics; strong regular texture biases it.",
    )
    needs_weights = False
    parameters = (
        Parameter("window", int, 32, "Window (px)", "Side of the window of each noise estimate.", 16, 512),
        Parameter("stride", int, 0, "Stride (px)",
                  "Step between windows, a multiple of 4; 0 = automatic (8 px up to 4 megapixels, 16 px above).",
                  0, 64),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: "torch.device") -> Analysis:
        """Noise level per window and its departure from the dominant level."""
        requested = params["stride"] or (AUTO_FINE_STRIDE if evidence.megapixels <= AUTO_STRIDE_MEGAPIXELS
                                         else AUTO_COARSE_STRIDE)
        stride = max(requested // BLOCK, 1) * BLOCK
        window = max(min(params["window"], evidence.height, evidence.width) // stride, 1) * stride
        if min(evidence.height, evidence.width) < 2 * window or window < 2 * BLOCK:
            raise ForensicsError(
                f"The noise-level analysis needs a picture at least two windows wide; "
                f"{evidence.width}x{evidence.height} is too small for a {params['window']}-px window.")
        reporter.update(0.05, "Block DCT of the luminance", force=True)
        grey = evidence.luminance()
        grey *= 255.0
        variance, fitted = window_noise_variance(grey, window, stride, reporter)
        sigma = np.sqrt(variance)
        del grey
        reporter.update(0.8, "Departure from the dominant noise level")
        dominant = float(np.median(sigma))
        with np.errstate(divide="ignore"):
            departure = np.abs(np.log2(np.maximum(sigma, 1e-3) / max(dominant, 1e-3)))
        window_map = np.clip(departure, 0.0, 1.0)
        height, width = evidence.height, evidence.width
        heatmap = upsample_window_map(window_map, window, stride, height, width)
        sigma_max = float(sigma.max())
        sigma_map = upsample_window_map(sigma / max(sigma_max, 1e-12), window, stride, height, width)
        return Analysis(
            heatmap=heatmap, score=float(window_map.mean()), threshold=0.5,
            extra_maps={"noise sd (fraction of the largest)": sigma_map},
            extra={"dominant_noise_sd": dominant, "largest_noise_sd": sigma_max,
                   "noise_sd_percentiles": {str(p): float(np.percentile(sigma, p)) for p in (5, 25, 50, 75, 95)},
                   "kurtosis_fit_share": float(fitted.mean()),
                   "window": window, "stride": stride, "windows": int(sigma.size)},
        )
