"""Non-aligned double JPEG compression (NA-DJPG): the primary grid, its quantisation steps, block likelihoods.

Method (T. Bianchi, A. Piva, "Image forgery localization via block-grained analysis of JPEG
artifacts", IEEE Transactions on Information Forensics and Security 7(3), pp. 1003-1017, 2012,
Section III-B): a JPEG that was decompressed, cropped or edited and saved again carries its first
compression on an 8x8 grid shifted by ``(r, c) != (0, 0)`` from the last one. On that shifted
grid, the DCT coefficients of the decoded luminance of an authentic block are

    ``y = q1 * round(x / q1) + e``,

the unquantised coefficient ``x`` quantised by the first step ``q1``, plus an error ``e`` made by
the last compression (its quantisation, rounding and clipping), modelled as Gaussian with
variance ``q2^2 / 12 + 1 / 12`` (``q2`` the last step of the same frequency, 1/12 the rounding of
the pixels between the two compressions). A block pasted before the last save was never
quantised on that grid: its ``y`` follows the distribution of ``x``. Both distributions come from
the image itself:

* ``p0`` (single compression): the histogram of the coefficients on a grid one pixel away from
  the candidate primary grid, where no quantisation acts (calibration), convolved with the
  Gaussian error, which the last compression adds to pasted blocks too;
* ``p1`` (double compression): the same histogram quantised by ``q1`` (its mass moved to the
  multiples of ``q1``), then convolved with the Gaussian error.

Blurring both by the same error (the authors' code leaves ``p0`` a raw histogram) keeps the
comparison about the lattice alone: otherwise ``p1``, being smoother, wins over a sparse ``p0`` on
pictures compressed once, and a spurious primary grid is found in small images.

The histogram of ``y`` is a mixture ``alpha p0 + (1 - alpha) p1``; for every candidate ``q1`` the
EM algorithm estimates ``alpha``, and the ``q1`` of the largest likelihood is kept. The primary grid
is the shift whose DC coefficients give the largest likelihood (the paper's search over the 63
shifts); the AC frequencies are then modelled on that grid. A block's log-likelihood ratio is
``sum_f log p1(y_f) / p0(y_f)`` over the modelled frequencies (positive: double compressed).

Here ``y`` is computed from the file's own coefficients: the luminance is their inverse DCT after
dequantisation (no rounding, no colour conversion), so the model sees exactly what the last
compression stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from forensics_core.evidence.jpeg import IJG_LUMINANCE
from forensics_core.features.jpeg import LumaCoefficients, dct_matrix, transform_blocks

#: Variance of the pixel rounding between the two compressions, in DCT units (orthonormal DCT).
ROUNDING_VARIANCE = 1.0 / 12.0
#: Initial share of single-compressed coefficients in the EM (the authors' 0.95).
ALPHA_START = 0.95
#: EM stops when the log-likelihood improves by less than this (nats), or after EM_ITERATIONS.
EM_TOLERANCE = 5.0
EM_ITERATIONS = 20
#: Smallest and largest first step tried: the paper's range, ``max(2, floor(q2 / sqrt(3)))`` to the
#: larger of ``q2`` and the quality-50 IJG step (ITU-T T.81 Annex K, Table K.1).
MIN_STEP = 2


@dataclass(frozen=True)
class NonAlignedFrequency:
    """The NA-DJPG model of one frequency on the primary grid: steps, mixture weight and log-likelihood ratio per bin."""

    position: tuple[int, int]
    q2: int
    q1: int
    alpha: float
    evidence_per_mille: float
    first_bin: int
    log_ratio: np.ndarray  # log p1(k) / p0(k) for the contiguous bins k = first_bin, first_bin + 1, ...


@dataclass(frozen=True)
class NonAlignedModel:
    """The primary grid shift ``(rows, columns)`` and the frequencies modelled on it."""

    shift: tuple[int, int]
    frequencies: tuple[NonAlignedFrequency, ...]

    @property
    def evidence_per_mille(self) -> float:
        """Log-likelihood gain of the mixture over single compression, per 1000 coefficients, summed over frequencies."""
        return float(sum(f.evidence_per_mille for f in self.frequencies))


def decoded_luminance(luma: LumaCoefficients) -> np.ndarray:
    """``Y - 128`` of the last compression, unrounded: the inverse DCT of every dequantised block (float32)."""
    rows, cols = luma.coefficients.shape[:2]
    blocks = luma.coefficients.reshape(-1, 8, 8).astype(np.float32) * luma.quant_table.astype(np.float32)
    pixels = transform_blocks(blocks, dct_matrix().T).reshape(rows, cols, 8, 8)
    return np.ascontiguousarray(pixels.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8))


def block_dct(luminance: np.ndarray, shift: tuple[int, int],
              positions: tuple[tuple[int, int], ...]) -> dict[tuple[int, int], np.ndarray]:
    """Frequencies ``positions`` of the 8x8 DCTs of the whole blocks of a grid with origin ``shift``.

    Returns ``{(u, v): (rows, cols) float32}``; only the asked rows of the transform are computed.
    """
    top, left = shift
    rows, cols = (luminance.shape[0] - top) // 8, (luminance.shape[1] - left) // 8
    tiles = luminance[top: top + 8 * rows, left: left + 8 * cols].reshape(rows, 8, cols, 8).transpose(0, 2, 1, 3)
    flat = np.ascontiguousarray(tiles, dtype=np.float32).reshape(-1, 64)
    kronecker = np.kron(dct_matrix(), dct_matrix()).astype(np.float32)[[8 * u + v for u, v in positions]]
    coefficients = flat @ kronecker.T
    return {position: coefficients[:, index].reshape(rows, cols) for index, position in enumerate(positions)}


def calibration_shift(shift: tuple[int, int]) -> tuple[int, int]:
    """The grid one pixel away from ``shift`` along both axes, towards the block's centre (the authors' choice)."""
    return tuple(s + 1 if s < 4 else s - 1 for s in shift)  # type: ignore[return-value]


def _histogram(values: np.ndarray, first: int, size: int) -> np.ndarray:
    """Counts of the integer bins ``first .. first + size - 1`` of ``values`` rounded (all of them inside)."""
    index = np.rint(values).astype(np.int32).ravel() - np.int32(first)
    return np.bincount(index, minlength=size).astype(np.float64)


def blurred_pmf(counts: np.ndarray, sigma: float) -> np.ndarray:
    """A histogram convolved with a Gaussian of deviation ``sigma`` bins, as probabilities (Laplace-smoothed)."""
    width = int(np.ceil(3.0 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-width, width + 1) / sigma) ** 2)
    blurred = np.convolve(counts, kernel / kernel.sum(), mode="same")
    total = counts.sum()
    return (blurred / max(blurred.sum(), 1e-12) * total + 1.0) / (total + counts.size)


def single_compressed_pmf(calibration_counts: np.ndarray, sigma: float) -> np.ndarray:
    """``p0``: the calibration histogram blurred by the last compression's error."""
    return blurred_pmf(calibration_counts, sigma)


