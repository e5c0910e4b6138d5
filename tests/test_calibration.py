"""Calibration (issue 20): image score, false-alarm rate, calibration files, apply, verdict, CLI, cases."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics_core.calibration.apply import apply_calibration
from forensics_core.calibration.calibrate import threshold_for_pixel_rate
from forensics_core.calibration.calibration_file import (
    Calibration,
    CalibrationError,
    load_calibration,
    read_calibration,
    save_calibration,
)
from forensics_core.calibration.image_score import (
    REGION_CONTRAST_SCORE,
    region_contrast_score,
)
from forensics_core.calibration.reference_set import (
    read_reference_set,
    write_reference_set,
)
from forensics_core.calibration.verdict import (
    NOT_CALIBRATED,
    NOT_SUSPICIOUS,
    SUSPICIOUS,
    false_alarm_sentence,
    overall_verdict,
    verdict,
)
from forensics_core.cli import main
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result
from forensics_core.evidence import load_evidence
from forensics_core.result_cache import ResultStore


# ---- the shared image score -------------------------------------------------------------------
def test_region_score_is_the_upper_quantile_inside_the_largest_region_above_the_rest() -> None:
    heatmap = np.full((200, 200), 0.1, np.float32)
    heatmap[10:90, 10:90] = 0.8  # the largest suspicious region
    heatmap[150:160, 150:160] = 1.0  # a smaller, stronger one is not the largest (and lies outside it)
    assert region_contrast_score(heatmap) == pytest.approx(0.8 - 0.1)


def test_region_score_uses_the_quantile_not_the_maximum() -> None:
    heatmap = np.zeros((100, 100), np.float32)
    heatmap[20:70, 20:70] = np.linspace(0.5, 1.0, 50, dtype=np.float32)[None, :]  # 50 columns 0.5..1
    expected = np.quantile(np.linspace(0.5, 1.0, 50), 0.9)
    assert region_contrast_score(heatmap) == pytest.approx(expected, abs=1e-6)


def test_a_map_high_everywhere_scores_low_and_large_maps_are_reduced() -> None:
    assert region_contrast_score(np.full((30, 40), 1.0, np.float32)) == 0.0
    saturated = np.ones((100, 100), np.float32)
    saturated[:, :30] = 0.9  # high everywhere: the region stands 0.1 above the rest
    assert region_contrast_score(saturated) == pytest.approx(0.1, abs=1e-6)
    big = np.zeros((1024, 2048), np.float32)
    big[256:768, 512:1536] = 0.6  # aligned with the 8x area reduction: exact
    assert region_contrast_score(big) == pytest.approx(0.6)


def test_detectors_declare_their_score_definition() -> None:
    assert get_detector("ela").score_definition == REGION_CONTRAST_SCORE
    assert get_detector("jpeg-grid").score_definition != REGION_CONTRAST_SCORE
    assert not get_detector("copy-move").calibrated_threshold
    assert get_detector("ela").describe()["score_definition"] == REGION_CONTRAST_SCORE


# ---- false-alarm rate and default threshold -----------------------------------------------------
def calibration(scores=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), **changes) -> Calibration:
    values = dict(detector_id="ela", detector_version=get_detector("ela").version, weights_sha256={},
                  score_definition=REGION_CONTRAST_SCORE, reference_scores=tuple(sorted(scores)),
                  pixel_quantiles={"0.99": 0.5}, default_threshold=0.5, threshold_pixel_rate=0.01,
                  sets_threshold=True, reference={"name": "test set", "photos": 3, "formats": ["png"],
                                                  "provenance": "made in a test"},
                  parameters=get_detector("ela").validate_params({}), created={"command": "test"})
    values.update(changes)
    return Calibration(**values)


def test_false_alarm_rate_uses_the_plus_one_convention() -> None:
    known = calibration()  # N = 9
    assert known.false_alarm_rate(0.95) == pytest.approx(1 / 10)  # above all: never 0
    assert known.false_alarm_rate(0.5) == pytest.approx(6 / 10)  # 0.5..0.9 are at least 0.5
    assert known.false_alarm_rate(0.0) == pytest.approx(1.0)
    assert known.exceeded_share(0.55) == pytest.approx(5 / 9)


def test_default_threshold_marks_at_most_the_rate_even_with_ties() -> None:
    values = np.arange(100, dtype=np.float32) / 100
    level = threshold_for_pixel_rate(values, 0.01)
    assert np.mean(values >= level) == pytest.approx(0.01) and level > 0.98
    mostly_zero = np.r_[np.zeros(995), np.full(5, 0.5)].astype(np.float32)
    level = threshold_for_pixel_rate(mostly_zero, 0.01)
    assert 0.0 < level <= 0.5 and np.mean(mostly_zero >= level) == pytest.approx(0.005)


# ---- calibration files --------------------------------------------------------------------------
def test_calibration_file_round_trip_keeps_other_manifest_entries(tmp_path: Path) -> None:
    manifest = {"format": 1, "models": {"b/x": {"file": "b/x.safetensors", "sha256": "0" * 64},
                                        "a/y": {"file": "a/y.safetensors", "sha256": "1" * 64}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    entry = save_calibration(calibration(), tmp_path, "tamper-workbench calibrate ela")
    written = json.loads((tmp_path / "manifest.json").read_text())
    assert list(written["models"]) == ["b/x", "a/y"] and written["models"] == manifest["models"]
    data = (tmp_path / "calibration" / "ela.json").read_bytes()
    assert written["calibrations"]["ela"] == entry and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["reference"]["name"] == "test set" and entry["command"] == "tamper-workbench calibrate ela"
    assert read_calibration("ela", tmp_path) == calibration()
    assert read_calibration("cfa", tmp_path) is None


def test_tampered_calibration_is_refused(tmp_path: Path) -> None:
    save_calibration(calibration(), tmp_path, "test")
    path = tmp_path / "calibration" / "ela.json"
    path.write_text(path.read_text().replace("0.9", "0.99", 1))
    with pytest.raises(CalibrationError, match="does not match its SHA-256"):
        read_calibration("ela", tmp_path)


def test_malformed_calibration_is_refused_even_with_a_matching_hash(tmp_path: Path) -> None:
    save_calibration(calibration(), tmp_path, "test")
    path = tmp_path / "calibration" / "ela.json"
    path.write_text(path.read_text().replace("0.1,", "NaN,", 1))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["calibrations"]["ela"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CalibrationError, match="not valid JSON"):
        read_calibration("ela", tmp_path)


def test_stale_calibration_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    save_calibration(calibration(detector_version="0.0-old"), tmp_path, "test")
    with pytest.raises(CalibrationError, match="stale: it was computed with version 0.0-old"):
        load_calibration("ela")
    save_calibration(calibration(weights_sha256={"ela/model": "2" * 64}), tmp_path, "test")
    with pytest.raises(CalibrationError, match="other weights"):
        load_calibration("ela")
    save_calibration(calibration(), tmp_path, "test")
    assert load_calibration("ela") == calibration()


# ---- applying a calibration ---------------------------------------------------------------------
@pytest.fixture
def ela_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    image = tmp_path / "evidence" / "picture.png"
    image.parent.mkdir()
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(image)
    return get_detector("ela").run(load_evidence(image), device="cpu")


def test_uncalibrated_run_says_so(ela_result: Result) -> None:
    assert ela_result.false_alarm_rate is None and ela_result.calibration["status"] == NOT_CALIBRATED
    assert verdict(ela_result).level == NOT_CALIBRATED
    assert "no calibration is installed for ela" in false_alarm_sentence(ela_result)


def test_apply_calibration_to_a_cached_result(ela_result: Result, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    cached = store.get(store.put(ela_result))
    calibrated = apply_calibration(cached, calibration())
    assert calibrated.false_alarm_rate == calibration().false_alarm_rate(cached.score)
    assert calibrated.threshold == 0.5 and np.array_equal(calibrated.mask, cached.heatmap >= 0.5)
    assert calibrated.calibration["detector_threshold"] == pytest.approx(ela_result.threshold)
    again = apply_calibration(calibrated, calibration(default_threshold=0.7))
    assert again.threshold == 0.7 and again.calibration["detector_threshold"] == pytest.approx(ela_result.threshold)
    undone = apply_calibration(again, None)
    assert undone.false_alarm_rate is None and undone.threshold == pytest.approx(ela_result.threshold)
    assert calibrated.summary()["false_alarm_rate"] == calibrated.false_alarm_rate


def test_calibration_for_other_parameters_or_weights_does_not_apply(ela_result: Result) -> None:
    other = dataclasses.replace(ela_result, provenance={**ela_result.provenance,
                                                        "parameters": {**ela_result.provenance["parameters"],
                                                                       "quality": 80}})
    refused = apply_calibration(other, calibration())
    assert refused.false_alarm_rate is None and "other parameters (quality differ)" in refused.calibration["reason"]
    refused = apply_calibration(ela_result, calibration(weights_sha256={"x": "3" * 64}))
    assert refused.false_alarm_rate is None and "other weights" in refused.calibration["reason"]


def test_a_detector_without_its_own_threshold_keeps_it(ela_result: Result) -> None:
    kept = apply_calibration(ela_result, calibration(sets_threshold=False, default_threshold=0.9))
    assert kept.threshold == ela_result.threshold and np.array_equal(kept.mask, ela_result.mask)
    assert kept.false_alarm_rate is not None and kept.calibration["threshold_source"] == "detector"


# ---- verdict -----------------------------------------------------------------------------------
def test_verdict_wording(ela_result: Result) -> None:
    low = apply_calibration(dataclasses.replace(ela_result, score=0.95), calibration())  # rate 1/10
    assert verdict(low).level == NOT_SUSPICIOUS
    assert "not suspicious at the 5 % level" in verdict(low).text
    assert "occurs in 10 % of authentic reference images (9 images, reference set 'test set')" in verdict(low).text
    assert verdict(low).text.endswith("this does not prove authenticity.")
    many = calibration(scores=tuple(np.linspace(0, 0.5, 99)))
    high = apply_calibration(dataclasses.replace(ela_result, score=0.9), many)  # rate 1/100
    assert verdict(high).level == SUSPICIOUS
    assert "suspicious at the 5 % level: the score exceeds 99 % of authentic reference images" in verdict(high).text
    assert overall_verdict([low, high]).level == SUSPICIOUS
    assert "this does not prove authenticity" in overall_verdict([low]).text
    assert overall_verdict([ela_result]).level == NOT_CALIBRATED


# ---- the command and the reference set -----------------------------------------------------------
@pytest.fixture
def tiny_reference(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    photos = []
    for index in range(3):
        photo = tmp_path / "photos" / f"p{index}.png"
        photo.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(photo)
        photos.append(photo)
    write_reference_set(tmp_path / "reference", photos, name="tiny set")
    return tmp_path / "reference"


def test_reference_set_is_split_by_photo_and_checked(tiny_reference: Path) -> None:
    reference = read_reference_set(tiny_reference)
    calibration_photos = {i.photo for i in reference.part("calibration")}
    held_out_photos = {i.photo for i in reference.part("held-out")}
    assert len(reference.images) == 18 and not calibration_photos & held_out_photos
    assert len(calibration_photos) == 2 and {i.form.split("-q")[0] for i in reference.images} == {
        "png", "jpeg", "resized-png", "resized-jpeg"}
    assert write_reference_set(tiny_reference.parent / "again", sorted((tiny_reference.parent / "photos").glob(
        "*.png")), name="tiny set").description["images_sha256"] == reference.description["images_sha256"]
    victim = tiny_reference / reference.images[0].file
    victim.write_bytes(victim.read_bytes() + b"x")
    with pytest.raises(Exception, match="does not match its SHA-256"):
        read_reference_set(tiny_reference)


def test_cli_calibrate_on_a_tiny_reference(tiny_reference: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    weights = tmp_path / "weights"
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(weights))
    store = str(tmp_path / "store")
    assert main(["calibrate", "ela", "--reference", str(tiny_reference), "--store", store, "--quiet"]) == 0
    assert "calibrated ela on tiny set, 12 images from 2 photographs" in capsys.readouterr().out
    shipped = load_calibration("ela")
    assert shipped is not None and shipped.size == 12 and shipped.reference["part"] == "calibration"
    assert shipped.created["command"].startswith("tamper-workbench calibrate ela")
    held_out = read_reference_set(tiny_reference).part("held-out")[0]
    result = get_detector("ela").run(load_evidence(tiny_reference / held_out.file), device="cpu")
    assert result.false_alarm_rate == shipped.false_alarm_rate(result.score)
    assert result.threshold == shipped.default_threshold
    assert main(["calibrate", "no-such-detector", "--reference", str(tiny_reference), "--store", store]) == 2
    assert main(["calibrate", "mantranet", "--reference", str(tiny_reference), "--store", store]) == 2
    assert "cannot be calibrated" in capsys.readouterr().err
    assert main(["calibrate", "ela", "--reference", str(tmp_path), "--store", store]) == 2
    assert "has no reference.json" in capsys.readouterr().err


# ---- cases ----------------------------------------------------------------------------------------
def test_case_round_trip_keeps_the_calibration_and_old_cases_open(ela_result: Result, tmp_path: Path) -> None:
    from forensics_core.case import Case, EvidenceEntry, Run, load_case, save_case
    from forensics_core.evidence.hashing import sha256_file

    image = tmp_path / "evidence" / "picture.png"
    calibrated = apply_calibration(ela_result, calibration())
    case = Case(evidence=[EvidenceEntry(path=image.resolve(), sha256=sha256_file(image),
                                        runs=[Run(calibrated, calibrated.threshold)])])
    save_case(tmp_path / "case", case)
    reopened = load_case(tmp_path / "case").evidence[0].runs[0].result
    assert reopened.false_alarm_rate == calibrated.false_alarm_rate
    assert reopened.calibration == json.loads(json.dumps(calibrated.calibration))
    document = json.loads((tmp_path / "case" / "case.json").read_text())
    for key in ("false_alarm_rate", "calibration"):
        del document["evidence"][0]["runs"][0][key]
    (tmp_path / "case" / "case.json").write_text(json.dumps(document))
    old = load_case(tmp_path / "case").evidence[0].runs[0].result
    assert old.false_alarm_rate is None and old.calibration == {}


# ---- workbench ------------------------------------------------------------------------------------
def test_verdict_panel_shows_the_verdict_and_the_false_alarm_sentence(ela_result: Result, qtbot) -> None:
    from app.results_panel import describe_result
    from app.verdict_panel import VerdictPanel

    panel = VerdictPanel()
    qtbot.addWidget(panel)
    calibrated = apply_calibration(dataclasses.replace(ela_result, score=0.95), calibration())
    panel.show_result(calibrated)
    assert "not suspicious at the 5 % level" in panel.text() and "occurs in 10 % of authentic" in panel.text()
    assert "Default threshold 0.5000, from the calibration" in panel.text()
    assert "as high in 10.0 % of authentic references" in describe_result(1, calibrated)
    panel.show_result(ela_result, [ela_result, calibrated])
    assert "not calibrated" in panel.text() and "no calibration is installed" in panel.text()
    assert "All 2 results:</b> No detector found evidence of manipulation at the 5 % level" in panel.text()
    panel.show_result(None)
    assert panel.text() == ""


def test_report_carries_verdict_calibration_and_limitations(ela_result: Result, tmp_path: Path) -> None:
    from html import escape

    from forensics_core.report import CaseInfo, ReportItem, build_report_html

    evidence = load_evidence(tmp_path / "evidence" / "picture.png")
    calibrated = apply_calibration(dataclasses.replace(ela_result, score=0.95), calibration())
    html = build_report_html(evidence, [ReportItem(calibrated, calibrated.threshold)], [], CaseInfo("K-2", "X", ""))
    assert escape(verdict(calibrated).text) in html and escape(false_alarm_sentence(calibrated)) in html
    assert "9 images, reference set &#x27;test set&#x27; (3 photographs; forms: png); provenance: made in a test" in html
    assert escape(get_detector("ela").limitations[0]) in html


def test_results_list_leaves_out_empty_text_parameters(ela_result: Result) -> None:
    from app.results_panel import describe_result

    parameters = {**ela_result.provenance.get("parameters", {}), "members": ""}
    line = describe_result(1, dataclasses.replace(ela_result, provenance={**ela_result.provenance,
                                                                         "parameters": parameters}))
    assert "members=" not in line and line.startswith("1. ela")
