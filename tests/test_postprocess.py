"""Known-answer tests of forensics_core.postprocess."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.draw import polygon
from skimage.filters import threshold_otsu

from forensics_core.postprocess import (
    Region,
    bilateral_filter,
    bimodality,
    clean_mask,
    histogram,
    is_bimodal,
    mask_outline,
    otsu_threshold,
    random_walker_segment,
    regions,
)

pytestmark = pytest.mark.filterwarnings("error")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def _planted_square(
    height: int, width: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A 0.8 rectangle on a 0.2 background plus Gaussian noise, clipped to [0, 1]."""
    truth = np.zeros((height, width), dtype=bool)
    truth[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = True
    rng = np.random.default_rng(seed)
    heatmap = np.where(truth, 0.8, 0.2) + rng.normal(0.0, noise, truth.shape)
    return np.clip(heatmap, 0.0, 1.0).astype(np.float32), truth


# --- bilateral_filter -------------------------------------------------------------------------


def test_bilateral_keeps_a_clean_step_exactly() -> None:
    step = np.full((64, 64), 0.2, dtype=np.float32)
    step[:, 32:] = 0.8
    out = bilateral_filter(step)
    assert out.dtype == np.float32 and out.shape == step.shape
    # Across the 0.6 step the range weight is exp(-0.6**2 / (2 * 0.1**2)) = exp(-18) ~ 1.5e-8,
    # so even the columns next to the edge keep their value.
    assert np.abs(out - step).max() < 1e-3


def test_bilateral_smooths_noise_but_not_the_edge() -> None:
    rng = np.random.default_rng(4)
    step = np.full((96, 96), 0.2, dtype=np.float32)
    step[:, 48:] = 0.8
    noisy = (step + rng.normal(0.0, 0.03, step.shape)).astype(np.float32)
    out = bilateral_filter(noisy)
    flat_before = noisy[:, 8:40].std()
    flat_after = out[:, 8:40].std()
    assert flat_after < 0.5 * flat_before
    # The columns either side of the edge still sit on their own level: the step stays sharp.
    assert abs(out[:, 47].mean() - 0.2) < 0.01
    assert abs(out[:, 48].mean() - 0.8) < 0.01


def test_bilateral_rejects_non_2d() -> None:
    with pytest.raises(ValueError):
        bilateral_filter(np.zeros((4, 4, 3), dtype=np.float32))


# --- otsu_threshold and histogram ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_otsu_separates_a_two_valued_map(dtype: type) -> None:
    truth = np.zeros((20, 20), dtype=bool)
    truth[5:12, 3:9] = True
    heatmap = np.where(truth, 0.8, 0.2).astype(dtype)
    threshold = otsu_threshold(heatmap)
    assert 0.2 < threshold <= 0.8
    assert np.array_equal(heatmap >= threshold, truth)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_otsu_on_a_constant_map_flags_nothing(value: float, dtype: type) -> None:
    heatmap = np.full((8, 8), value, dtype=dtype)
    threshold = otsu_threshold(heatmap)
    assert threshold > value
    assert not np.any(heatmap >= threshold)
    # Also when compared in float64 (float32 values widen exactly).
    assert not np.any(heatmap.astype(np.float64) >= threshold)


def test_otsu_matches_skimage_and_ignores_non_finite() -> None:
    rng = np.random.default_rng(5)
    heatmap = rng.random((50, 50), dtype=np.float32) ** 2
    threshold = otsu_threshold(heatmap)
    # Same mask as scikit-image's "> t" convention.
    assert np.array_equal(heatmap >= threshold, heatmap > threshold_otsu(heatmap))
    with_nan = heatmap.copy()
    with_nan[0, :5] = np.nan
    with_nan[1, :5] = np.inf
    expected = otsu_threshold(with_nan[np.isfinite(with_nan)])
    assert otsu_threshold(with_nan) == expected
    with pytest.raises(ValueError):
        otsu_threshold(np.full(4, np.nan))


def _otsu_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(22)
    two_peaks = np.concatenate([rng.normal(0.2, 0.05, 6000), rng.normal(0.7, 0.1, 4001)])
    return {
        "float32 squared uniform": (rng.random((91, 117), dtype=np.float32) ** 2),
        "float64 two peaks": two_peaks.reshape(-1, 1),
        "ties (values on 7 levels)": (rng.integers(0, 7, 9000) / 6).astype(np.float32),
        "two values": np.where(rng.random(5000) < 0.3, 0.9, 0.1).astype(np.float32),
        "range of a few float32 steps": (np.float32(0.5) + np.arange(4000) % 3 * np.finfo(np.float32).eps
                                         ).astype(np.float32),
        "integers": rng.integers(0, 1000, 7777),
        "NaN and infinities among them": np.where(rng.random(6000) < 0.05, np.nan,
                                                  rng.random(6000)).astype(np.float32),
        "constant": np.full(5000, 0.25, np.float32),
    }


@pytest.mark.parametrize("name", list(_otsu_arrays()))
@pytest.mark.parametrize("chunk", [1000, 4096, 1 << 22])
def test_chunked_otsu_equals_scikit_image_on_the_whole_array(name: str, chunk: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The range and the histogram accumulated chunk by chunk give scikit-image's threshold exactly."""
    import forensics_core.postprocess as postprocess

    values = _otsu_arrays()[name]
    if "infinities" in name:
        values = values.copy()
        values[:40] = np.inf
    finite = values[np.isfinite(values)].astype(np.float64)
    monkeypatch.setattr(postprocess, "OTSU_CHUNK_VALUES", chunk)
    calls = []
    threshold = otsu_threshold(values, on_chunk=lambda: calls.append(1))
    if finite.min() == finite.max():
        assert threshold > finite.max() and not np.any(values >= threshold)
    else:
        reference = float(threshold_otsu(finite))
        assert threshold == postprocess._threshold_above(reference)
        assert np.array_equal(values[np.isfinite(values)] > reference, values[np.isfinite(values)] >= threshold)
    chunks = -(-values.size // chunk)
    passes = 1 if finite.min() == finite.max() else 2  # a constant needs no histogram
    assert len(calls) == passes * chunks


def test_otsu_stops_when_its_chunk_callback_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import forensics_core.postprocess as postprocess

    class Stop(Exception):
        pass

    calls = []

    def stop_at_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise Stop

    monkeypatch.setattr(postprocess, "OTSU_CHUNK_VALUES", 100)
    with pytest.raises(Stop):
        otsu_threshold(np.random.default_rng(0).random(1000), on_chunk=stop_at_third)
    assert len(calls) == 3


def test_histogram_counts_and_edges() -> None:
    # Bins [0, 0.5) and [0.5, 1.0] (numpy's last bin is closed); NaN and 1.5 are not counted.
    counts, edges = histogram(np.array([0.0, 0.1, 0.5, 0.99, 1.0, np.nan, 1.5]), bins=2)
    assert counts.tolist() == [2, 3]
    assert edges.tolist() == [0.0, 0.5, 1.0]
    counts, edges = histogram(np.zeros((4, 4)))
    assert counts.shape == (64,) and edges.shape == (65,) and counts.sum() == 16


# --- bimodality ------------------------------------------------------------------------------


def test_two_gaussians_are_bimodal() -> None:
    rng = np.random.default_rng(6)
    values = np.concatenate([rng.normal(0.25, 0.04, 60_000), rng.normal(0.75, 0.04, 40_000)])
    # eta ~ w(1-w) d^2 / (w(1-w) d^2 + s^2) = 0.24*0.25 / (0.06 + 0.0016) ~ 0.974.
    assert bimodality(values) == pytest.approx(0.974, abs=0.01)
    assert is_bimodal(values)


def test_single_gaussian_is_not_bimodal() -> None:
    values = np.random.default_rng(7).normal(0.5, 0.1, 100_000)
    # Halves of a Gaussian: means +-s*sqrt(2/pi) -> eta = 2/pi ~ 0.637.
    assert bimodality(values) == pytest.approx(2 / math.pi, abs=0.01)
    assert not is_bimodal(values)


def test_uniform_noise_is_not_bimodal() -> None:
    values = np.random.default_rng(8).random((300, 300))
    # Halves of U(0,1): w = 1/2, means 1/4 and 3/4 -> sigma_B^2 = 1/4 * 1/4 = 1/16 and
    # sigma_T^2 = 1/12 -> eta = 0.75, below the default bar 0.8.
    assert bimodality(values) == pytest.approx(0.75, abs=0.01)
    assert not is_bimodal(values)
    assert is_bimodal(values, min_separability=0.7)


def test_constant_and_two_valued_maps() -> None:
    assert bimodality(np.full((10, 10), 0.4)) == 0.0
    assert not is_bimodal(np.full((10, 10), 0.4))
    assert not is_bimodal(np.zeros((10, 10)), min_separability=0.0, min_class_fraction=0.0)
    two_valued = np.zeros(1000)
    two_valued[:300] = 1.0
    assert bimodality(two_valued) == pytest.approx(1.0)
    assert is_bimodal(two_valued)
    # Perfectly separated but the upper class holds 0.5 % of the pixels.
    two_valued[5:] = 0.0
    assert not is_bimodal(two_valued)
    assert is_bimodal(two_valued, min_class_fraction=0.001)


# --- random_walker_segment -------------------------------------------------------------------


def test_random_walker_recovers_a_noisy_square() -> None:
    heatmap, truth = _planted_square(160, 200, noise=0.15, seed=9)
    mask = random_walker_segment(heatmap)
    assert mask.dtype == bool and mask.shape == truth.shape
    assert _iou(mask, truth) > 0.9
    # Better than thresholding the noisy pixels one by one.
    assert _iou(mask, truth) > _iou(heatmap >= otsu_threshold(heatmap), truth)


def test_random_walker_downscales_large_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The linear system is solved on a map of at most ``max_side`` pixels a side (its size, not a
    timing, is checked: speed is measured by benchmarks, never by timed tests)."""
    import skimage.segmentation

    solved_shapes = []
    real_random_walker = skimage.segmentation.random_walker

    def recording_random_walker(data, *args, **kwargs):
        solved_shapes.append(data.shape)
        return real_random_walker(data, *args, **kwargs)

    monkeypatch.setattr(skimage.segmentation, "random_walker", recording_random_walker)
    heatmap, truth = _planted_square(768, 1024, noise=0.15, seed=10)
    mask = random_walker_segment(heatmap)
    assert solved_shapes == [(384, 512)]
    assert mask.shape == truth.shape
    assert _iou(mask, truth) > 0.95


def test_random_walker_on_a_two_valued_map_is_exact() -> None:
    # Every pixel sits on a class median, so all are seeds and no system is solved.
    truth = np.zeros((30, 40), dtype=bool)
    truth[5:20, 10:30] = True
    heatmap = np.where(truth, 0.9, 0.1).astype(np.float32)
    assert np.array_equal(random_walker_segment(heatmap), truth)
    # On a 16x12 copy the boundary is only known to within a coarse pixel (2.5 pixels here).
    assert _iou(random_walker_segment(heatmap, max_side=16), truth) > 0.8


def test_random_walker_falls_back_to_the_threshold_mask() -> None:
    constant = np.full((40, 50), 0.3, dtype=np.float32)
    assert not random_walker_segment(constant).any()
    heatmap, _ = _planted_square(40, 50, noise=0.05, seed=11)
    # A threshold above every value leaves the upper class empty.
    assert not random_walker_segment(heatmap, threshold=2.0).any()
    assert random_walker_segment(heatmap, threshold=-1.0).all()


# --- clean_mask ------------------------------------------------------------------------------


def test_clean_mask_removes_specks_and_keeps_blocks() -> None:
    mask = np.zeros((60, 60), dtype=bool)
    mask[5:8, 5:8] = True  # 9-pixel speck
    mask[30:50, 30:50] = True  # 400-pixel block
    out = clean_mask(mask, min_area=64)
    expected = np.zeros_like(mask)
    expected[30:50, 30:50] = True
    assert out.dtype == bool
    assert np.array_equal(out, expected)
    # A component of exactly min_area pixels is kept.
    assert np.array_equal(clean_mask(mask, min_area=9), mask)


def test_clean_mask_fills_holes_and_opens() -> None:
    mask = np.zeros((60, 60), dtype=bool)
    mask[10:30, 10:30] = True
    mask[15:19, 15:19] = False  # 16-pixel hole
    filled = clean_mask(mask)
    assert filled[10:30, 10:30].all() and filled.sum() == 400
    assert np.array_equal(clean_mask(mask, fill_holes=False), mask)
    # A 1-pixel wide, 60-pixel long line survives min_area but not an opening of radius 1.
    mask[45, :] = True
    assert clean_mask(mask, min_area=50)[45].all()
    opened = clean_mask(mask, min_area=50, opening_radius=1)
    assert not opened[45].any()
    # Opening with the 3x3 cross only trims the four corners of the block.
    assert opened.sum() == 400 - 4


# --- regions ---------------------------------------------------------------------------------


def _rasterise(contour: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre lies inside a closed (x, y) contour."""
    inside = np.zeros(shape, dtype=bool)
    rows, cols = polygon(contour[:, 1], contour[:, 0], shape)
    inside[rows, cols] = True
    return inside


def test_regions_of_known_rectangles() -> None:
    mask = np.zeros((40, 50), dtype=bool)
    mask[10:20, 5:25] = True  # rows 10..19, cols 5..24: 10 x 20 = 200 pixels
    mask[30:39, 35:44] = True  # 9 x 9 = 81 pixels
    mask[2:4, 40:42] = True  # 4 pixels, below min_area
    found = regions(mask, min_area=64)
    assert [r.label for r in found] == [1, 2]
    big, small = found
    assert big.area == 200
    assert big.bbox == (5, 10, 20, 10)
    # Centroid: mean column (5 + 24) / 2 = 14.5, mean row (10 + 19) / 2 = 14.5.
    assert big.centroid == (14.5, 14.5)
    assert small.area == 81 and small.bbox == (35, 30, 9, 9) and small.centroid == (39.0, 34.0)
    # The contour runs half a pixel outside the pixel centres and encloses exactly the region.
    contour = big.contour
    assert contour.shape[1] == 2
    assert np.array_equal(contour[0], contour[-1])
    assert contour[:, 0].min() == 4.5 and contour[:, 0].max() == 24.5
    assert contour[:, 1].min() == 9.5 and contour[:, 1].max() == 19.5
    expected = np.zeros_like(mask)
    expected[10:20, 5:25] = True
    assert np.array_equal(_rasterise(contour, mask.shape), expected)
    assert len(regions(mask, min_area=1)) == 3
    assert regions(np.zeros((5, 5), dtype=bool)) == []


def test_region_touching_the_border_has_a_closed_contour() -> None:
    mask = np.zeros((30, 30), dtype=bool)
    mask[0:10, 0:15] = True
    (region,) = regions(mask, min_area=1)
    assert region.bbox == (0, 0, 15, 10) and region.area == 150
    contour = region.contour
    assert np.array_equal(contour[0], contour[-1])
    assert contour[:, 0].min() == -0.5 and contour[:, 1].min() == -0.5
    assert np.array_equal(_rasterise(contour, mask.shape), mask)


def test_region_contour_is_the_outer_boundary_and_diagonals_connect() -> None:
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:25, 5:25] = True
    mask[10:20, 10:20] = False  # a hole with a long boundary of its own
    mask[25, 25] = True  # touches the block only diagonally
    (region,) = regions(mask, min_area=1)
    assert region.area == 400 - 100 + 1
    assert region.bbox == (5, 5, 21, 21)
    contour = region.contour
    assert contour[:, 0].min() == 4.5 and contour[:, 0].max() == 25.5
    filled = _rasterise(contour, mask.shape)
    assert filled[10:20, 10:20].all() and filled[25, 25]


def test_region_is_frozen_and_compares_without_contour() -> None:
    a = Region(1, 4, (0, 0, 2, 2), (0.5, 0.5), np.zeros((5, 2)))
    b = Region(1, 4, (0, 0, 2, 2), (0.5, 0.5), np.ones((5, 2)))
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.area = 5  # type: ignore[misc]


# --- mask_outline ----------------------------------------------------------------------------


def test_outline_of_a_square_is_its_perimeter_ring() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:15, 5:15] = True
    ring = mask.copy()
    ring[6:14, 6:14] = False
    outline = mask_outline(mask)
    assert outline.dtype == bool
    assert np.array_equal(outline, ring)
    assert outline.sum() == 4 * 10 - 4
    thick_ring = mask.copy()
    thick_ring[7:13, 7:13] = False
    assert np.array_equal(mask_outline(mask, thickness=2), thick_ring)


def test_outline_follows_the_image_border() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[:4, :4] = True
    ring = mask.copy()
    ring[1:3, 1:3] = False
    assert np.array_equal(mask_outline(mask), ring)
    with pytest.raises(ValueError):
        mask_outline(mask, thickness=0)


def test_bimodality_reports_between_its_passes_without_changing_the_figures():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0.2, 0.05, 5000), rng.normal(0.8, 0.05, 3000)]).astype(np.float32)
    calls = []
    assert bimodality(values, on_step=lambda: calls.append(1)) == bimodality(values)
    assert is_bimodal(values, on_step=lambda: calls.append(1)) == is_bimodal(values)
    assert len(calls) >= 10