def double_compressed_pmf(calibration_counts: np.ndarray, first: int, q1: int, sigma: float) -> np.ndarray:
    """``p1``: the calibration histogram quantised by ``q1`` (mass moved to multiples of ``q1``), blurred by the error.

    Bins are the integers ``first, first + 1, ...``; a bin half-way between two multiples (even
    ``q1``) gives half its mass to each.
    """
    size = calibration_counts.size
    values = np.arange(first, first + size)
    lower = np.floor(values / q1 + 0.5).astype(np.int64)  # multiple index each bin rounds to
    on_lattice = lower * q1 - first
    half = (2 * values) % (2 * q1) == q1  # exactly half-way (even q1): split between both neighbours
    keep = (on_lattice >= 0) & (on_lattice < size)
    quantised = np.bincount(on_lattice[keep], np.where(half, 0.5, 1.0)[keep] * calibration_counts[keep],
                            minlength=size)
    below = on_lattice - q1
    split = half & (below >= 0) & (below < size)
    quantised += np.bincount(below[split], 0.5 * calibration_counts[split], minlength=size)
    return blurred_pmf(quantised, sigma)


def fit_mixtures(counts: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EM estimates of ``alpha`` in ``alpha p0 + (1 - alpha) p1_j`` for a histogram, for every row ``p1_j`` at once.

    ``counts`` and ``p0`` are ``(bins,)``, ``p1`` is ``(candidates, bins)``. Each candidate's EM stops
    when its log-likelihood improves by less than :data:`EM_TOLERANCE`, or after
    :data:`EM_ITERATIONS`. Returns (alpha, log-likelihood), one per candidate.
    """
    occupied = counts > 0  # empty bins add nothing to the likelihood or to the E step
    # Single precision: the likelihoods only rank candidates and test a 5-nat improvement.
    counts, p0, p1 = (a.astype(np.float32) for a in (counts[occupied], p0[occupied], p1[:, occupied]))
    alpha = np.full(p1.shape[0], ALPHA_START, np.float32)
    previous = np.full(p1.shape[0], -np.inf)
    active = np.ones(p1.shape[0], bool)
    likelihood = previous.copy()
    for _ in range(EM_ITERATIONS):
        mixture = alpha[active, None] * p0 + (1.0 - alpha[active, None]) * p1[active]
        likelihood[active] = np.log(mixture) @ counts
        still = likelihood[active] - previous[active] >= EM_TOLERANCE
        previous[active] = likelihood[active]
        alpha[active] = np.where(still, (alpha[active, None] * p0 / mixture) @ counts / counts.sum(), alpha[active])
        active[np.flatnonzero(active)[~still]] = False
        if not active.any():
            break
    return alpha, likelihood


@dataclass(frozen=True)
class Candidates:
    """``p0`` and the ``p1`` of every first step tried, from one calibration histogram."""

    steps: np.ndarray   # (candidates,) first steps q1
    p0: np.ndarray      # (bins,)
    p1: np.ndarray      # (candidates, bins)


def candidate_models(calibration_counts: np.ndarray, first: int, q2: int, largest_step: int) -> Candidates:
    """``p0`` and ``p1`` for every ``q1`` from ``max(2, floor(q2 / sqrt(3)))`` to ``max(largest_step, q2)`` (the paper's range)."""
    sigma = float(np.sqrt(q2 * q2 / 12.0 + ROUNDING_VARIANCE))
    steps = np.arange(max(MIN_STEP, int(q2 / np.sqrt(3.0))), max(largest_step, q2) + 1)
    p1 = np.stack([double_compressed_pmf(calibration_counts, first, int(q1), sigma) for q1 in steps])
    return Candidates(steps, single_compressed_pmf(calibration_counts, sigma), p1)


def fit_histogram(counts: np.ndarray, candidates: Candidates, first: int, q2: int,
                  position: tuple[int, int]) -> NonAlignedFrequency:
    """The first step ``q1`` of one frequency on the candidate primary grid, by maximum mixture likelihood.

    ``counts`` is the histogram of the frequency's coefficients on the candidate grid over the
    bins ``first, first + 1, ...``; ``candidates`` the models from its calibration histogram over
    the same bins. Evidence = the best mixture's log-likelihood minus that of ``p0`` alone
    (single compression everywhere), per 1000 coefficients: never negative, 0 when nothing is
    double compressed.
    """
    steps, p0, p1 = candidates.steps, candidates.p0, candidates.p1
    single = float(np.dot(counts, np.log(p0)))
    alpha, likelihood = fit_mixtures(counts, p0, p1)
    best = int(np.argmax(likelihood))
    return NonAlignedFrequency(position, q2, int(steps[best]), float(alpha[best]),
                               1000.0 * max(float(likelihood[best]) - single, 0.0) / max(counts.sum(), 1.0),
                               first, np.log(p1[best] / p0))


def fit_frequency(values: np.ndarray, calibration: np.ndarray, q2: int, largest_step: int,
                  position: tuple[int, int]) -> NonAlignedFrequency:
    """:func:`fit_histogram` for the coefficients ``values`` and the calibration coefficients ``calibration``."""
    first = int(np.floor(min(values.min(), calibration.min()))) - 1
    size = int(np.ceil(max(values.max(), calibration.max()))) + 2 - first
    candidates = candidate_models(_histogram(calibration, first, size), first, q2, largest_step)
    return fit_histogram(_histogram(values, first, size), candidates, first, q2, position)


def dc_at_every_shift(luminance: np.ndarray) -> np.ndarray:
    """The DC coefficient of the 8x8 block at every top-left position: the block sum / 8, ``(H - 7, W - 7)``."""
    sums = cv2.boxFilter(luminance, cv2.CV_32F, (8, 8), anchor=(0, 0), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)
    return sums[: luminance.shape[0] - 7, : luminance.shape[1] - 7] / np.float32(8.0)


def largest_first_step(position: tuple[int, int], q2: int) -> int:
    """The largest ``q1`` tried: the larger of ``q2`` and the IJG quality-50 step (T.81 Annex K, Table K.1)."""
    return max(q2, IJG_LUMINANCE[8 * position[0] + position[1]])


def primary_grid(luminance: np.ndarray, q2_dc: int,
                 progress: Callable[[float], None]) -> tuple[tuple[int, int], NonAlignedFrequency] | None:
    """The shift (not (0, 0)) whose DC coefficients are best explained as double compressed, and its DC model.

    ``progress(fraction)`` is called between shifts (it may raise to cancel). None for pictures
    smaller than two blocks across or down.
    """
    dc = dc_at_every_shift(luminance)
    rows, cols = dc.shape[0] // 8, dc.shape[1] // 8  # the same number of blocks at every shift
    if rows * cols == 0:
        return None
    first = int(np.floor(dc.min())) - 1
    size = int(np.ceil(dc.max())) + 2 - first
    histograms = {(r, c): _histogram(dc[r: r + 8 * rows: 8, c: c + 8 * cols: 8], first, size)
                  for r in range(8) for c in range(8)}
    best: tuple[tuple[int, int], NonAlignedFrequency] | None = None
    shifts = [(r, c) for r in range(8) for c in range(8) if (r, c) != (0, 0)]
    models: dict[tuple[int, int], Candidates] = {}  # several shifts share a calibration grid
    for index, shift in enumerate(shifts):
        progress(index / len(shifts))
        calibrate = calibration_shift(shift)
        if calibrate not in models:
            models[calibrate] = candidate_models(histograms[calibrate], first, q2_dc, largest_first_step((0, 0), q2_dc))
        model = fit_histogram(histograms[shift], models[calibrate], first, q2_dc, (0, 0))
        if best is None or model.evidence_per_mille > best[1].evidence_per_mille:
            best = (shift, model)
    return best


def fit_nonaligned(luma: LumaCoefficients, positions: tuple[tuple[int, int], ...], min_evidence: float,
                   progress: Callable[[float], None]
                   ) -> tuple[NonAlignedModel | None, dict[tuple[int, int], np.ndarray]]:
    """The NA-DJPG model of the file: primary grid from the DC, then each frequency of ``positions`` on it.

    A frequency is kept when its evidence reaches ``min_evidence`` (nats per 1000 coefficients);
    no model (None) when the DC shows none. Also returns the coefficients of ``positions`` on
    the primary grid (empty when there is no model), which :func:`block_log_ratio` reads.
    """
    luminance = decoded_luminance(luma)
    found = primary_grid(luminance, int(luma.quant_table[0, 0]), lambda f: progress(0.7 * f))
    if found is None or found[1].evidence_per_mille < min_evidence:
        return None, {}
    shift, dc_model = found
    on_grid = block_dct(luminance, shift, positions)
    calibration = block_dct(luminance, calibration_shift(shift), positions)
    kept = []
    for index, (u, v) in enumerate(positions):
        progress(0.7 + 0.3 * index / len(positions))
        if (u, v) == (0, 0):
            kept.append(dc_model)
            continue
        q2 = int(luma.quant_table[u, v])
        model = fit_frequency(on_grid[(u, v)].ravel(), calibration[(u, v)].ravel(), q2,
                              largest_first_step((u, v), q2), (u, v))
        if model.evidence_per_mille >= min_evidence:
            kept.append(model)
    return NonAlignedModel(shift, tuple(kept)), on_grid


def block_log_ratio(coefficients: dict[tuple[int, int], np.ndarray],
                    frequencies: tuple[NonAlignedFrequency, ...]) -> np.ndarray:
    """Sum over frequencies of ``log p1(y) / p0(y)`` for every block of the primary grid (positive: double)."""
    total = np.zeros(next(iter(coefficients.values())).shape, np.float64)
    for model in frequencies:
        values = np.rint(coefficients[model.position]).astype(np.int64)
        total += model.log_ratio[np.clip(values - model.first_bin, 0, model.log_ratio.size - 1)]
    return total
