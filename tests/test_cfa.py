"""CFA artefacts (Ferrara, Bianchi, De Rosa and Piva, TIFS 2012): prediction error and lattice
variance, the Bayer pattern, the trace mixture, localisation, and "no CFA trace" when there is none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from forensics_core import metrics
from forensics_core.cli import main
from forensics_core.detectors import get_detector
from forensics_core.detectors.cfa import fit_trace_mixture, lattice_kernel, local_variance, prediction_error
from forensics_core.evidence import load_evidence
from tests.camera_like import camera_picture, camera_splice
from tests.planted import write_png


def test_lattice_kernel_weights_only_the_same_lattice():
    kernel = lattice_kernel(3, 2.0)
    ii, jj = np.mgrid[-3:4, -3:4]
    assert kernel.shape == (7, 7) and kernel.sum() == pytest.approx(1.0)
    assert np.all(kernel[(ii + jj) % 2 == 1] == 0) and np.all(kernel[(ii + jj) % 2 == 0] > 0)


def test_bilinearly_interpolated_pixels_are_predicted_exactly():
    """Green recorded on one quincunx lattice, the other filled with the mean of its four neighbours:
    the prediction error vanishes on the interpolated lattice and not on the recorded one."""
    rng = np.random.default_rng(0)
    green = rng.uniform(0, 255, (32, 32)).astype(np.float32)
    interpolated = (np.add.outer(np.arange(32), np.arange(32)) % 2) == 1
    neighbours = cv2.filter2D(green, cv2.CV_32F, np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32) / 4,
                              borderType=cv2.BORDER_REFLECT)
    green[interpolated] = neighbours[interpolated]
    error = prediction_error(green)[1:-1, 1:-1]
    inner = interpolated[1:-1, 1:-1]
    np.testing.assert_allclose(error[inner], 0.0, atol=1e-3)
    assert np.mean(error[~inner] ** 2) > 100.0
    variance = local_variance(prediction_error(green), 3)[4:-4, 4:-4]
    assert np.median(variance[~interpolated[4:-4, 4:-4]]) > 100 * np.median(variance[interpolated[4:-4, 4:-4]])


def test_trace_mixture_recovers_its_parameters():
    rng = np.random.default_rng(2)
    feature = np.r_[rng.normal(1.5, 0.4, 8000), rng.normal(0.0, 0.2, 2000)]
    model = fit_trace_mixture(feature)
    assert model.mean_present == pytest.approx(1.5, abs=0.05)
    assert model.sd_present == pytest.approx(0.4, abs=0.05)
    assert model.sd_absent == pytest.approx(0.2, abs=0.05)
    assert model.prior_absent == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("offset, name", [((0, 0), "RGGB"), ((0, 1), "GRBG"), ((1, 0), "GBRG"), ((1, 1), "BGGR")])
def test_bayer_pattern_of_a_camera_picture(tmp_path, offset, name):
    evidence = load_evidence(write_png(tmp_path / "camera.png", camera_picture(128, 160, 4, cfa_offset=offset)))
    result = get_detector("cfa").run(evidence, device="cpu")
    assert result.extra["cfa_trace"] is True
    assert result.extra["bayer_pattern"] == name


def test_trace_strength_separates_camera_pictures_from_processed_ones(tmp_path):
    from forensics_core.detectors.cfa import MIN_TRACE
    from tests.camera_like import jpeg_round_trip

    picture = camera_picture(192, 256, 7)
    pictures = {"bilinear": picture, "vng": camera_picture(192, 256, 7, vng=True),
                "jpeg90": jpeg_round_trip(picture, 90),
                "resized": cv2.resize(picture, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)}
    strength = {}
    for name, rgb in pictures.items():
        result = get_detector("cfa").run(load_evidence(write_png(tmp_path / f"{name}.png", rgb)), device="cpu")
        strength[name] = result.extra["median_cell_feature"]
    assert strength["bilinear"] > 10 * MIN_TRACE and strength["vng"] > 2 * MIN_TRACE
    assert strength["jpeg90"] < MIN_TRACE / 2 and strength["resized"] < MIN_TRACE / 2


@pytest.mark.parametrize("scale", [0.5, 0.9, 1.3])
def test_no_cfa_trace_on_a_resized_picture(tmp_path, scale):
    resized = cv2.resize(camera_picture(256, 320, 5), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    result = get_detector("cfa").run(load_evidence(write_png(tmp_path / "resized.png", resized)), device="cpu")
    assert result.extra["cfa_trace"] is False
    assert "No CFA trace" in result.extra["note"]
    assert not result.heatmap.any() and not result.mask.any()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["demosaic", "resampled"])
def test_cfa_localises_a_region_without_the_host_trace(tmp_path, kind, seed):
    rgb, truth = camera_splice(kind, seed=seed)
    result = get_detector("cfa").run(load_evidence(write_png(tmp_path / "f.png", rgb)), device="cpu")
    assert result.extra["cfa_trace"] is True
    assert metrics.pixel_auc(result.heatmap, truth) >= 0.85
    assert result.score > 0.05
    pristine = get_detector("cfa").run(load_evidence(write_png(tmp_path / "p.png", camera_picture(256, 320, seed))),
                                       device="cpu")
    assert pristine.score < result.score


def test_command_line_says_no_cfa_trace(tmp_path, capsys):
    resized = cv2.resize(camera_picture(256, 320, 6), None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    (tmp_path / "exhibit").mkdir()
    image = write_png(tmp_path / "exhibit" / "resized.png", resized)
    assert main(["analyze", str(image), "--detector", "cfa", "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert "note: No CFA trace" in capsys.readouterr().out
