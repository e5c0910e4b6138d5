"""Pictures of results for files and reports: colour-mapped heatmaps, overlays and outlines.

Colour maps are perceptually uniform (viridis / inferno / cividis, from OpenCV's tables).
"""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {"viridis": cv2.COLORMAP_VIRIDIS, "inferno": cv2.COLORMAP_INFERNO, "cividis": cv2.COLORMAP_CIVIDIS}


def to_uint8_rgb(rgb_float: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0, 1] to uint8, rounding."""
    return np.clip(np.rint(rgb_float * 255.0), 0, 255).astype(np.uint8)


def colorize(heatmap: np.ndarray, colormap: str = "inferno",
             value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """HxW heatmap to an HxWx3 uint8 RGB picture through a perceptually uniform map.

    The colour map spans ``value_range`` (low, high): the fixed heatmap scale [0, 1] by default,
    or a narrower range to stretch the colours over the values a map takes.
    """
    low, high = value_range
    scaled = (heatmap - np.float32(low)) / np.float32(max(high - low, 1e-6))
    grey = np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(grey, COLORMAPS[colormap])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay(image_rgb: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5,
            colormap: str = "inferno", value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Blend the colour-mapped heatmap (see :func:`colorize`) over the uint8 RGB image with ``opacity`` in [0, 1]."""
    coloured = colorize(heatmap, colormap, value_range).astype(np.float32)
    blended = (1.0 - opacity) * image_rgb.astype(np.float32) + opacity * coloured
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def outline(image_rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = (255, 40, 40),
            thickness: int = 2) -> np.ndarray:
    """The image with the boundary of ``mask`` drawn in ``colour``."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    picture = np.ascontiguousarray(image_rgb.copy())
    cv2.drawContours(picture, contours, -1, colour, thickness)
    return picture
