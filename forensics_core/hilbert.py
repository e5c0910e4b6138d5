"""Hilbert-curve ordering of a square grid of blocks.

LSTM-EnDec (Bappy et al., "Hybrid LSTM and Encoder-Decoder Architecture for Detection of Image
Forgeries", IEEE TIP 28(7), 2019, Sec. III-A) feeds the 8x8 grid of 32x32 patches of a 256x256
image to its LSTM in the order of a third-order Hilbert curve, so that consecutive time steps are
always adjacent patches and the LSTM sees the transition between neighbouring blocks.

The curve is computed with the classic ``d2xy`` algorithm (the inverse of the mapping in
A. R. Butz, "Alternative algorithm for Hilbert's space-filling curve", IEEE Trans. Computers
C-20(4), 1971; the iterative form popularised by Wikipedia's "Hilbert curve" article): the curve
index ``d`` is read two bits at a time, from the smallest sub-square up; each pair of bits picks a
quadrant, and the coordinates found so far are rotated/reflected into that quadrant's orientation.
"""

from __future__ import annotations

import functools

import numpy as np


def hilbert_d2xy(side: int, index: int) -> tuple[int, int]:
    """The ``(x, y)`` = (column, row) cell visited at step ``index`` of the Hilbert curve.

    ``side`` is the grid side, a power of two (8 for a third-order curve); ``index`` runs over
    ``0 .. side * side - 1``. The curve starts at (0, 0) and ends at (side - 1, 0).
    """
    if side < 1 or side & (side - 1):
        raise ValueError(f"grid side must be a power of two, got {side}")
    if not 0 <= index < side * side:
        raise ValueError(f"curve index {index} is outside 0..{side * side - 1}")
    x = y = 0
    remaining = index
    size = 1
    while size < side:
        quadrant_x = 1 & (remaining // 2)
        quadrant_y = 1 & (remaining ^ quadrant_x)
        if quadrant_y == 0:  # rotate/reflect the sub-curve into this quadrant's orientation
            if quadrant_x == 1:
                x, y = size - 1 - x, size - 1 - y
            x, y = y, x
        x += size * quadrant_x
        y += size * quadrant_y
        remaining //= 4
        size *= 2
    return x, y


@functools.lru_cache(maxsize=None)
def _order(order: int) -> tuple[int, ...]:
    side = 2 ** order
    return tuple(y * side + x for x, y in (hilbert_d2xy(side, d) for d in range(side * side)))


def hilbert_order(order: int = 3) -> np.ndarray:
    """Row-major flat indices of the ``2**order`` x ``2**order`` grid in Hilbert-curve order.

    ``grid.reshape(-1)[hilbert_order()]`` lists the cells along the curve (``order=3``: the 64
    blocks of an 8x8 grid, as in LSTM-EnDec); :func:`inverse_hilbert_order` undoes it.
    """
    if order < 0:
        raise ValueError(f"curve order must be >= 0, got {order}")
    return np.array(_order(order), dtype=np.int64)


def inverse_hilbert_order(order: int = 3) -> np.ndarray:
    """The permutation that puts a sequence in Hilbert order back in row-major grid order."""
    return np.argsort(hilbert_order(order))
