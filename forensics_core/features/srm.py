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

**Dense codes for Splicebuster.** Cozzolino, Poggi and Verdoliva, "Splicebuster: a new blind image
splicing detector", IEEE WIFS 2015, use the same residual, quantisation and 4-th order
co-occurrences, computed densely over the whole image (:func:`directional_codes`): the horizontal
residual with horizontal tuples and the vertical residual with vertical tuples. Because a residual
and its negative, and a tuple and its reverse, are equally likely in natural images, the 81 codes
are pooled into :data:`N_SYMMETRIC_CLASSES` = 25 classes (:func:`symmetric_classes`), so that the
two directions give a 50-bin histogram per block.
"""

from __future__ import annotations

from typing import Callable

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


def _shifted(x: np.ndarray, axis: int, start: int, length: int) -> np.ndarray:
    """The view ``x[..., start:start + length, ...]`` along ``axis``."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, start + length)
    return x[tuple(index)]


def directional_residual(x: np.ndarray, axis: int) -> np.ndarray:
    """Valid correlation of ``x`` (0..255 scale) with :data:`RESIDUAL_FILTER` along ``axis``."""
    length = x.shape[axis] - len(RESIDUAL_FILTER) + 1
    return sum(c * _shifted(x, axis, m, length) for m, c in enumerate(RESIDUAL_FILTER))


def row_residual(x: np.ndarray) -> np.ndarray:
    """Valid correlation of every row of ``x`` (HxW, 0..255 scale) with :data:`RESIDUAL_FILTER`."""
    return directional_residual(x, 1)


def quantise(residual: np.ndarray, step: float = QUANT_STEP) -> np.ndarray:
    """``clip(rint(residual / step), -T, T)`` as int8 (``step`` defaults to :data:`QUANT_STEP`)."""
    scaled = residual / step
    np.rint(scaled, out=scaled)
    np.clip(scaled, -TRUNCATION, TRUNCATION, out=scaled)
    return scaled.astype(np.int8)


def cooccurrence_codes(q: np.ndarray, axis: int, dtype: type = np.int64) -> np.ndarray:
    """Bin index (0..80) of every N-tuple of ``q`` running along ``axis`` (see the module notes)."""
    levels = 2 * TRUNCATION + 1
    length = q.shape[axis] - ORDER + 1
    codes = _shifted(q, axis, 0, length).astype(dtype) + TRUNCATION
    for m in range(1, ORDER):
        codes *= levels
        codes += _shifted(q, axis, m, length)
        codes += TRUNCATION
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


def _code_tuple(code: int) -> tuple[int, ...]:
    """The N quantised residuals (q0 first) whose co-occurrence bin is ``code``."""
    levels = 2 * TRUNCATION + 1
    digits = [(code // levels ** (ORDER - 1 - m)) % levels - TRUNCATION for m in range(ORDER)]
    return tuple(digits)


def _tuple_code(values: tuple[int, ...]) -> int:
    levels = 2 * TRUNCATION + 1
    code = 0
    for value in values:
        code = code * levels + value + TRUNCATION
    return code


def symmetric_classes() -> np.ndarray:
    """Class (0..24) of each of the 81 codes when a tuple, its negative and its reverse are pooled.

    Two codes share a class when one tuple is obtained from the other by negation, reversal or both
    (the sign and direction symmetries of Fridrich and Kodovsky, 2012). Classes are numbered in
    the order of their smallest code, so class 0 holds code 0 (-1, -1, -1, -1) and code 80.
    """
    canonical = []
    for code in range(N_CODES):
        t = _code_tuple(code)
        negative = tuple(-v for v in t)
        canonical.append(min(_tuple_code(v) for v in (t, negative, t[::-1], negative[::-1])))
    _, classes = np.unique(canonical, return_inverse=True)
    return classes.astype(np.int64)


#: Classes of co-occurrence codes under sign and direction symmetry: (81 + 1 + 9 + 9) / 4 (Burnside).
N_SYMMETRIC_CLASSES = 25


def directional_codes(x: np.ndarray, step: float = QUANT_STEP,
                      done: Callable[[int], None] | None = None) -> np.ndarray:
    """Symmetric co-occurrence classes of the horizontal and vertical residuals of a whole image.

    Parameters
    ----------
    x : ndarray
        HxW image on the 0..255 scale, both sides at least :data:`MIN_SIDE`.
    step : float
        Quantisation step of the residuals.
    done : callable, optional
        Called with 0, then 1, when the horizontal, then the vertical, codes are ready (progress).

    Returns
    -------
    codes : ndarray, shape (2, H - 6, W - 6), int16
        ``codes[0, i, j]`` is the class (0..24) of the horizontal tuple of horizontal residuals
        starting at ``x[i, j]`` (support ``x[i, j..j+6]``); ``codes[1, i, j]`` that of the vertical
        tuple of vertical residuals (support ``x[i..i+6, j]``). Both are cropped to the positions
        where both exist.
    """
    x = np.asarray(x, dtype=np.float32)
    if min(x.shape) < MIN_SIDE:
        raise ValueError(f"dense co-occurrences need an image of at least {MIN_SIDE}x{MIN_SIDE}, got {x.shape}")
    classes = symmetric_classes().astype(np.int16)
    height, width = x.shape[0] - MIN_SIDE + 1, x.shape[1] - MIN_SIDE + 1
    codes = np.empty((2, height, width), np.int16)
    for index, axis in enumerate((1, 0)):
        tuples = cooccurrence_codes(quantise(directional_residual(x, axis), step), axis, np.int16)
        codes[index] = classes[tuples[:height, :width]]
        if done is not None:
            done(index)
    return codes
