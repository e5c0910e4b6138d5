"""Copy-move detector: known answers of its parts, clones constructed in code, repeated textures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.evidence import load_evidence
from forensics_core.features.copy_move_dense import linear_fit_error, zernike_features
from forensics_core.features.copy_move_keypoints import g2nn_matches
from forensics_core.features.copy_move_regions import AffineParts, ClonePair

from tests.planted import write_png

CENTRE = (380, 120)  # a textured place of scikit-image's astronaut (the flag and the suit's patch)
SHIFT = (-250, 230)


def clone(image: np.ndarray, centre: tuple[int, int], radius: int, shift: tuple[int, int], angle: float = 0.0,
          scale: float = 1.0, mirror: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copy an elliptical region about ``centre``, mirrored (left-right), rotated by ``angle`` degrees
    and scaled about its centre, then moved by ``shift``. Returns the image, the truth (source and
    copy) and the copy's mask."""
    height, width = image.shape[:2]
    source = np.zeros((height, width), np.uint8)
    cv2.ellipse(source, centre, (radius, int(radius * 0.75)), 20, 0, 360, 1, -1)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    if mirror:
        flip = np.array([[-1.0, 0.0, 2.0 * centre[0]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ flip)[:2]
    matrix[:, 2] += shift
    warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR)
    copy = cv2.warpAffine(source * 255, matrix, (width, height), flags=cv2.INTER_LINEAR) > 127
    out = image.copy()
    out[copy] = warped[copy]
    return out, (source > 0) | copy, copy


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def sky(height: int = 384, width: int = 512, seed: int = 0) -> np.ndarray:
    """A smooth sky-like picture: a vertical blue gradient, faint large-scale haze and camera-like
    noise (sigma 2 grey levels), no edges at all."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height)[:, None, None]
    colour = (1 - yy) * np.array([70.0, 120.0, 200.0]) + yy * np.array([160.0, 190.0, 230.0])
    haze = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 40)
    haze = 12.0 * haze / (np.abs(haze).max() + 1e-6)
    picture = colour + haze[..., None] + rng.normal(0, 2.0, (height, width, 3))
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def analyse(tmp_path: Path, image: np.ndarray, name: str = "questioned.png", **params):
    return get_detector("copy-move").run(load_evidence(write_png(tmp_path / name, image)), params)


# ---- parts against their definitions ---------------------------------------------------------------

def test_zernike_magnitudes_are_invariant_to_quarter_turns_and_mirroring():
    rng = np.random.default_rng(0)
    picture = cv2.GaussianBlur(rng.uniform(0, 255, (41, 41)).astype(np.float32), (0, 0), 1.5)
    centre = zernike_features(picture, 8)[20, 20]
    for transformed in (np.rot90(picture), np.fliplr(picture), np.flipud(np.rot90(picture))):
        np.testing.assert_allclose(zernike_features(np.ascontiguousarray(transformed), 8)[20, 20], centre,
                                   rtol=1e-4, atol=1e-3)
    assert zernike_features(picture, 8).shape == (41, 41, 12)


def test_zernike_mean_moment_is_the_disc_mean():
    picture = np.full((33, 33), 100.0, np.float32)
    features = zernike_features(picture, 8)[16, 16]
    assert features[0] == pytest.approx(100.0 / math.pi, rel=1e-4)  # Z00 = (1/pi) * mean over the disc
    np.testing.assert_allclose(features[1:], 0.0, atol=1e-3)


def test_linear_fit_error_is_zero_on_an_affine_field_and_large_on_a_random_one():
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
    affine = np.stack([3 + 0.5 * yy - 0.2 * xx, -40 + 0.1 * yy + 0.9 * xx], axis=-1)
    assert linear_fit_error(affine, 4)[5:-5, 5:-5].max() < 1e-2
    chaotic = np.random.default_rng(0).integers(-100, 100, (60, 80, 2))
    assert np.median(linear_fit_error(chaotic, 4)) > 1000


def test_affine_parts_read_rotation_scale_and_mirror():
    matrix = cv2.getRotationMatrix2D((50, 50), 30, 1.2)
    parts = AffineParts.of(matrix)
    assert parts.rotation_deg == pytest.approx(30.0, abs=1e-6)
    assert parts.scale == pytest.approx(1.2, abs=1e-6)
    assert not parts.mirror and parts.resamples()
    mirrored = AffineParts.of(matrix @ np.diag([-1.0, 1.0, 1.0]))
    assert mirrored.mirror and mirrored.scale == pytest.approx(1.2, abs=1e-6)
    assert not AffineParts.of(np.array([[1.0, 0, 40], [0, 1.0, -7]])).resamples()


def test_g2nn_keeps_every_copy_but_drops_descriptors_with_many_lookalikes():
    rng = np.random.default_rng(1)
    unique = rng.uniform(0, 100, (40, 128)).astype(np.float32)
    copies = unique[:2] + rng.normal(0, 0.5, (2, 128)).astype(np.float32)
    repeated = np.repeat(rng.uniform(0, 100, (1, 128)), 12, axis=0).astype(np.float32)
    repeated += rng.normal(0, 0.5, repeated.shape).astype(np.float32)
    descriptors = np.concatenate([unique, copies, repeated])
    points = rng.uniform(0, 1000, (len(descriptors), 2)).astype(np.float32)
    pairs = {tuple(p) for p in g2nn_matches(points, descriptors, ratio=0.5, neighbours=10, min_distance=1.0).tolist()}
    assert pairs == {(0, 40), (1, 41)}


def test_clone_pair_round_trips_through_json():
    pair = ClonePair((1, 2, 30, 40), (100, 120, 130, 160), ((1.0, 0.0, 99.0), (0.0, 1.0, 118.0)), (99.0, 118.0),
                     0.0, 1.0, False, 12, "keypoints", "pair", 0.91, 1000, 1000)
    assert ClonePair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair


# ---- constructed clones ------------------------------------------------------------------------------

CASES = {
    "shift": dict(),
    "rotation 30": dict(angle=30.0),
    "rotation 90": dict(angle=90.0),
    "scale 0.8": dict(scale=0.8),
    "scale 1.2": dict(scale=1.2),
    "mirror": dict(mirror=True),
}


def _constructed_set() -> list[tuple[str, np.ndarray, np.ndarray]]:
    base = data.astronaut()
    cases = []
    for name, transform in CASES.items():
        image, truth, _ = clone(base, CENTRE, 50, SHIFT, **transform)
        cases.append((name, image, truth))
    rotated, truth, _ = clone(base, CENTRE, 50, SHIFT, angle=15.0)
    cases.append(("JPEG 75", jpeg(rotated, 75), truth))
    cases.append(("JPEG 95", jpeg(rotated, 95), truth))
    noisy = rotated.astype(np.float64) + np.random.default_rng(3).normal(0, 3.0, rotated.shape)
    cases.append(("noise sigma 3", np.clip(np.rint(noisy), 0, 255).astype(np.uint8), truth))
    sky_image, sky_truth, _ = clone(sky(), (130, 110), 45, (240, 150))
    cases.append(("smooth sky", sky_image, sky_truth))
    return cases


@pytest.mark.slow
def test_constructed_clones_are_found_with_pixel_f1_at_least_0_7(tmp_path):
    scores = {}
    for index, (name, image, truth) in enumerate(_constructed_set()):
        result = analyse(tmp_path, image, f"case{index}.png")
        scores[name] = metrics.f1_score(result.mask, truth)
        assert result.extra["pairs"], f"no clone found in the '{name}' case"
        assert result.score > 0.3, name
    assert np.mean(list(scores.values())) >= 0.7, scores
    assert min(scores.values()) >= 0.5, scores


def test_rotated_clone_pair_reports_transform_direction_and_maps(tmp_path):
    image, truth, copy = clone(data.astronaut(), CENTRE, 50, SHIFT, angle=30.0)
    result = analyse(tmp_path, image)
    assert metrics.f1_score(result.mask, truth) >= 0.7
    pair = result.extra["pairs"][0]
    json.dumps(result.extra)
    assert abs(abs(pair["rotation_deg"]) - 30.0) < 2.0 and abs(pair["scale"] - 1.0) < 0.03 and not pair["mirror"]
    assert pair["matches"] >= 4
    if pair["direction"] == "source->target":  # the copy was resampled: the test may tell it
        x0, y0, x1, y1 = pair["target_box"]
        ys, xs = np.nonzero(copy)
        assert abs((x0 + x1) / 2 - xs.mean()) < 15 and abs((y0 + y1) / 2 - ys.mean()) < 15
        assert result.extra_maps["target"][copy].mean() > 0.7
        assert set(result.extra_maps) >= {"source", "target"}
    else:
        assert "pair" in result.extra_maps
    assert result.heatmap[truth].mean() > 0.5 > result.heatmap[~truth].mean()


def test_mirrored_clone_is_reported_as_mirrored(tmp_path):
    image, truth, _ = clone(data.astronaut(), CENTRE, 50, SHIFT, mirror=True)
    result = analyse(tmp_path, image)
    assert any(pair["mirror"] for pair in result.extra["pairs"])


def test_clone_in_smooth_sky_is_found_by_the_dense_search(tmp_path):
    image, truth, _ = clone(sky(), (130, 110), 45, (240, 150))
    keypoints_only = analyse(tmp_path, image, "a.png", dense=False)
    both = analyse(tmp_path, image, "b.png")
    assert metrics.f1_score(both.mask, truth) >= 0.7
    assert metrics.f1_score(both.mask, truth) > metrics.f1_score(keypoints_only.mask, truth)


# ---- no clone ---------------------------------------------------------------------------------------

def tiled_wall(height: int = 384, width: int = 512, seed: int = 0) -> np.ndarray:
    """A regular wall of 64x32 bricks with mortar joints: every brick has its own shade, the wall
    has camera-like noise (sigma 3) and a gentle light fall-off, as a photographed wall would."""
    rng = np.random.default_rng(seed)
    wall = np.zeros((height, width), np.float32)
    for row, top in enumerate(range(0, height, 32)):
        offset = 32 * (row % 2)
        for left in range(-offset, width, 64):
            wall[top + 3:top + 32, max(left + 3, 0):max(left + 64, 0)] = rng.uniform(120, 160)
    wall += 40
    yy, xx = np.mgrid[0:height, 0:width]
    wall *= 1.0 - 0.3 * ((xx - width / 2) ** 2 + (yy - height / 2) ** 2) / (width ** 2)
    wall += rng.normal(0, 3.0, wall.shape)
    grey = np.clip(np.rint(wall), 0, 255).astype(np.uint8)
    return np.stack([grey, (grey * 0.8).astype(np.uint8), (grey * 0.6).astype(np.uint8)], axis=-1)


def grating(height: int = 384, width: int = 512, seed: int = 0) -> np.ndarray:
    """A regular pattern (two crossed sinusoidal gratings, period 24 px) with camera-like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    pattern = 128 + 50 * np.sin(2 * np.pi * xx / 24) * np.cos(2 * np.pi * yy / 24) + rng.normal(0, 3.0, (height, width))
    grey = np.clip(np.rint(pattern), 0, 255).astype(np.uint8)
    return np.stack([grey] * 3, axis=-1)


@pytest.mark.parametrize("picture", [tiled_wall, grating, lambda: np.stack([data.brick()] * 3, axis=-1)],
                         ids=["tiled wall", "grating", "photographed brick wall"])
def test_genuinely_repeated_texture_gives_no_clone(tmp_path, picture):
    result = analyse(tmp_path, picture())
    assert result.extra["pairs"] == [] and not result.mask.any()
    assert result.score == 0.0


def test_untouched_photographs_give_no_clone(tmp_path):
    for index, photo in enumerate((data.astronaut(), data.coffee())):
        result = analyse(tmp_path, photo, f"p{index}.png")
        assert result.extra["pairs"] == [], result.extra["pairs"]
        assert result.score == 0.0


def test_tiny_and_flat_pictures_are_handled(tmp_path):
    for index, image in enumerate((np.full((24, 30, 3), 128, np.uint8), np.full((300, 400, 3), 90, np.uint8))):
        result = analyse(tmp_path, image, f"f{index}.png")
        assert result.extra["pairs"] == [] and result.heatmap.shape == image.shape[:2]


def test_sixteen_bit_evidence_is_analysed(tmp_path):
    image, truth, _ = clone(data.astronaut(), CENTRE, 50, SHIFT)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    result = get_detector("copy-move").run(load_evidence(path))
    assert metrics.f1_score(result.mask, truth) >= 0.7


# ---- report -----------------------------------------------------------------------------------------

def test_report_lists_the_pairs_with_a_drawing(tmp_path):
    from forensics_core.report import CaseInfo, ReportItem, build_report_html
    from forensics_core.report_clone_pairs import clone_pairs, draw_clone_pairs

    image, _, _ = clone(data.astronaut(), CENTRE, 50, SHIFT, angle=30.0)
    evidence = load_evidence(write_png(tmp_path / "q.png", image))
    result = get_detector("copy-move").run(evidence)
    pairs = clone_pairs(result.extra)
    assert len(pairs) == 1
    drawn = draw_clone_pairs(image, pairs)
    assert drawn.shape == image.shape and (drawn != image).any() and (image == data.astronaut()).sum() > 0
    html = build_report_html(evidence, [ReportItem(result, 0.5)], [], CaseInfo())
    assert "Matched regions (copy-move pairs)" in html
    x0, _, x1, _ = pairs[0].target_box
    assert f"x {x0}-{x1}" in html
    other = get_detector("noise-baseline").run(evidence)
    assert "copy-move pairs" not in build_report_html(evidence, [ReportItem(other, 0.5)], [], CaseInfo())
