"""ZERO: the JPEG grid origin of every pixel, from the number of zeros of its 8x8 DCTs, validated a contrario.

Method (T. Nikoukhah, J. Anger, M. Colom, J.-M. Morel, R. Grompone von Gioi, "ZERO: a local JPEG
grid origin detector based on the number of DCT zeros and its applications in image forensics",
Image Processing On Line 11, pp. 396-433, 2021):

1. Luminance ``Y = round(0.299 R + 0.587 G + 0.114 B)`` (Section 3).
2. The orthonormal 8x8 DCT of the block at *every* pixel position, and its number of zeros:
   AC coefficients with ``|c| < 0.5`` (the DC term is not counted). JPEG quantisation leaves
   many exact zeros on its own grid, and few on any other.
3. Each pixel votes for the grid origin ``(x mod 8, y mod 8)`` of the block, among the 64 that
   contain it, with the most zeros; ties, and blocks constant along a row or column, give no
   vote. Pixels within 7 of the border do not vote.
4. Main grid: the most voted origin, kept when it is meaningful, i.e. its number of false
   alarms ``NFA = N_T B(n, k, 1/64)`` is below 1, with ``N_T = 64^2 X^2 Y^2`` tests, the
   binomial tail ``B``, ``n = XY / 64`` and ``k`` = its votes / 64 (votes are correlated within
   8x8 blocks; dividing by 64 counts roughly independent ones).
5. Foreign grids: pixels voting for another origin are grouped by region growing (neighbours
   within 12 pixels voting for the same origin; here on a 4-pixel lattice, see
   :func:`foreign_grid_regions`); a region is a detection when
   ``N_T B(n, k, 1/64) < 1`` with ``n`` its bounding box area / 64 and ``k`` its votes / 64.
   Detections are closed morphologically with a 25 x 25 square.
6. Missing grid (the paper's second forgery-detection pass, as in the authors' ``zero()``): regions where the
   main grid is absent, e.g. a never-compressed paste into a JPEG saved losslessly afterwards.
   The picture is compressed at JPEG quality 99, which imposes a grid at origin (0, 0) wherever
   no stronger one exists, and voted again; votes of pixels that voted for the main grid in the
   evidence are removed, and the remaining votes for origin (0, 0) are grown and validated
   exactly as in step 5 (:func:`missing_grid_regions`). The pass runs only when a main grid was
   found, and only when asked for (parameter ``missing_grid``, off by default): on real
   photographs saved once it also "finds" missing grids where the main grid is merely weak
   (flat, saturated or noisy areas; everywhere at quality 98), so at the paper's NFA < 1 it
   gives false detections on single-compressed pictures, which the first pass does not.

The all-offsets DCT is separable and computed with 8 vertical and 64 horizontal 8-tap filters
over the whole image (no loop over pixels); the per-pixel vote, "the best of the 64 blocks
containing the pixel, or none on a tie", is two sliding-window maxima of ``zeros * 64 + origin``
and ``zeros * 64 + 63 - origin``: they agree on the winning origin exactly when it is unique.

Reading the output: the heatmap is 0.5 to 1 inside detected regions, foreign or missing grid
(1 = most meaningful), and at most 0.45 elsewhere, where it shows the local share of votes for
origins other than the main grid. The image score is ``s / (1 + s)`` with ``s = -log10(NFA)`` of the most meaningful
detection, so 0 means no detection, 0.5 an NFA of 0.1 and 0.9 an NFA of 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.evidence import Evidence
from forensics_core.features.jpeg import as_uint8_rgb, dct_matrix, recompress

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Neighbourhood of the region growing (pixels): votes of a meaningful region are on average
#: no further apart than 8 pixels; 12 allows for variation (Section 4 of the paper).
GROWING_DISTANCE = 12
NO_VOTE = -1
#: Side (pixels) of the lattice cells the region growing links.
CELL = 4
#: Quality of the re-compression that imposes the (0, 0) grid in the missing-grid pass (the paper's).
MISSING_GRID_QUALITY = 99
#: The grid origin that re-compression imposes: JPEG blocks start at the top-left pixel.
IMPOSED_ORIGIN = 0
_P = 1.0 / 64.0
_LN10 = np.log(10.0)


def zero_luminance(pixels: np.ndarray) -> np.ndarray:
    """ZERO's luminance: ``round(0.299 R + 0.587 G + 0.114 B)`` of the 8-bit RGB values, float32."""
    weights = np.array([[0.299, 0.587, 0.114]], np.float32)
    luminance = cv2.transform(as_uint8_rgb(pixels).astype(np.float32), weights)
    return np.rint(luminance, out=luminance)


