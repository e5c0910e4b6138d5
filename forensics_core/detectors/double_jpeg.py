"""Double JPEG compression, aligned or not: the posterior probability that each 8x8 block was NOT compressed twice.

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

Non-aligned double compression (T. Bianchi, A. Piva, "Image forgery localization via
block-grained analysis of JPEG artifacts", IEEE TIFS 7(3), 2012): when the first compression was
on a grid shifted from the last (the picture was cropped between the saves), the file's own
coefficients show no double quantisation; the first grid, its steps and each block's likelihood
ratio are then estimated from the decoded luminance on the shifted grid
(:mod:`forensics_core.features.nonaligned_jpeg`). Parameter ``mode``: ``aligned`` or
``non-aligned`` fits one model; ``auto`` (default) fits both and keeps the one with the larger
total evidence (log-likelihood gain over single compression, nats per 1000 coefficients,
summed over the kept frequencies), named in ``extra["model"]`` with both evidences.

What each model can see (constructed splices, a picture saved at ``q1``, a region pasted from a
never-compressed photograph, saved at ``q2``; ``benchmarks/bench_jpeg.py`` measures it): the
aligned model, a first save on the same grid with ``q2`` above ``q1`` (its steps not divisors of
the last); the non-aligned model, a first save on a shifted grid with ``q2`` well above ``q1``
(about 20 higher). When ``q2 <= q1`` the last quantisation mostly erases the first one's traces:
the aligned model still partly sees a few pairs whose steps are not multiples of each other, the
non-aligned model nothing, and no method of this family is reliable there.

The photoholmes configuration of Lin et al.'s method uses the first 10 frequencies in zig-zag
order, DC included; this is the default here too, for both models.

Reading the output: heatmap = BPPM (1 = the block looks single-compressed, i.e. pasted or
re-drawn after the first save), averaged over ``smoothing`` x ``smoothing`` blocks (blocks of the
first grid in the non-aligned model). Image score = the 95th percentile of the map (0 when no
double compression is found at all, which is the case for a picture compressed once).
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
from forensics_core.features.jpeg import ZIGZAG, LumaCoefficients, dct_matrix, expand_blocks, read_luma_coefficients
from forensics_core.features.nonaligned_jpeg import NonAlignedModel, block_log_ratio, fit_nonaligned

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
#: Fewest 8x8 blocks whose histograms are modelled: below this (a 64x64 picture) the per-frequency
#: histograms are too sparse for either model and nothing is reported.
MIN_BLOCKS = 64


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


def fit_aligned(luma: LumaCoefficients, calibration: np.ndarray, positions: tuple[tuple[int, int], ...],
                min_evidence: float, reporter: ProgressReporter) -> list[FrequencyModel]:
    """The aligned model of every frequency of ``positions`` whose evidence reaches ``min_evidence``.

    None is fitted when the picture is too small (under 12 pixels across or down) for a single
    calibration block.
    """
    models: list[FrequencyModel] = []
    if calibration.shape[0] == 0:
        return models
    for index, (u, v) in enumerate(positions):
        reporter.update(index / len(positions), f"Aligned model: frequency ({u}, {v})")
        model = fit_frequency(luma.coefficients[:, :, u, v].ravel().astype(np.int64), calibration[:, u, v],
                              int(luma.quant_table[u, v]), (u, v))
        if model is not None and model.evidence_per_mille >= min_evidence:
            models.append(model)
    return models


def smoothed(posterior: np.ndarray, side: int) -> np.ndarray:
    """The block posterior averaged over ``side`` x ``side`` blocks (unchanged for side 1)."""
    return cv2.blur(posterior, (side, side), borderType=cv2.BORDER_REFLECT) if side > 1 else posterior


def place_on_grid(posterior: np.ndarray, shift: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Pixel map of a block map whose grid starts at ``shift``; the strips before the first block read 0.5."""
    heatmap = np.full(shape, 0.5, np.float32)
    top, left = shift
    heatmap[top:, left:] = expand_blocks(posterior, 8, (shape[0] - top, shape[1] - left), fill=0.5)
    return heatmap


