"""Lookup tables and cached display layers for heatmaps, masks and outlines.

The heatmap is quantised once to 8 bits for display; changing the threshold, the colour map or
the view then only swaps a 256-entry lookup table, which keeps redraws fast on large images.
Statistics never use the quantised copy: they come from :mod:`forensics_core` on the float map.
"""

from __future__ import annotations

import cv2
import numpy as np

from forensics_core.render import COLORMAP_NAMES, stretched_lut

from app.display_data import quantise

VIEW_MODES = ("original", "heatmap", "mask", "outline")
COLORMAPS = COLORMAP_NAMES
OUTLINE_RGBA = (255, 40, 40, 255)


def threshold_index(threshold: float) -> int:
    """The first 8-bit display level counted as flagged at ``threshold``."""
    return int(np.clip(np.ceil(threshold * 255.0 - 1e-6), 0, 256))


def heatmap_lut(name: str, low: int = 0, high: int = 255) -> np.ndarray:
    """256x4 uint8 RGBA table of colour map ``name`` spread over the 8-bit levels ``low..high``.

    The colours are :func:`forensics_core.render.stretched_lut`'s, the same table that colours
    ``overlay.png`` and the report, so a colour means the same value on screen and on paper.
    The default spans the whole 0..1 heatmap scale; a narrower range stretches the colours over
    the values a map actually takes. Display only: thresholds and statistics use the heatmap.
    """
    lut = np.full((256, 4), 255, np.uint8)
    lut[:, :3] = stretched_lut(name, low, high)
    return lut


def mask_lut(threshold: float) -> np.ndarray:
    """256x4 table: black below the threshold, white at or above it (a binary mask)."""
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 3] = 255
    lut[threshold_index(threshold):, :3] = 255
    return lut


def outline_lut() -> np.ndarray:
    """256x4 table for a 0/1 outline: transparent background, red outline."""
    lut = np.zeros((256, 4), np.uint8)
    lut[1:] = OUTLINE_RGBA
    return lut


def outline_thickness(shape: tuple[int, ...]) -> int:
    """Outline width in image pixels, so that it stays visible when a large image is fitted."""
    return max(1, round(max(shape[0], shape[1]) / 700))


class ResultLayer:
    """The display data of one heatmap: its 8-bit copy and the outline at the last threshold."""

    def __init__(self, heatmap: np.ndarray, levels: np.ndarray | None = None) -> None:
        self.levels = quantise(heatmap) if levels is None else levels
        side = 2 * outline_thickness(heatmap.shape) + 1
        self._kernel = np.ones((side, side), np.uint8)
        self._outline_index: int | None = None
        self._outline = np.zeros(heatmap.shape, np.uint8)

    def outline(self, threshold: float) -> np.ndarray:
        """uint8 0/1 outline of the displayed mask at ``threshold`` (cached for the last level).

        Same rule as :func:`forensics_core.postprocess.mask_outline` (mask minus its erosion,
        outside the image counted as background), applied to the 8-bit display copy with
        OpenCV so that dragging the threshold stays fast on large images.
        """
        index = threshold_index(threshold)
        if index != self._outline_index:
            mask = (self.levels >= index).view(np.uint8)
            eroded = cv2.erode(mask, self._kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
            self._outline = cv2.subtract(mask, eroded)
            self._outline_index = index
        return self._outline
