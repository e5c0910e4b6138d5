"""One colour table for every picture of a heatmap, and the colour bar drawn from it."""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core.render import COLORMAP_NAMES, colorize, colormap_lut, colour_bar, stretched_lut, with_colour_bar


@pytest.mark.parametrize("name", COLORMAP_NAMES)
def test_colormap_lut_is_a_read_only_256_entry_rgb_table(name):
    lut = colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8 and not lut.flags.writeable
    luminance = lut.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) > -1.0)  # perceptually uniform maps brighten monotonically


def test_inferno_runs_from_black_to_pale_yellow():
    lut = colormap_lut("inferno")
    assert lut[0].max() < 10 and lut[255][0] > 240 and lut[255][1] > 240


def test_colorize_indexes_the_table():
    values = np.arange(256, dtype=np.float32)[None, :] / 255.0
    np.testing.assert_array_equal(colorize(values, "viridis")[0], colormap_lut("viridis"))


def test_stretched_lut_spreads_the_colours_over_the_given_levels():
    stretched, full = stretched_lut("inferno", 50, 150), colormap_lut("inferno")
    np.testing.assert_array_equal(stretched[:51], np.repeat(full[:1], 51, axis=0))
    np.testing.assert_array_equal(stretched[150:], np.repeat(full[255:], 106, axis=0))
    assert stretched_lut("inferno") is full


def test_unknown_colour_map_is_named_in_the_error():
    with pytest.raises(KeyError, match="jet"):
        colormap_lut("jet")


def test_colour_bar_shows_the_table_left_to_right():
    bar = colour_bar("cividis", (0.0, 1.0), width=600)
    row = bar[10]  # a row through the bar
    coloured = row[np.any(row != 255, axis=1)]
    lut = colormap_lut("cividis")
    assert np.abs(coloured[2].astype(int) - lut[0]).max() <= 2
    assert np.abs(coloured[-3].astype(int) - lut[255]).max() <= 2
    assert bar.shape[1] == 600 and np.any(bar[-20:] < 128)  # tick labels are written under the bar


def test_with_colour_bar_keeps_the_picture_untouched():
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (40, 300, 3), dtype=np.uint8)
    framed = with_colour_bar(picture, "inferno")
    np.testing.assert_array_equal(framed[:40], picture)
    assert framed.shape[0] > 40 and framed.shape[1] == 300
    narrow = with_colour_bar(picture[:, :50], "inferno")
    np.testing.assert_array_equal(narrow[:40, :50], picture[:, :50])