@register_detector
class DoubleJpeg(Detector):
    """Aligned (Lin et al. 2009) and non-aligned (Bianchi & Piva 2012) double compression, block posterior of single compression."""

    id = "double-jpeg"
    display_name = "Double JPEG compression (aligned and non-aligned)"
    reference = ("Z. Lin, J. He, X. Tang, C.-K. Tang, \"Fast, automatic and fine-grained tampered JPEG image "
                 "detection via DCT coefficient analysis\", Pattern Recognition 42(11), 2009; likelihoods after "
                 "T. Bianchi, A. De Rosa, A. Piva, ICASSP 2011; non-aligned: T. Bianchi, A. Piva, \"Image forgery "
                 "localization via block-grained analysis of JPEG artifacts\", IEEE TIFS 7(3), 2012")
    version = "1.1"
    description = (
        "What it shows: for a JPEG saved twice, on the same 8x8 grid or (cropped in between) on shifted "
        "grids, the probability that each 8x8 block was compressed only once (bright), as a region pasted or "
        "redrawn before the last save is. Read from the file's own DCT coefficients; the model used (aligned "
        "or non-aligned) is named in the result; a picture compressed once has nothing to show (score 0).")
    limitations = (
        "Needs a JPEG file: decoded pixels (PNG, TIFF) carry no coefficients and are refused.",
        "Blind when the first quality was higher than or equal to the last (or, aligned, a divisor of its "
        "steps): the last quantisation then erases the first one's traces.",
        "The non-aligned model needs the last quality well above the first (in constructed splices, about 20 "
        "higher); closer qualities give a weak or no map.",
        "A region pasted with its own 8x8 grid shifted looks single-compressed to the aligned model (flagged); "
        "a paste that was itself compressed on the first grid looks authentic.",
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
        Parameter("mode", str, "auto", "Model",
                  "aligned: first save on the same 8x8 grid (Lin et al. 2009); non-aligned: on a shifted grid "
                  "(Bianchi & Piva 2012); auto: both, keeping the one with more evidence.",
                  choices=("auto", "aligned", "non-aligned")),
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
        positions = ZIGZAG[: params["frequencies"]]
        mode, min_evidence = params["mode"], params["min_evidence"]
        aligned: list[FrequencyModel] = []
        nonaligned: NonAlignedModel | None = None
        first_grid_blocks: dict[tuple[int, int], np.ndarray] = {}
        big_enough = luma.coefficients.shape[0] * luma.coefficients.shape[1] >= MIN_BLOCKS
        if mode != "non-aligned" and big_enough:
            aligned = fit_aligned(luma, calibration_sample(evidence), positions, min_evidence,
                                  reporter.scaled(0.1, 0.4))
        if mode != "aligned" and big_enough:
            progress = reporter.scaled(0.4, 0.85)
            nonaligned, first_grid_blocks = fit_nonaligned(
                luma, positions, min_evidence, lambda f: progress.update(f, "Non-aligned model: first grid and steps"))
        aligned_evidence = float(sum(m.evidence_per_mille for m in aligned))
        nonaligned_evidence = nonaligned.evidence_per_mille if nonaligned is not None else 0.0
        shape = (evidence.height, evidence.width)
        extra: dict[str, Any] = {"mode": mode, "aligned_evidence_per_1000": round(aligned_evidence, 2),
                                 "nonaligned_evidence_per_1000": None if mode == "aligned"
                                 else round(nonaligned_evidence, 2),
                                 "quality_table_q2_luma": luma.quant_table.ravel().tolist()}
        if not aligned and nonaligned is None:
            return Analysis(heatmap=np.zeros(shape, np.float32), score=0.0, threshold=0.5,
                            extra={**extra, "model": None, "double_quantised_frequencies": [],
                                   "note": "No double compression found: the file looks compressed once, or "
                                           "its first compression left no trace." if big_enough else
                                           f"The picture has fewer than {MIN_BLOCKS} 8x8 blocks: too few "
                                           "coefficients to model."})
        reporter.update(0.85, "Block posterior probabilities", force=True)
        from scipy.special import expit

        if aligned and aligned_evidence >= nonaligned_evidence:
            posterior = expit(block_log_odds(luma.coefficients, aligned)).astype(np.float32)
            heatmap = expand_blocks(smoothed(posterior, params["smoothing"]), 8, shape, fill=0.5)
            extra.update(model="aligned", double_quantised_frequencies=[
                {"frequency": list(m.position), "q2": m.q2, "q1": m.q1,
                 "evidence_per_1000": round(m.evidence_per_mille, 2)} for m in aligned])
        else:
            assert nonaligned is not None
            posterior = expit(-block_log_ratio(first_grid_blocks, nonaligned.frequencies)).astype(np.float32)
            heatmap = place_on_grid(smoothed(posterior, params["smoothing"]), nonaligned.shift, shape)
            extra.update(model="non-aligned", first_grid={"rows": nonaligned.shift[0], "columns": nonaligned.shift[1]},
                         double_quantised_frequencies=[
                             {"frequency": list(m.position), "q2": m.q2, "q1": m.q1, "alpha": round(m.alpha, 3),
                              "evidence_per_1000": round(m.evidence_per_mille, 2)} for m in nonaligned.frequencies])
        return Analysis(heatmap=heatmap, score=float(np.percentile(posterior, 95)), threshold=0.5, extra=extra)
