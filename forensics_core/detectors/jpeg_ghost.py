"""JPEG ghosts: a region once saved at a lower quality than the rest reappears when re-saved at that quality.

Method (H. Farid, "Exposing digital forgeries from JPEG ghosts", IEEE Transactions on
Information Forensics and Security 4(1), 2009, Section II): the image ``f`` is re-saved at a
range of qualities ``q``; for each, the squared difference to the re-save, averaged over the
three colour channels and over a ``b`` x ``b`` neighbourhood (the paper's Eq. 3, ``b = 16``),
is normalised at every pixel into [0, 1] across the qualities (Eq. 4). A region whose
coefficients were last quantised at quality ``q0`` changes least when re-saved at ``q0``: it
shows as a dark "ghost" in the map of ``q0`` while the rest of the picture, saved at another
quality, does not.

Each quality's map is kept (as ``1 - normalised difference``, so that a ghost is bright) for
the examiner to step through; the heatmap is the map whose Otsu split separates its two classes
best, measured by ``2 sqrt(w0 w1) |m1 - m0|`` (class weights ``w``, class means ``m``), which is
also the image score. The neighbourhood average is computed on 8x8 block means (two blocks a
side, so ``b = 16``), which keeps a 12-megapixel image within a few seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import ParameterError
from forensics_core.evidence import Evidence
from forensics_core.features.jpeg import as_uint8_rgb, block_means, expand_blocks, recompress_bgr
from forensics_core.map_series import MAP_SERIES_KEY, declare_map_series

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Side of the tiles whose means the neighbourhood average is built from.
_TILE = 8
#: Rows of tiles compared with a re-save at a time (a cancel check between bands of 512 pixel rows).
_BAND_TILES = 64


def ghost_differences(bgr: np.ndarray, qualities: list[int], window_tiles: int,
                      reporter: ProgressReporter) -> np.ndarray:
    """Farid's Eq. 3 on a tile grid: mean squared re-save difference per ``_TILE``-px tile, box-averaged.

    Returns ``(len(qualities), tiles_down, tiles_across)`` float32 values in grey levels squared.
    """
    third = np.full((1, 3), 1.0 / 3.0, np.float32)
    maps = []
    for index, quality in enumerate(qualities):
        reporter.update(index / len(qualities), f"Re-saving at quality {quality}")
        resaved = recompress_bgr(bgr, quality)
        bands = []
        for top in range(0, bgr.shape[0], _BAND_TILES * _TILE):  # whole tiles per band: the same means
            reporter.update((index + 0.5) / len(qualities), f"Comparing with the re-save at quality {quality}")
            rows = slice(top, top + _BAND_TILES * _TILE)
            difference = cv2.absdiff(bgr[rows], resaved[rows])
            squared = cv2.transform(cv2.multiply(difference, difference, dtype=cv2.CV_32F), third)
            bands.append(block_means(squared, _TILE))
        tiles = np.concatenate(bands)
        maps.append(cv2.blur(tiles, (window_tiles, window_tiles), borderType=cv2.BORDER_REFLECT))
    return np.stack(maps)


def normalise_across_qualities(differences: np.ndarray) -> np.ndarray:
    """Farid's Eq. 4: ``(d - min_q d) / (max_q d - min_q d)`` at each place (0 where all are equal)."""
    low, high = differences.min(axis=0), differences.max(axis=0)
    span = np.where(high > low, high - low, np.float32(1.0))
    return (differences - low) / span


def separation(values: np.ndarray) -> float:
    """``2 sqrt(w0 w1) |m1 - m0|`` of the two classes Otsu's threshold splits ``values`` (in [0, 1]) into."""
    from forensics_core.postprocess import otsu_threshold  # scikit-image: loaded when a run starts

    flat = values.ravel()
    threshold = otsu_threshold(flat)
    upper = flat >= threshold
    w1 = float(upper.mean())
    if w1 in (0.0, 1.0):
        return 0.0
    return float(2.0 * np.sqrt(w1 * (1.0 - w1)) * abs(flat[upper].mean() - flat[~upper].mean()))


