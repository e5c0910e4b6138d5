"""Results found again by key: in the open case's runs and in a store on disk."""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core.detectors import get_detector
from forensics_core.evidence import load_evidence
from forensics_core.result_cache import ResultStore, index_results, key_for_run, result_key
from tests.planted import noisy_image_with_planted_region, write_png


@pytest.fixture()
def evidence(tmp_path):
    rgb, _ = noisy_image_with_planted_region(96, 128)
    return load_evidence(write_png(tmp_path / "questioned.png", rgb))


def test_key_before_the_run_equals_the_key_of_the_result(evidence):
    detector = get_detector("noise-baseline")
    result = detector.run(evidence, {})
    assert key_for_run(detector, evidence.sha256, {}) == result_key(result)
    assert index_results([result])[key_for_run(detector, evidence.sha256, None)] is result


def test_key_changes_with_parameters_evidence_and_detector(evidence):
    detector = get_detector("noise-baseline")
    name = detector.parameters[0].name
    changed = {name: detector.parameters[0].maximum or detector.parameters[0].default + 1}
    keys = {key_for_run(detector, evidence.sha256, {}), key_for_run(detector, evidence.sha256, changed),
            key_for_run(detector, "0" * 64, {}), key_for_run(get_detector("ela"), evidence.sha256, {})}
    assert len(keys) == 4


def test_trained_detector_key_names_the_weights(evidence):
    detector = get_detector("resampling")
    if not detector.is_trained():
        pytest.skip("resampling has no usable weights in this checkout")
    assert key_for_run(detector, evidence.sha256) != key_for_run(get_detector("noise-baseline"), evidence.sha256)


def test_store_round_trip_and_reuse(evidence, tmp_path, monkeypatch):
    store = ResultStore(tmp_path / "cache")
    detector = get_detector("noise-baseline")
    first = store.run(detector, evidence)
    calls = []
    monkeypatch.setattr(type(detector), "run", lambda *args, **kwargs: calls.append(1))
    again = store.run(detector, evidence)
    assert calls == []
    assert again.score == first.score and again.threshold == first.threshold
    assert np.abs(again.heatmap - first.heatmap).max() <= 2.0 ** -11
    assert np.array_equal(again.mask, first.mask)
    assert again.provenance == first.provenance


def test_changed_or_incomplete_entry_is_treated_as_absent(evidence, tmp_path):
    store = ResultStore(tmp_path / "cache")
    key = store.put(get_detector("noise-baseline").run(evidence))
    (maps,) = (tmp_path / "cache").rglob("maps.npz")
    maps.write_bytes(maps.read_bytes()[:-10])
    assert store.get(key) is None
    (summary,) = (tmp_path / "cache").rglob("result.json")
    summary.unlink()
    assert store.get(key) is None
    with pytest.raises(ValueError):
        store.get("../" + key[3:])