def dct_zero_counts(luminance: np.ndarray, reporter: ProgressReporter) -> np.ndarray:
    """Number of AC coefficients with ``|c| < 0.5`` of the 8x8 DCT of the block at every top-left position.

    Returns ``(H - 7, W - 7)`` uint8. Separable: ``c[u, v] = sum_ij D[u, i] D[v, j] Y[y + i, x + j]``
    is a vertical 8-tap filter (row ``D[u]``) followed by a horizontal one (row ``D[v]``).
    """
    basis = dct_matrix().astype(np.float32)
    height, width = luminance.shape
    below_half = float(np.nextafter(np.float32(0.5), np.float32(0.0)))  # inRange is inclusive: |c| < 0.5
    # OpenCV filters down columns several times faster than along rows, so the horizontal pass
    # runs down the columns of the transposed vertical result; counts are transposed back.
    counts = np.zeros((width - 7, height - 7), np.uint16)  # sums of 255 per zero, transposed
    for u in range(8):
        vertical = cv2.filter2D(luminance, cv2.CV_32F, basis[u].reshape(8, 1), anchor=(0, 0),
                                borderType=cv2.BORDER_CONSTANT)[: height - 7]
        vertical = cv2.transpose(np.ascontiguousarray(vertical))
        for v in range(8):
            reporter.update((u * 8 + v) / 64.0, "Counting DCT zeros at every grid offset")
            if u == 0 and v == 0:
                continue
            coefficient = cv2.filter2D(vertical, cv2.CV_32F, basis[v].reshape(8, 1), anchor=(0, 0),
                                       borderType=cv2.BORDER_CONSTANT)[: width - 7]
            cv2.add(counts, cv2.inRange(coefficient, -below_half, below_half), dst=counts, dtype=cv2.CV_16U)
    return cv2.transpose(counts // 255).astype(np.uint8)


def constant_blocks(luminance: np.ndarray) -> np.ndarray:
    """True for every top-left position whose 8x8 block is constant along its rows or along its columns."""
    height, width = luminance.shape
    row_steps = (np.diff(luminance, axis=1) != 0).astype(np.float32)   # H x (W-1)
    column_steps = (np.diff(luminance, axis=0) != 0).astype(np.float32)  # (H-1) x W
    along_x = cv2.boxFilter(row_steps, -1, (7, 8), anchor=(0, 0), normalize=False,
                            borderType=cv2.BORDER_CONSTANT)[: height - 7, : width - 7] < 0.5
    along_y = cv2.boxFilter(column_steps, -1, (8, 7), anchor=(0, 0), normalize=False,
                            borderType=cv2.BORDER_CONSTANT)[: height - 7, : width - 7] < 0.5
    return along_x | along_y


def grid_votes(zeros: np.ndarray, constant: np.ndarray, reporter: ProgressReporter | None = None) -> np.ndarray:
    """Each pixel's vote (origin ``x mod 8 + 8 (y mod 8)``, or -1) from the zero counts of every block position.

    ``zeros`` and ``constant`` are indexed by block top-left position, ``(H - 7, W - 7)``. The
    64 blocks containing pixel ``(y, x)`` are those with top-left in ``[y-7, y] x [x-7, x]``, one
    per origin; a sliding 8x8 maximum of ``zeros * 64 + origin`` finds the best block (ties: the
    highest origin), of ``zeros * 64 + 63 - origin`` the best block with ties to the lowest
    origin. The vote is void on a tie (the two differ), when the best block has no zero, or when
    it is constant along an axis (the maximum over constant blocks only reaches the same key).
    ``reporter`` (optional) is updated, and cancel checked, between the whole-image steps.
    """
    step = reporter.update if reporter is not None else (lambda *_args: None)
    height, width = zeros.shape[0] + 7, zeros.shape[1] + 7
    origin = ((np.arange(zeros.shape[1]) % 8)[None, :] + 8 * (np.arange(zeros.shape[0]) % 8)[:, None]).astype(np.uint16)
    key = zeros.astype(np.uint16) * 64

    def window_maximum(values: np.ndarray) -> np.ndarray:
        padded = np.zeros((height, width), np.uint16)
        padded[: height - 7, : width - 7] = values
        return cv2.dilate(padded, np.ones((8, 8), np.uint8), anchor=(7, 7), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0)

    high_first = key + origin
    high = window_maximum(high_first)
    step(0.3, "Voting for grid origins")
    low = window_maximum(key + 63 - origin)
    step(0.6, "Voting for grid origins")
    constant_best = window_maximum(np.where(constant, high_first, 0).astype(np.uint16))
    step(0.9, "Voting for grid origins")
    winner = (high % 64).astype(np.int32)
    valid = (winner == 63 - (low % 64)) & (high >= 64) & (constant_best != high)
    votes = np.where(valid, winner, NO_VOTE).astype(np.int32)
    votes[:7, :] = votes[-7:, :] = NO_VOTE
    votes[:, :7] = votes[:, -7:] = NO_VOTE
    return votes


def log10_nfa(n: int, k: int, log_tests: float) -> float:
    """``log10(N_T B(n, k, 1/64))``, the binomial upper tail ``P[X >= k]``, ``X ~ Bin(n, 1/64)``."""
    from scipy import stats  # SciPy loads when a run starts, not when detectors are listed

    if n <= 0 or k <= 0:
        return log_tests
    k = min(k, n)
    tail = float(stats.binom.logsf(k - 1, n, _P))
    if not np.isfinite(tail):  # far in the tail: the first term dominates
        tail = float(stats.binom.logpmf(k, n, _P))
    return log_tests + tail / _LN10


def log_number_of_tests(height: int, width: int) -> float:
    """``log10(64^2 X^2 Y^2)``: every origin, every region bounding box."""
    return 2.0 * np.log10(64.0) + 2.0 * np.log10(width) + 2.0 * np.log10(height)


@dataclass(frozen=True)
class GridRegion:
    """A meaningful region of votes: for an origin other than the main grid, or (missing grid) for the imposed one."""

    origin: int
    top: int
    left: int
    bottom: int
    right: int
    log10_nfa: float
    pixels: np.ndarray  # (2, count) row and column indices of its votes


def main_grid(votes: np.ndarray, log_threshold: float) -> tuple[int, list[float]]:
    """The meaningful most-voted origin (or -1) and every origin's log10 NFA."""
    height, width = votes.shape
    counts = np.bincount(votes[votes >= 0].ravel(), minlength=64)
    log_tests = log_number_of_tests(height, width)
    lnfa = [log10_nfa(height * width // 64, int(c) // 64, log_tests) for c in counts]
    best = int(np.argmax(counts))
    return (best if counts[best] > 0 and lnfa[best] < log_threshold else NO_VOTE), lnfa


def grid_regions(votes: np.ndarray, origins: list[int], log_threshold: float,
                 reporter: ProgressReporter) -> list[GridRegion]:
    """Region growing of the votes for each of ``origins`` and their a-contrario validation.

    The growing links two votes for the same origin that lie within :data:`GROWING_DISTANCE`
    pixels. It runs on a lattice of :data:`CELL` x :data:`CELL` cells: cells holding votes for
    the origin are linked when at most ``GROWING_DISTANCE / CELL`` cells apart (Chebyshev), a
    distance between 9 and 15 pixels, which keeps a 12-megapixel image to a second. Each
    region's vote count and bounding box are then taken from its pixels exactly.
    """
    height, width = votes.shape
    log_tests = log_number_of_tests(height, width)
    min_size = int(np.ceil(64.0 * log_tests / np.log10(64.0)))
    flat = votes.ravel().astype(np.int8)
    order = np.argsort(flat, kind="stable")  # radix sort of small integers: votes grouped by origin
    reporter.update(0.0, "Growing regions of foreign grids")
    starts = np.searchsorted(flat[order], np.arange(-1, 65))
    reporter.update(0.0, "Growing regions of foreign grids")
    cell_rows, cell_cols = -(-height // CELL), -(-width // CELL)
    reach = GROWING_DISTANCE // CELL
    kernel = np.ones((reach + 1, reach + 1), np.uint8)  # squares of side reach+1 meet iff <= reach apart
    candidates = [g for g in origins if starts[g + 2] - starts[g + 1] >= min_size]
    regions = []
    for index, origin in enumerate(candidates):
        reporter.update(index / max(len(candidates), 1), "Growing regions of foreign grids")
        pixels = order[starts[origin + 1]: starts[origin + 2]]
        rows, cols = pixels // width, pixels % width
        cells = (rows // CELL) * cell_cols + cols // CELL
        occupied = np.zeros(cell_rows * cell_cols, np.uint8)
        occupied[cells] = 1
        grown = cv2.dilate(occupied.reshape(cell_rows, cell_cols), kernel)
        _, labels = cv2.connectedComponents(grown, connectivity=8, ltype=cv2.CV_32S)
        vote_labels = labels.ravel()[cells]
        sizes = np.bincount(vote_labels)
        for label in np.nonzero(sizes >= min_size)[0]:
            members = vote_labels == label
            region_rows, region_cols = rows[members], cols[members]
            top, bottom = int(region_rows.min()), int(region_rows.max())
            left, right = int(region_cols.min()), int(region_cols.max())
            n = (bottom - top + 1) * (right - left + 1) // 64
            lnfa = log10_nfa(n, int(sizes[label]) // 64, log_tests)
            if lnfa < log_threshold:
                regions.append(GridRegion(origin, top, left, bottom, right, lnfa,
                                          np.stack([region_rows, region_cols])))
    return regions


def foreign_grid_regions(votes: np.ndarray, main: int, log_threshold: float,
                         reporter: ProgressReporter) -> list[GridRegion]:
    """Meaningful regions voting for an origin other than ``main`` (every origin when there is no main grid)."""
    return grid_regions(votes, [g for g in range(64) if g != main], log_threshold, reporter)


def missing_grid_regions(pixels: np.ndarray, votes: np.ndarray, main: int, log_threshold: float,
                         reporter: ProgressReporter) -> tuple[list[GridRegion], np.ndarray]:
    """Meaningful regions where the main grid is missing (step 6 of the module docstring).

    ``pixels`` are the evidence's RGB values, ``votes`` its vote map and ``main`` its main grid.
    The pixels are compressed at :data:`MISSING_GRID_QUALITY` on the (0, 0) grid and voted
    again; the votes of pixels that voted for ``main`` in the evidence are voided, and the votes
    left for :data:`IMPOSED_ORIGIN` are grown and validated like foreign grids. A region found
    this way held no grid strong enough to resist the imposed one. Returns the regions and the
    re-compressed picture's vote map (after voiding).
    """
    luminance = zero_luminance(recompress(as_uint8_rgb(pixels), MISSING_GRID_QUALITY))
    reporter.update(0.05, "Missing grid: counting DCT zeros after re-compression")
    zeros = dct_zero_counts(luminance, reporter.scaled(0.05, 0.8))
    imposed_votes = grid_votes(zeros, constant_blocks(luminance), reporter.scaled(0.8, 0.9))
    imposed_votes[votes == main] = NO_VOTE
    return grid_regions(imposed_votes, [IMPOSED_ORIGIN], log_threshold, reporter.scaled(0.9, 1.0)), imposed_votes


def closed_mask(regions: list[GridRegion], shape: tuple[int, int]) -> np.ndarray:
    """The detected votes closed morphologically with a square of side ``2 W + 1`` (W = 12)."""
    mask = np.zeros(shape, np.uint8)
    for region in regions:
        mask[region.pixels[0], region.pixels[1]] = 1
    side = 2 * GROWING_DISTANCE + 1
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((side, side), np.uint8)).astype(bool)


def meaningfulness(log10_nfa_value: float) -> float:
    """``s / (1 + s)`` with ``s = max(0, -log10 NFA)``: 0 for no detection, 0.5 at NFA = 0.1."""
    s = max(0.0, -log10_nfa_value)
    return s / (1.0 + s)


@register_detector
class JpegGrid(Detector):
    """ZERO (Nikoukhah et al., IPOL 2021): local JPEG grid origins and a-contrario forgery detection."""

    id = "jpeg-grid"
    display_name = "JPEG grid origin (ZERO)"
    reference = ("T. Nikoukhah, J. Anger, M. Colom, J.-M. Morel, R. Grompone von Gioi, \"ZERO: a local JPEG "
                 "grid origin detector based on the number of DCT zeros and its applications in image "
                 "forensics\", Image Processing On Line 11, 2021")
    version = "1.1"
    score_definition = "a-contrario NFA of the most meaningful grid detection, s/(1+s) with s = -log10(NFA)"
    calibrated_threshold = False
    description = (
        "What it shows: regions whose 8x8 JPEG grid differs from the picture's main grid, or where the main "
        "grid is missing, validated by a number of false alarms (NFA). Works on decoded pixels, so a PNG that was once a JPEG is analysed. "
        "Heatmap: 0.5-1 inside detections, below 0.45 elsewhere (share of votes for other grids). Score: "
        "s/(1+s) with s = -log10(NFA) of the best detection: 0 = nothing found, 0.5 = NFA 0.1, 0.9 = NFA 1e-9.")
    limitations = (
        "A region pasted on the same 8x8 grid as the picture (aligned) and then saved as JPEG at any quality "
        "gets the main grid from that save and is not detected; only a lossless save after the paste "
        "leaves it without a grid (the missing-grid case).",
        "A paste with its own shifted grid is seen only while the last save keeps that grid (quality about "
        "98 or above, or lossless); a JPEG save at a lower quality imposes the main grid on it.",
        "Never-compressed pictures, or ones saved at quality close to 100, have no grid to compare with.",
        "Flat, saturated or very dark areas give no votes; resampling or heavy filtering erases grids.",
        "The missing-grid pass (off by default) also flags single-compressed photographs where the main grid "
        "is weak (flat, saturated or noisy areas, or a last save at quality 98 or above).",
        "A main grid other than (0, 0) means the picture was cropped after compression, not necessarily forged.",
    )
    needs_weights = False
    parameters = (
        Parameter("log_nfa_threshold", float, 0.0, "log10 NFA threshold",
                  "A grid (main or foreign) is kept when log10(NFA) is below this; 0 = NFA < 1 (the paper).",
                  -20.0, 5.0),
        Parameter("missing_grid", bool, False, "Look for missing grids",
                  "Also look for regions where the main grid is absent (the paper's second pass: re-compression "
                  "at quality 99 and a second vote; about doubles the run time). Off by default: it also flags "
                  "areas of single-compressed photographs where the grid is merely weak."),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Votes, main grid, foreign-grid regions, their NFA and the heatmap described above."""
        threshold = params["log_nfa_threshold"]
        height, width = evidence.height, evidence.width
        if height < 16 or width < 16:
            return Analysis(heatmap=np.zeros((height, width), np.float32), score=0.0, threshold=0.5,
                            extra={"note": "The picture is too small for 8x8 grid votes."})
        luminance = zero_luminance(evidence.pixels)
        reporter.update(0.0, "Counting DCT zeros at every grid offset")
        zeros = dct_zero_counts(luminance, reporter.scaled(0.0, 0.35))
        reporter.update(0.36, "Voting for grid origins", force=True)
        constant = constant_blocks(luminance)
        reporter.update(0.37, "Voting for grid origins")
        votes = grid_votes(zeros, constant, reporter.scaled(0.37, 0.4))
        del zeros, constant
        reporter.update(0.4, "Finding the main grid")
        main, lnfa_grids = main_grid(votes, threshold)
        reporter.update(0.41, "Growing regions of foreign grids")
        regions = foreign_grid_regions(votes, main, threshold, reporter.scaled(0.41, 0.5))
        missing: list[GridRegion] = []
        extra_maps = {}
        if params["missing_grid"] and main >= 0:
            missing, imposed_votes = missing_grid_regions(evidence.pixels, votes, main, threshold,
                                                          reporter.scaled(0.5, 0.95))
            extra_maps["missing-grid votes (origin / 63)"] = np.where(imposed_votes >= 0, imposed_votes / 63.0,
                                                                      0.0).astype(np.float32)
        detections = regions + missing
        best = min((r.log10_nfa for r in detections), default=float("inf"))
        score = meaningfulness(best) if detections else 0.0
        reporter.update(0.96, "Mapping the share of foreign-grid votes")
        valid = (votes >= 0).astype(np.float32)
        foreign = ((votes >= 0) & (votes != main)).astype(np.float32) if main >= 0 else np.zeros_like(valid)
        box = (33, 33)
        share = cv2.blur(foreign, box) / np.maximum(cv2.blur(valid, box), 1e-6)
        heatmap = 0.45 * share
        reporter.update(0.98, "Marking the foreign-grid regions")
        detected = closed_mask(detections, (height, width))
        heatmap[detected] = 0.5 + 0.5 * score
        reporter.update(0.99, "Mapping the grid votes")
        vote_map = np.where(votes >= 0, votes / 63.0, 0.0).astype(np.float32)
        return Analysis(
            heatmap=heatmap.astype(np.float32), score=score, threshold=0.5, mask=detected,
            extra_maps={"grid votes (origin / 63)": vote_map, **extra_maps},
            extra={"main_grid": None if main < 0 else {"x": main % 8, "y": main // 8,
                                                        "log10_nfa": lnfa_grids[main]},
                   "significant_grids": [{"x": g % 8, "y": g // 8, "log10_nfa": v}
                                         for g, v in enumerate(lnfa_grids) if v < threshold and g != main],
                   "regions": [{"grid_x": r.origin % 8, "grid_y": r.origin // 8, "top": r.top, "left": r.left,
                                "bottom": r.bottom, "right": r.right, "log10_nfa": r.log10_nfa} for r in regions],
                   "missing_grid_regions": [{"top": r.top, "left": r.left, "bottom": r.bottom, "right": r.right,
                                             "log10_nfa": r.log10_nfa} for r in missing],
                   "missing_grid_searched": bool(params["missing_grid"] and main >= 0),
                   "best_log10_nfa": None if not detections else best})
