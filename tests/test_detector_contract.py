"""The detector contract: parameters, registry, progress and cancel, device choice, the baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forensics_core import metrics
from forensics_core.detectors import DEFAULT_DETECTOR, get_detector, list_detectors
from forensics_core.detectors.base import Parameter, ProgressReporter
from forensics_core.device import resolve_device
from forensics_core.errors import Cancelled, ForensicsError, ParameterError
from forensics_core.evidence import load_evidence
from tests.camera_like import composite_forgery
from tests.planted import noisy_image_with_planted_region, write_png

FIXED_IDS = {
    "resampling", "resampling-lstm", "lstm-endec", "j-conv-lstm-conv", "mantranet", "srm-cnn",
    "noise-baseline", "ela", "jpeg-ghost", "double-jpeg", "jpeg-grid", "splicebuster", "cfa",
    "noise-level", "copy-move", "fusion",
}


def test_parameter_validation_converts_and_bounds():
    window = Parameter("window", int, 32, minimum=4, maximum=256)
    assert window.validate("64") == 64
    with pytest.raises(ParameterError, match=">= 4"):
        window.validate(2)
    with pytest.raises(ParameterError, match="expects int"):
        window.validate("abc")
    with pytest.raises(ParameterError):
        window.validate(3.5)
    mode = Parameter("mode", str, "resize", choices=("resize", "tiled"))
    with pytest.raises(ParameterError, match="one of"):
        mode.validate("other")
    flag = Parameter("flag", bool, True)
    assert flag.validate("false") is False
    with pytest.raises(ParameterError):
        flag.validate("maybe")


def test_registry_lists_every_detector_with_its_declarations():
    detectors = {d.id: d for d in list_detectors()}
    assert DEFAULT_DETECTOR in detectors
    for detector in detectors.values():
        described = detector.describe()
        assert described["name"] and described["reference"] and described["version"]
        assert isinstance(described["trained"], bool)
        for param in detector.parameters:
            param.validate(param.default)
    with pytest.raises(ForensicsError, match="Unknown detector"):
        get_detector("no-such-detector")


def test_registered_seed_ids_are_the_fixed_ones():
    ids = {d.id for d in list_detectors()}
    assert ids - FIXED_IDS == set(), "only the fixed ids are registered"


def test_unknown_parameter_is_refused(tmp_path):
    rgb, _ = noisy_image_with_planted_region()
    evidence = load_evidence(write_png(tmp_path / "x.png", rgb))
    with pytest.raises(ParameterError, match="no parameter"):
        get_detector("noise-baseline").run(evidence, {"bogus": 1}, device="cpu")


def test_progress_reporter_cancels_and_scales():
    calls = []
    reporter = ProgressReporter(lambda f, m: calls.append(f), lambda: False, min_interval_s=0.0)
    reporter.scaled(0.5, 1.0).update(0.5, "half")
    assert calls == [0.75]
    with pytest.raises(Cancelled):
        ProgressReporter(None, lambda: True).update(0.1)


def test_baseline_finds_planted_noise_region(tmp_path):
    rgb, truth = noisy_image_with_planted_region()
    evidence = load_evidence(write_png(tmp_path / "planted.png", rgb))
    progress = []
    result = get_detector("noise-baseline").run(evidence, progress=lambda f, m: progress.append(f), device="cpu")
    assert result.heatmap.shape == truth.shape and result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert result.mask.shape == truth.shape and result.mask.dtype == bool
    assert metrics.pixel_auc(result.heatmap, truth) > 0.9
    assert metrics.f1_score(result.mask, truth) > 0.6
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert result.provenance["evidence_sha256"] == evidence.sha256
    assert result.provenance["baseline"] is True
    assert result.device == "cpu"


def test_cancel_before_start_raises(tmp_path):
    rgb, _ = noisy_image_with_planted_region()
    evidence = load_evidence(write_png(tmp_path / "x.png", rgb))
    with pytest.raises(Cancelled):
        get_detector("noise-baseline").run(evidence, cancel=lambda: True, device="cpu")


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ForensicsError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ForensicsError, match="no CUDA"):
            resolve_device("cuda")


@pytest.fixture(scope="module")
def pristine_and_forged(tmp_path_factory):
    """Small pictures and their composite forgeries (tests/camera_like.py) in four forms: a camera-like
    picture as PNG, the same as JPEG quality 90, a camera JPEG (quality 80) decoded to PNG, and that
    camera JPEG edited and saved again as JPEG quality 90 (the case double-compression analyses need):
    (form, pristine evidence, forged evidence) for each."""
    import cv2

    folder = tmp_path_factory.mktemp("contract")
    forms = (("camera.png", None, []), ("camera.jpg", None, [cv2.IMWRITE_JPEG_QUALITY, 90]),
             ("jpeg-host.png", 80, []), ("jpeg-host.jpg", 80, [cv2.IMWRITE_JPEG_QUALITY, 90]))
    pairs = []
    for form, jpeg_host, options in forms:
        evidence = []
        for name, rgb in zip(("pristine", "forged"), composite_forgery(jpeg_host=jpeg_host)):
            path = folder / f"{name}-{form}"
            assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), options)
            evidence.append(load_evidence(path))
        pairs.append((form, *evidence))
    return pairs


@pytest.mark.slow
@pytest.mark.parametrize("detector_id", sorted(d.id for d in list_detectors()))
def test_image_score_responds_to_the_evidence(detector_id, pristine_and_forged):
    """Every trained detector scores a planted forgery differently from its pristine original, in at
    least one of the forms it accepts (a JPEG method may find no trace in the camera PNGs, the CFA
    method none in the JPEGs). A score that is the same on everything tells the examiner nothing."""
    detector = get_detector(detector_id)
    if not detector.is_trained():
        pytest.skip(f"{detector_id} is not trained")
    scores = {}
    for form, pristine, forged in pristine_and_forged:
        try:
            scores[form] = (detector.run(pristine, device="cpu").score, detector.run(forged, device="cpu").score)
        except ForensicsError:
            continue  # this form is outside the method (for example a JPEG-only analysis on a PNG)
    assert scores, f"{detector_id} accepted none of the pictures"
    assert any(abs(forged - pristine) > 1e-6 for pristine, forged in scores.values()), (
        f"{detector_id} gives the same image score to the pristine picture and the forgery: {scores}")