@register_detector
class JpegGhost(Detector):
    """JPEG ghosts (Farid 2009): re-save differences over a range of qualities."""

    id = "jpeg-ghost"
    display_name = "JPEG ghosts"
    reference = ("H. Farid, \"Exposing digital forgeries from JPEG ghosts\", IEEE Trans. Information "
                 "Forensics and Security 4(1), 2009")
    version = "1.0"
    description = (
        "What it shows: for each re-save quality, where the picture changes least (bright = a ghost). "
        "A region last saved at a lower quality than the rest lights up at that quality; the slider "
        "steps through the qualities and the heatmap is the one that best separates a region.")
    limitations = (
        "Only a region saved earlier at a LOWER quality than the final save leaves a ghost; a region "
        "saved at a higher quality, or never compressed, does not.",
        "The pasted region must sit on the picture's 8x8 grid; a shifted paste leaves a weak ghost or none.",
        "Flat, dark or saturated areas change little at every quality and can look like ghosts.",
        "Below about 16x16 pixels a region is averaged away.",
    )
    needs_weights = False
    parameters = (
        Parameter("min_quality", int, 50, "Lowest quality", "Lowest re-save quality.", 10, 99),
        Parameter("max_quality", int, 95, "Highest quality", "Highest re-save quality.", 11, 100),
        Parameter("step", int, 5, "Quality step", "Step between re-save qualities.", 1, 50),
        Parameter("window", int, 16, "Window (px)",
                  "Side of the neighbourhood the difference is averaged over (Farid: 16); a multiple of 8.", 8, 128),
    )

    def estimate_peak_bytes(self, evidence: Evidence, params: Mapping[str, Any]) -> int:
        """About 40 bytes a pixel of working arrays, plus one float32 map a pixel per re-save quality kept."""
        values = self.validate_params(params)
        count = len(range(values["min_quality"], values["max_quality"] + 1, values["step"]))
        return int((40 + 4 * count) * evidence.width * evidence.height + self.working_bytes_fixed)

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Re-save at every quality, normalise, keep each map and pick the best-separating one."""
        if params["min_quality"] >= params["max_quality"]:
            raise ParameterError("The lowest quality must be below the highest quality.")
        qualities = list(range(params["min_quality"], params["max_quality"] + 1, params["step"]))
        if len(qualities) < 2:
            raise ParameterError("JPEG ghosts need at least two re-save qualities; lower the step.")
        bgr = np.ascontiguousarray(as_uint8_rgb(evidence.pixels)[:, :, ::-1])
        window_tiles = max(1, int(round(params["window"] / _TILE)))
        differences = ghost_differences(bgr, qualities, window_tiles, reporter.scaled(0.0, 0.85))
        ghosts = 1.0 - normalise_across_qualities(differences)
        reporter.update(0.9, "Choosing the quality that separates a region best", force=True)
        separations = []
        for index, ghost in enumerate(ghosts):
            reporter.update(0.9 + 0.05 * index / len(ghosts), "Choosing the quality that separates a region best")
            separations.append(separation(ghost))
        best = int(np.argmax(separations))
        shape = (evidence.height, evidence.width)
        names = [f"ghost q={q}" for q in qualities]
        extra_maps = {}
        for index, (name, ghost) in enumerate(zip(names, ghosts)):
            reporter.update(0.95 + 0.05 * index / len(ghosts), "Expanding the ghost maps to full size")
            extra_maps[name] = expand_blocks(ghost, _TILE, shape)
        return Analysis(
            heatmap=extra_maps[names[best]], score=separations[best], extra_maps=extra_maps,
            extra={"best_quality": qualities[best],
                   "separation_by_quality": {str(q): s for q, s in zip(qualities, separations)},
                   MAP_SERIES_KEY: declare_map_series("Re-save quality", names, qualities, best)})
