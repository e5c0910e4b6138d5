"""The hand-crafted SRM-style residual co-occurrence descriptor (reference implementation).

The local descriptor of Cozzolino, Poggi and Verdoliva, "Recasting residual-based local descriptors
as convolutional neural networks: an application to image forgery detection", ACM IH&MMSec 2017,
itself a compact member of the rich-model family (Fridrich and Kodovsky, IEEE TIFS 7(3), 2012):

1. **Residual.** The third-order high-pass filter ``RESIDUAL_FILTER = [1, -3, 3, -1]`` is applied
   along the rows of the green channel (on the 0..255 scale), without padding::

       r[i, j] = x[i, j] - 3 x[i, j+1] + 3 x[i, j+2] - x[i, j+3]

   and, identically, along the columns (the same filter on the transposed image).
2. **Quantisation.** ``q = clip(rint(r / QUANT_STEP), -1, 1)``: L = 3 levels with step 4.5,
   truncated to +-1 (``rint`` rounds half to even; with 8-bit data ``r / 4.5`` is never exactly
   +-0.5 or +-1.5, so the tie rule never matters there).
3. **Co-occurrences.** N = 4 neighbouring quantised residuals form one code. *Along* the filter
   direction the neighbours are ``q[i, j..j+3]`` (for row residuals); *across* it they are
   ``q[i..i+3, j]``. A tuple ``(q0, q1, q2, q3)`` (q0 nearest the top-left) has the bin index::

       k = 27 (q0 + 1) + 9 (q1 + 1) + 3 (q2 + 1) + (q3 + 1)        in 0..80

   so bin 0 is (-1, -1, -1, -1), bin 40 is (0, 0, 0, 0) and bin 80 is (1, 1, 1, 1). Only tuples
   whose whole support lies inside the patch are counted: a PxQ patch has P(Q-6) row tuples along
   and (P-3)(Q-3) across.
4. **Symmetric pooling ("image and transpose").** The column residuals are treated exactly as the
   row residuals of the transposed image, and their normalised histograms are averaged with the
   row ones: ``along = (h_rows_along + h_cols_along) / 2`` and likewise ``across``. No sign or
   direction-reversal pooling is applied, so the descriptor keeps all 2 x 81 = 162 bins:
   ``[along (81), across (81)]``, each half summing to 1.

:class:`forensics_core.models.srm_cnn.SRMNet` computes the same descriptor as a CNN; the tests check
that the two agree exactly.
"""

from __future__ import annotations

import numpy as np

#: The third-order residual filter, applied along rows and (on the transpose) columns.
RESIDUAL_FILTER: tuple[float, ...] = (1.0, -3.0, 3.0, -1.0)
#: Quantisation step on the 0..255 scale.
QUANT_STEP = 4.5
#: Truncation threshold T: quantised residuals lie in {-T..T}, i.e. L = 2T + 1 = 3 levels.
TRUNCATION = 1
#: Co-occurrence order N: number of neighbouring quantised residuals in one code.
ORDER = 4
#: Codes per co-occurrence histogram, L ** N.
N_CODES = (2 * TRUNCATION + 1) ** ORDER
#: Length of the descriptor: along and across histograms.
N_FEATURES = 2 * N_CODES
#: Smallest patch side with at least one tuple in every direction (support 1x7 along).
MIN_SIDE = len(RESIDUAL_FILTER) + ORDER - 1


def row_residual(x: np.ndarray) -> np.ndarray:
    """Valid correlation of every row of ``x`` (HxW, 0..255 scale) with :data:`RESIDUAL_FILTER`."""
    width = x.shape[1] - len(RESIDUAL_FILTER) + 1
    return sum(c * x[:, m:m + width] for m, c in enumerate(RESIDUAL_FILTER))


def quantise(residual: np.ndarray) -> np.ndarray:
    """``clip(rint(residual / QUANT_STEP), -T, T)`` as int8."""
    return np.clip(np.rint(residual / QUANT_STEP), -TRUNCATION, TRUNCATION).astype(np.int8)


def cooccurrence_codes(q: np.ndarray, axis: int) -> np.ndarray:
    """Bin index (0..80) of every N-tuple of ``q`` running along ``axis`` (see the module notes)."""
    levels = 2 * TRUNCATION + 1
    length = q.shape[axis] - ORDER + 1
    codes = np.zeros(np.take(q, np.arange(length), axis=axis).shape, dtype=np.int64)
    for m in range(ORDER):
        codes = codes * levels + (np.take(q, np.arange(m, m + length), axis=axis) + TRUNCATION)
    return codes


def _normalised_histogram(codes: np.ndarray) -> np.ndarray:
    return np.bincount(codes.ravel(), minlength=N_CODES).astype(np.float64) / codes.size


def srm_histogram(green: np.ndarray) -> np.ndarray:
    """The 162-bin descriptor ``[along, across]`` of one patch.

    Parameters
    ----------
    green : ndarray
        HxW green channel in [0, 1] (any float or integer dtype scaled to [0, 1]); both sides at
        least :data:`MIN_SIDE`. Scaled by 255 internally, computed in float64.

    Returns
    -------
    features : ndarray, shape (162,)
        float64; each half sums to 1.
    """
    x = np.asarray(green, dtype=np.float64) * 255.0
    if min(x.shape) < MIN_SIDE:
        raise ValueError(f"the SRM descriptor needs patches of at least {MIN_SIDE}x{MIN_SIDE}, got {x.shape}")
    q_rows = quantise(row_residual(x))
    q_cols = quantise(row_residual(x.T))
    along = (_normalised_histogram(cooccurrence_codes(q_rows, 1))
             + _normalised_histogram(cooccurrence_codes(q_cols, 1))) / 2.0
    across = (_normalised_histogram(cooccurrence_codes(q_rows, 0))
              + _normalised_histogram(cooccurrence_codes(q_cols, 0))) / 2.0
    return np.concatenate([along, across])


def srm_features(patches: np.ndarray) -> np.ndarray:
    """:func:`srm_histogram` of every patch of an ``NxHxW`` stack: an ``Nx162`` float64 array."""
    return np.stack([srm_histogram(p) for p in patches]) if len(patches) else np.zeros((0, N_FEATURES))
