"""Local statistics on a grid of square cells, summed over sliding windows, and back to pixels.

Block-based forensic detectors (Splicebuster, CFA and noise-level analyses) describe every window
of an image by sums of per-pixel quantities (histogram counts, powers of a filter response). At
12 megapixels these sums are computed once per ``cell x cell`` cell and a window of ``k x k``
cells is the sum of its cells, taken from a summed-area table: every window position on the cell
grid costs the same whatever the window size.
"""

from __future__ import annotations

import cv2
import numpy as np


def cell_sums(values: np.ndarray, cell: int) -> np.ndarray:
    """Sum of ``values`` (HxW or HxWxC) over each whole ``cell x cell`` cell (a ragged edge is dropped).

    Returns float64 of shape ``(H // cell, W // cell)`` plus the trailing channel axis, if any.
    """
    rows, cols = values.shape[0] // cell, values.shape[1] // cell
    cropped = values[:rows * cell, :cols * cell]
    shaped = cropped.reshape(rows, cell, cols, cell, *values.shape[2:])
    return shaped.sum(axis=(1, 3), dtype=np.float64)


def cell_histograms(codes: np.ndarray, cell: int, n_bins: int) -> np.ndarray:
    """Counts of each code (0..n_bins-1) of an HxW integer map in every ``cell x cell`` cell.

    Returns float64 of shape ``(H // cell, W // cell, n_bins)``.
    """
    rows, cols = codes.shape[0] // cell, codes.shape[1] // cell
    cell_row = (np.arange(rows * cell, dtype=np.int64) // cell)[:, None]
    cell_col = (np.arange(cols * cell, dtype=np.int64) // cell)[None, :]
    index = (cell_row * cols + cell_col) * n_bins + codes[:rows * cell, :cols * cell]
    counts = np.bincount(index.ravel(), minlength=rows * cols * n_bins)
    return counts.reshape(rows, cols, n_bins).astype(np.float64)


def window_sums(cells: np.ndarray, k: int) -> np.ndarray:
    """Sums over every ``k x k`` block of cells (stride one cell), from a summed-area table.

    ``cells`` is ``(R, C)`` or ``(R, C, D)``; the result is ``(R - k + 1, C - k + 1)`` (plus ``D``).
    """
    if k > min(cells.shape[:2]):
        raise ValueError(f"a window of {k} cells does not fit a {cells.shape[0]}x{cells.shape[1]} cell grid")
    table = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1, *cells.shape[2:]), np.float64)
    np.cumsum(np.cumsum(cells, axis=0), axis=1, out=table[1:, 1:])
    return table[k:, k:] - table[:-k, k:] - table[k:, :-k] + table[:-k, :-k]


def upsample_window_map(scores: np.ndarray, window: int, stride: int, height: int, width: int,
                        origin: float = 0.0) -> np.ndarray:
    """Bilinear interpolation of window scores to an ``height x width`` float32 map.

    Window ``(i, j)`` covers ``window`` pixels from ``origin + i*stride`` (rows) and ``origin +
    j*stride`` (columns), so its centre is at ``origin + i*stride + (window-1)/2``; outside the
    outermost centres the edge values are held.
    """
    centre = origin + (window - 1) / 2.0
    map_x = np.broadcast_to(((np.arange(width, dtype=np.float32) - centre) / stride)[None, :], (height, width))
    map_y = np.broadcast_to(((np.arange(height, dtype=np.float32) - centre) / stride)[:, None], (height, width))
    return cv2.remap(scores.astype(np.float32), np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
