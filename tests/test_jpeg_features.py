"""The shared JPEG features against the JPEG standard's definitions, and the map-series declaration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dctn

from forensics_core.detectors.base import ProgressReporter
from forensics_core.detectors.jpeg_grid import dct_zero_counts, grid_votes, log10_nfa
from forensics_core.evidence import load_evidence
from forensics_core.evidence.jpeg import IJG_LUMINANCE, scaled_table
from forensics_core.features.jpeg import (
    ZIGZAG,
    block_means,
    dct_matrix,
    expand_blocks,
    read_luma_coefficients,
)
from forensics_core.map_series import MAP_SERIES_KEY, declare_map_series, map_series
from tests.jpeg_fixtures import textured_photo, write_jpeg


def test_dct_matrix_is_the_orthonormal_dct_ii():
    block = np.random.default_rng(0).normal(size=(8, 8))
    basis = dct_matrix()
    np.testing.assert_allclose(basis @ block @ basis.T, dctn(block, type=2, norm="ortho"), atol=1e-10)
    np.testing.assert_allclose(basis @ basis.T, np.eye(8), atol=1e-12)


def test_zigzag_is_the_standard_order():
    # T.81 Figure A.6, first row of the zig-zag index table: 0 1 5 6 14 15 27 28.
    index = {position: i for i, position in enumerate(ZIGZAG)}
    assert [index[(0, c)] for c in range(8)] == [0, 1, 5, 6, 14, 15, 27, 28]
    assert [index[(r, 0)] for r in range(8)] == [0, 2, 3, 9, 10, 20, 21, 35]
    assert sorted(ZIGZAG) == [(r, c) for r in range(8) for c in range(8)]


def test_file_coefficients_match_the_dct_of_the_decoded_picture(tmp_path):
    """Dequantised stored coefficients = DCT of (Y - 128) within half a step plus decoding error."""
    path = write_jpeg(tmp_path / "q90.jpg", textured_photo(5, 128, 160), 90)
    luma = read_luma_coefficients(path)
    np.testing.assert_array_equal(luma.quant_table.ravel(), scaled_table(IJG_LUMINANCE, 90))
    decoded = load_evidence(path).luminance() * 255.0 - 128.0
    blocks = decoded.reshape(16, 8, 20, 8).transpose(0, 2, 1, 3)
    measured = dctn(blocks, type=2, norm="ortho", axes=(2, 3))
    dequantised = luma.coefficients.astype(np.float32) * luma.quant_table
    error = np.abs(measured - dequantised)
    assert np.median(error) < 1.0 and np.mean(error <= luma.quant_table / 2 + 2.0) > 0.99


def test_zero_counts_and_votes_on_a_known_grid():
    """An image made of 8x8 blocks with one non-zero AC coefficient each, on a grid at (row 2, column 5)."""
    rng = np.random.default_rng(1)
    basis = dct_matrix()
    picture = np.full((66, 69), 128.0)
    for top in range(2, 58, 8):
        for left in range(5, 61, 8):
            coefficients = np.zeros((8, 8))
            coefficients[0, 0] = rng.uniform(-300, 300)
            coefficients[rng.integers(1, 4), rng.integers(1, 4)] = rng.choice([-1, 1]) * rng.uniform(40, 80)
            picture[top:top + 8, left:left + 8] += basis.T @ coefficients @ basis
    zeros = dct_zero_counts(picture.astype(np.float32), ProgressReporter())
    assert zeros[2, 5] == 62 and zeros[10, 13] == 62  # 63 AC terms, one of them non-zero
    votes = grid_votes(zeros, np.zeros_like(zeros, dtype=bool))
    inside = votes[10:50, 13:55]
    assert np.mean(inside == 5 + 8 * 2) > 0.95


def test_nfa_is_the_binomial_tail_times_the_tests():
    from scipy.stats import binom

    assert log10_nfa(1000, 40, 3.0) == pytest.approx(3.0 + np.log10(binom.sf(39, 1000, 1 / 64)), rel=1e-9)
    assert log10_nfa(100, 0, 3.0) == 3.0


def test_block_means_and_expansion_round_trip():
    values = np.arange(20 * 27, dtype=np.float32).reshape(20, 27)
    means = block_means(values, 8)
    assert means.shape == (3, 4) and means[0, 0] == pytest.approx(values[:8, :8].mean())
    assert means[2, 3] == pytest.approx(values[16:, 24:].mean())
    big = expand_blocks(means, 8, (20, 27))
    assert big.shape == (20, 27) and big[19, 26] == means[2, 3]


def test_map_series_round_trip_and_bad_declarations():
    maps = {"a": 0, "b": 1}
    entry = declare_map_series("Quality", ["a", "b", "c"], [50, 60, 70], selected=1)
    series = map_series({MAP_SERIES_KEY: entry}, maps)
    assert series.names == ("a", "b") and series.values == ("50", "60") and series.selected == 1
    assert map_series({}, maps) is None and map_series({MAP_SERIES_KEY: "junk"}, maps) is None
    with pytest.raises(ValueError):
        declare_map_series("Quality", ["a"], [1, 2])


def test_transform_blocks_is_the_separable_dct_and_its_inverse():
    from forensics_core.features.jpeg import transform_blocks

    blocks = np.random.default_rng(0).normal(0.0, 50.0, (7, 8, 8)).astype(np.float32)
    basis = dct_matrix()
    forward = transform_blocks(blocks, basis)
    np.testing.assert_allclose(forward, np.matmul(np.matmul(basis, blocks), basis.T), atol=1e-3)
    np.testing.assert_allclose(transform_blocks(forward, basis.T), blocks, atol=1e-3)


def test_non_aligned_double_compression_model_moves_mass_to_the_first_lattice():
    """Bianchi & Piva 2012's p1 before the error blur: each bin's count goes to its nearest multiple of q1."""
    from forensics_core.features.nonaligned_jpeg import double_compressed_pmf

    first, counts = -6, np.ones(13)  # bins -6 .. 6, one coefficient each
    tiny_error = 1e-3  # no blur: the quantised histogram itself (Laplace-smoothed)
    p1 = double_compressed_pmf(counts, first, 4, tiny_error)
    # q1 = 4: -6 is half-way (split between -8, outside, and -4), -5..-3 -> -4, -2 half-way (-4 and 0),
    # -1..1 -> 0, 2 half-way (0 and 4), 3..5 -> 4, 6 half-way (4 and 8, outside).
    expected = np.zeros(13)
    expected[[-4 - first, 0 - first, 4 - first]] = [4.0, 4.0, 4.0]
    inside = expected.sum()  # 12: half of -6 and half of 6 fall outside the bins
    np.testing.assert_allclose(p1, (expected + 1.0) / (inside + counts.size), atol=1e-9)  # Laplace-smoothed
