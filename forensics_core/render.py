"""Pictures of results for the screen, files and reports: colour maps, colour bars, overlays, outlines.

One colour map implementation serves every place a heatmap is shown: :func:`colormap_lut` is a
256-entry RGB table, read from OpenCV's perceptually uniform maps (viridis, inferno, cividis,
after van der Walt & Smith's matplotlib maps), and the workbench's view, ``overlay.png``, the
per-class maps and the report all index that same table, so that a colour means the same
heatmap value everywhere. :func:`colour_bar` draws the scale that goes with a picture.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

#: OpenCV's table of each colour map the workbench offers, by name.
COLORMAPS = {"inferno": cv2.COLORMAP_INFERNO, "viridis": cv2.COLORMAP_VIRIDIS, "cividis": cv2.COLORMAP_CIVIDIS}
#: The names, in the order the workbench offers them (the first is the default).
COLORMAP_NAMES = tuple(COLORMAPS)

_BAR_TEXT = (30, 30, 30)
_BAR_BACKGROUND = (255, 255, 255)


@functools.cache
def colormap_lut(name: str) -> np.ndarray:
    """The (256, 3) uint8 RGB table of colour map ``name``: entry ``k`` colours heatmap value k/255.

    Read-only (shared by every caller); an unknown name raises ``KeyError`` listing the known ones.
    """
    if name not in COLORMAPS:
        raise KeyError(f"unknown colour map {name!r}; known: {', '.join(COLORMAP_NAMES)}")
    levels = np.arange(256, dtype=np.uint8)[:, None]
    lut = cv2.cvtColor(cv2.applyColorMap(levels, COLORMAPS[name]), cv2.COLOR_BGR2RGB)[:, 0, :]
    lut.setflags(write=False)
    return lut


def stretched_lut(name: str, low: int = 0, high: int = 255) -> np.ndarray:
    """(256, 3) table of ``name`` spread over the 8-bit levels ``low..high``.

    Levels below ``low`` get the first colour and above ``high`` the last; ``(0, 255)`` is the
    plain table. Display only: thresholds and statistics always use the heatmap's own values.
    """
    full = colormap_lut(name)
    if (low, high) == (0, 255):
        return full
    span = max(high - low, 1)
    positions = np.clip((np.arange(256) - low) / span, 0.0, 1.0)
    return full[np.rint(positions * 255).astype(np.intp)]


def to_uint8_rgb(rgb_float: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0, 1] to uint8, rounding."""
    return np.clip(np.rint(rgb_float * 255.0), 0, 255).astype(np.uint8)


def colorize(heatmap: np.ndarray, colormap: str = "inferno",
             value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """HxW heatmap to an HxWx3 uint8 RGB picture through :func:`colormap_lut`.

    The colour map spans ``value_range`` (low, high): the fixed heatmap scale [0, 1] by default,
    or a narrower range to stretch the colours over the values a map takes.
    """
    low, high = value_range
    scaled = (heatmap - np.float32(low)) / np.float32(max(high - low, 1e-6))
    grey = np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
    return colormap_lut(colormap)[grey]


def overlay(image_rgb: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5,
            colormap: str = "inferno", value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Blend the colour-mapped heatmap (see :func:`colorize`) over the uint8 RGB image with ``opacity`` in [0, 1]."""
    coloured = colorize(heatmap, colormap, value_range).astype(np.float32)
    blended = (1.0 - opacity) * image_rgb.astype(np.float32) + opacity * coloured
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def colour_bar(colormap: str = "inferno", value_range: tuple[float, float] = (0.0, 1.0), width: int = 512,
               label: str = "heatmap value") -> np.ndarray:
    """A horizontal colour bar, ``width`` pixels wide, with its value scale written underneath.

    The bar runs from ``value_range[0]`` (left) to ``value_range[1]`` (right) through the same
    table as :func:`colorize`; five evenly spaced ticks carry their heatmap values and ``label``
    names the quantity. Returns an RGB uint8 picture on a white background.
    """
    width = max(int(width), 160)
    scale = float(np.clip(width / 900.0, 0.4, 1.2))
    margin = max(int(round(24 * scale)), 10)
    bar_height = max(int(round(22 * scale)), 10)
    text_height = int(round(34 * scale)) + 4
    height = bar_height + 2 * text_height + 8
    picture = np.full((height, width, 3), _BAR_BACKGROUND, np.uint8)
    inner = width - 2 * margin
    positions = np.linspace(0.0, 1.0, inner)
    levels = np.clip(np.rint(positions * 255), 0, 255).astype(np.intp)
    picture[4:4 + bar_height, margin:margin + inner] = colormap_lut(colormap)[levels][None, :, :]
    cv2.rectangle(picture, (margin - 1, 3), (margin + inner, 4 + bar_height), _BAR_TEXT, 1)
    low, high = value_range
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, int(round(scale)))
    text_scale = 0.5 * scale + 0.05
    baseline_y = 4 + bar_height + text_height - 6
    for fraction in np.linspace(0.0, 1.0, 5):
        x = margin + int(round(fraction * (inner - 1)))
        cv2.line(picture, (x, 4 + bar_height), (x, 4 + bar_height + 5), _BAR_TEXT, 1)
        text = f"{low + fraction * (high - low):.2f}"
        (text_w, _), _ = cv2.getTextSize(text, font, text_scale, thickness)
        left = int(np.clip(x - text_w // 2, 0, width - text_w))
        cv2.putText(picture, text, (left, baseline_y), font, text_scale, _BAR_TEXT, thickness, cv2.LINE_AA)
    caption = f"{label} ({colormap})"
    (caption_w, _), _ = cv2.getTextSize(caption, font, text_scale, thickness)
    cv2.putText(picture, caption, ((width - caption_w) // 2, baseline_y + text_height - 4), font, text_scale,
                _BAR_TEXT, thickness, cv2.LINE_AA)
    return picture


def with_colour_bar(picture: np.ndarray, colormap: str = "inferno",
                    value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """``picture`` with its :func:`colour_bar` added underneath (the picture's pixels are untouched).

    A picture narrower than the smallest readable bar is padded with white on its right.
    """
    bar = colour_bar(colormap, value_range, width=picture.shape[1])
    if bar.shape[1] > picture.shape[1]:
        padding = np.full((picture.shape[0], bar.shape[1] - picture.shape[1], 3), _BAR_BACKGROUND, np.uint8)
        picture = np.concatenate([picture, padding], axis=1)
    return np.concatenate([picture, bar], axis=0)


def outline(image_rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = (255, 40, 40),
            thickness: int = 2) -> np.ndarray:
    """The image with the boundary of ``mask`` drawn in ``colour``."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    picture = np.ascontiguousarray(image_rgb.copy())
    cv2.drawContours(picture, contours, -1, colour, thickness)
    return picture
