"""Aligned double JPEG compression: the posterior probability that each 8x8 block was NOT compressed twice.

Method (Z. Lin, J. He, X. Tang, C.-K. Tang, "Fast, automatic and fine-grained tampered JPEG image
detection via DCT coefficient analysis", Pattern Recognition 42(11), 2009): when a JPEG is
decompressed, edited and saved again on the same 8x8 grid, the untouched blocks carry the
quantisation of both saves (a double-quantised, DQ, coefficient histogram), while blocks pasted
from elsewhere carry only the last. For each low frequency, the block's quantised coefficient
``k`` gives a likelihood under "double-compressed (original)" and "single-compressed (tampered)",
and Bayes' rule over the frequencies (naive independence, the paper's product rule) gives the
block posterior probability map (BPPM) of "tampered".

The coefficients and the last quantisation table ``q2`` are read from the file itself. Instead
of the paper's histogram-period estimate, the two likelihoods of a bin ``k`` are those of T.
Bianchi, A. De Rosa and A. Piva, "Improved DCT coefficient analysis for forgery localization in
JPEG images", ICASSP 2011: the distribution of the coefficients before any compression is
estimated by calibration (the DCT of the decoded luminance on a grid half a block away, where
no quantisation acts); quantising that sample by ``q2`` gives ``P(k | single)``, quantising it
by ``q1``, adding a Gaussian rounding error of deviation 0.5 and quantising by ``q2`` gives
``P(k | double)``. The first step ``q1`` of each frequency is the one that maximises the
histogram's log-likelihood ratio; a frequency whose best ratio is below ``min_evidence`` nats
per thousand blocks is left out (no double quantisation visible there).

The photoholmes configuration of Lin et al.'s method uses the first 10 frequencies in zig-zag
order, DC included; this is the default here too.

Reading the output: heatmap = BPPM (1 = the block looks single-compressed, i.e. pasted or
re-drawn after the first save), averaged over ``smoothing`` x ``smoothing`` blocks. Image
score = the 95th percentile of the map (0 when no double quantisation is found at all, which is
the case for a picture compressed once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import EvidenceError
from forensics_core.evidence import Evidence
from forensics_core.features.jpeg import ZIGZAG, dct_matrix, expand_blocks, read_luma_coefficients

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Standard deviation (DCT units) of the rounding error between the two compressions.
ROUNDING_SIGMA = 0.5
#: Smallest first quantisation step tried: a lattice of spacing 2 is within four standard
#: deviations of the rounding error, too blurred to tell from a calibration error.
MIN_FIRST_STEP = 3
#: Largest first quantisation step tried, as a multiple of the last one.
MAX_STEP_RATIO = 4
#: Calibration sample size per frequency: enough for a histogram, cheap on 12-megapixel pictures.
CALIBRATION_SAMPLE = 20_000
#: Offset of the calibration grid (rows, columns): half a block away from the JPEG grid.
CALIBRATION_OFFSET = (4, 4)


@dataclass(frozen=True)
class FrequencyModel:
    """The double-quantisation model of one frequency: its steps and the likelihood ratio per bin."""

    position: tuple[int, int]
    q2: int
    q1: int
    evidence_per_mille: float
    bins: np.ndarray    # coefficient values k, contiguous
    ratio: np.ndarray   # P(k | double) / P(k | single) for each bin


def single_quantised(unquantised: np.ndarray, bins: np.ndarray, q2: int) -> np.ndarray:
    """P(k) of ``round(c / q2) = k`` for the calibration sample ``c`` (add-half smoothed)."""
    k = np.clip(np.rint(unquantised / q2).astype(np.int64) - bins[0], 0, bins.size - 1)
    return (np.bincount(k, minlength=bins.size) + 0.5) / (unquantised.size + 0.5 * bins.size)


def double_quantised(unquantised: np.ndarray, bins: np.ndarray, q1: int, q2: int,
                     sigma: float = ROUNDING_SIGMA) -> np.ndarray:
    """P(k) of quantising ``c`` by ``q1``, then (after a Gaussian rounding error) by ``q2`` (add-half smoothed)."""
    from scipy.special import ndtr  # SciPy loads when a run starts, not when detectors are listed

    m = np.rint(unquantised / q1).astype(np.int64)
    lattice = np.arange(m.min(), m.max() + 1)
    mass = np.bincount(m - lattice[0], minlength=lattice.size).astype(np.float64)
    centres = lattice * float(q1)
    upper = ndtr(((bins[:, None] + 0.5) * q2 - centres[None, :]) / sigma)
    lower = ndtr(((bins[:, None] - 0.5) * q2 - centres[None, :]) / sigma)
    counts = (upper - lower) @ mass
    return (counts + 0.5) / (unquantised.size + 0.5 * bins.size)


def fit_frequency(values: np.ndarray, unquantised: np.ndarray, q2: int,
                  position: tuple[int, int]) -> FrequencyModel | None:
    """The first step ``q1`` whose double quantisation best explains the histogram of ``values``.

    ``values`` are the file's quantised coefficients of one frequency; ``unquantised`` is a
    calibration sample of the same frequency (DCT on a grid half a block away, where no
    quantisation acts), standing in for the coefficients before the first compression.
    Evidence = log-likelihood ratio of the histogram, double against single, per 1000 blocks.
    Steps that divide ``q2`` are not tried: they leave the same histogram as one quantisation;
    nor are steps below :data:`MIN_FIRST_STEP`. None when no step is left.
    """
    bins = np.arange(int(values.min()), int(values.max()) + 1)
    counts = np.bincount(values - bins[0], minlength=bins.size).astype(np.float64)
    single = single_quantised(unquantised, bins, q2)
    best: FrequencyModel | None = None
    for q1 in range(MIN_FIRST_STEP, max(MAX_STEP_RATIO * q2, MIN_FIRST_STEP) + 1):
        if q2 % q1 == 0:  # q1 divides q2 (q1 = q2 included): the histograms are the same, nothing to see
            continue
        ratio = double_quantised(unquantised, bins, q1, q2) / single
        per_mille = 1000.0 * float(np.dot(counts, np.log(ratio))) / values.size
        if best is None or per_mille > best.evidence_per_mille:
            best = FrequencyModel(position, q2, q1, per_mille, bins, ratio)
    return best


def block_log_odds(coefficients: np.ndarray, models: list[FrequencyModel]) -> np.ndarray:
    """Sum over frequencies of ``log P(k | single) / P(k | double)`` for every block (naive Bayes)."""
    log_odds = np.zeros(coefficients.shape[:2], np.float64)
    for model in models:
        values = coefficients[:, :, model.position[0], model.position[1]].astype(np.int64)
        index = np.clip(values - model.bins[0], 0, model.bins.size - 1)
        log_odds -= np.log(model.ratio[index])
    return log_odds


def calibration_sample(evidence: Evidence) -> np.ndarray:
    """Up to :data:`CALIBRATION_SAMPLE` 8x8 DCTs of ``Y - 128`` on a grid half a block off the JPEG grid.

    Off the grid, the blocks straddle four JPEG blocks and their coefficients are not quantised:
    their distribution estimates that of the coefficients before any compression (the
    calibration of Bianchi, De Rosa & Piva 2011). Only the sampled blocks are converted to
    luminance. Returns ``(count, 8, 8)`` float32.
    """
    top, left = CALIBRATION_OFFSET
    rows, cols = (evidence.height - top) // 8, (evidence.width - left) // 8
    if rows * cols == 0:
        return np.zeros((0, 8, 8), np.float32)
    chosen = np.linspace(0, rows * cols - 1, min(rows * cols, CALIBRATION_SAMPLE)).astype(np.int64)
    offsets = np.arange(8)
    block_rows = (top + 8 * (chosen // cols))[:, None, None] + offsets[None, :, None]
    block_cols = (left + 8 * (chosen % cols))[:, None, None] + offsets[None, None, :]
    scale = 255.0 / (65535.0 if evidence.pixels.dtype == np.uint16 else 255.0)
    rgb = evidence.pixels[block_rows, block_cols].astype(np.float32) * np.float32(scale)
    luminance = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    basis = dct_matrix().astype(np.float32)
    return np.matmul(np.matmul(basis, luminance - np.float32(128.0)), basis.T)


@register_detector
class DoubleJpeg(Detector):
    """Aligned double quantisation (Lin et al. 2009), block posterior of single compression."""

    id = "double-jpeg"
    display_name = "Double JPEG compression (aligned)"
    reference = ("Z. Lin, J. He, X. Tang, C.-K. Tang, \"Fast, automatic and fine-grained tampered JPEG image "
                 "detection via DCT coefficient analysis\", Pattern Recognition 42(11), 2009; likelihoods after "
                 "T. Bianchi, A. De Rosa, A. Piva, ICASSP 2011")
    version = "1.0"
    description = (
        "What it shows: for a JPEG saved twice on the same 8x8 grid, the probability that each 8x8 block "
        "was compressed only once (bright), as a region pasted or redrawn before the last save is. Read from "
        "the file's own DCT coefficients; a picture compressed once has nothing to show (score 0).")
    limitations = (
        "Needs a JPEG file: decoded pixels (PNG, TIFF) carry no coefficients and are refused.",
        "Blind when the first quality was higher than or equal to the last (or a divisor of its steps): "
        "double quantisation then leaves no trace.",
        "A region pasted with its own 8x8 grid shifted looks single-compressed too (flagged), and so does "
        "a whole picture whose first compression was on a shifted grid (cropped).",
        "Flat, saturated and very dark blocks have mostly zero coefficients and stay near 0.5.",
    )
    needs_weights = False
    parameters = (
        Parameter("frequencies", int, 10, "Frequencies",
                  "How many DCT frequencies, in zig-zag order from DC, are modelled (photoholmes: 10).", 1, 64),
        Parameter("min_evidence", float, 20.0, "Minimum evidence (nats per 1000)",
                  "A frequency counts only when double quantisation explains its histogram better than single "
                  "quantisation by at least this log-likelihood ratio per thousand coefficients.", 0.0, 1000.0),
        Parameter("smoothing", int, 3, "Smoothing (blocks)",
                  "Side of the block window the posterior is averaged over (1 = none, as in the paper).", 1, 15),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Fit each frequency's double-quantisation model, then the block posterior map."""
        if evidence.format != "JPEG":
            raise EvidenceError(
                f"Double JPEG analysis reads the JPEG file's own DCT coefficients; {evidence.path.name} is a "
                f"{evidence.format} file, whose pixels no longer carry them. Use jpeg-grid for decoded pictures.")
        reporter.update(0.05, "Reading the DCT coefficients from the file", force=True)
        luma = read_luma_coefficients(evidence.path)
        calibration = calibration_sample(evidence)
        positions = ZIGZAG[: params["frequencies"]]
        models = []
        for index, (u, v) in enumerate(positions):
            reporter.update(0.1 + 0.7 * index / len(positions), f"Modelling frequency ({u}, {v})")
            model = fit_frequency(luma.coefficients[:, :, u, v].ravel().astype(np.int64), calibration[:, u, v],
                                  int(luma.quant_table[u, v]), (u, v))
            if model is not None and model.evidence_per_mille >= params["min_evidence"]:
                models.append(model)
        shape = (evidence.height, evidence.width)
        summary = [{"frequency": list(m.position), "q2": m.q2, "q1": m.q1,
                    "evidence_per_1000": round(m.evidence_per_mille, 2)} for m in models]
        if not models:
            return Analysis(heatmap=np.zeros(shape, np.float32), score=0.0, threshold=0.5,
                            extra={"double_quantised_frequencies": [],
                                   "note": "No double quantisation found: the file looks compressed once, or "
                                           "its first compression left no trace."})
        reporter.update(0.85, "Block posterior probabilities", force=True)
        from scipy.special import expit

        posterior = expit(block_log_odds(luma.coefficients, models)).astype(np.float32)
        side = params["smoothing"]
        if side > 1:
            posterior = cv2.blur(posterior, (side, side), borderType=cv2.BORDER_REFLECT)
        heatmap = expand_blocks(posterior, 8, shape, fill=0.5)
        return Analysis(heatmap=heatmap, score=float(np.percentile(posterior, 95)), threshold=0.5,
                        extra={"double_quantised_frequencies": summary,
                               "quality_table_q2_luma": luma.quant_table.ravel().tolist()})
