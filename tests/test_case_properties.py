"""Property-based tests (Hypothesis) of case files: any mutation opens cleanly or is refused cleanly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics_core.case import Case, CaseInfo, Run, load_case, save_case
from forensics_core.case.audit import AuditTrail, check_chain
from forensics_core.case.maps import decode_maps, encode_maps
from forensics_core.errors import ForensicsError
from tests.test_case import entry_for, make_image, make_result

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    entry = entry_for(make_image(root / "evidence" / "a.png", 5, (24, 32)))
    entry.runs = [Run(make_result((24, 32), 5), 0.5)]
    save_case(root / "case", Case(CaseInfo("K", "E"), [entry], current_evidence=0, current_run=0))
    return root / "case"


def _paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _replace(document, path, value):
    if not path:
        return value
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@SETTINGS
@given(data=st.data())
def test_any_mutated_case_opens_or_is_refused_with_a_message(template, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("mutant") / "case"
    shutil.copytree(template, folder)
    document = json.loads((folder / "case.json").read_text())
    paths = list(_paths(document))
    path = data.draw(st.sampled_from(paths), label="path")
    mutated = _replace(document, path, data.draw(JSON_VALUES, label="value"))
    (folder / "case.json").write_text(json.dumps(mutated))
    try:
        case = load_case(folder)
    except ForensicsError as exc:
        assert str(exc)
        return
    # Opened: then it is complete and internally consistent.
    assert all(np.isfinite(run.threshold) for e in case.evidence for run in e.runs)
    assert -1 <= case.current_evidence < len(case.evidence)


@SETTINGS
@given(content=st.binary(max_size=2_000))
def test_arbitrary_bytes_as_case_json_are_refused(template, tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("bytes") / "case"
    shutil.copytree(template, folder)
    (folder / "case.json").write_bytes(content)
    with pytest.raises(ForensicsError):
        load_case(folder)


@SETTINGS
@given(content=st.binary(max_size=4_000))
def test_arbitrary_map_bytes_are_refused(content):
    with pytest.raises(ForensicsError):
        decode_maps(content, 24, 32, [])


@settings(max_examples=25, deadline=None)
@given(info=st.builds(CaseInfo, st.text(max_size=50), st.text(max_size=50), st.text(max_size=200),
                      st.text(max_size=50)),
       threshold=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_case_details_and_thresholds_round_trip(tmp_path_factory, info, threshold, seed):
    root = tmp_path_factory.mktemp("rt")
    entry = entry_for(make_image(root / "a.png", seed % 7, (8, 12)))
    entry.runs = [Run(make_result((8, 12), seed, extra=seed % 2 == 0), threshold)]
    save_case(root / "case", Case(info, [entry], current_evidence=0, current_run=0))
    back = load_case(root / "case")
    assert back.info == info and back.evidence[0].runs[0].threshold == threshold


@settings(max_examples=100, deadline=None)
@given(actions=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=8), data=st.data())
def test_any_change_to_one_audit_entry_is_detected(actions, data):
    trail = AuditTrail()
    for action in actions:
        trail.append(action, {"value": data.draw(st.integers(), label="value")})
    assert check_chain(trail.entries).ok
    index = data.draw(st.integers(0, len(trail.entries) - 1), label="index")
    field = data.draw(st.sampled_from(["time", "action", "details", "previous", "seq"]), label="field")
    original = trail.entries[index][field]
    replacement = data.draw(JSON_VALUES.filter(lambda v: v != original), label="replacement")
    trail.entries[index][field] = replacement
    assert not check_chain(trail.entries, len(trail.entries), trail.head).ok


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0, width=32), min_size=12, max_size=12))
def test_stored_heatmaps_stay_within_float16_precision(values):
    heatmap = np.array(values, np.float32).reshape(3, 4)
    data, scales = encode_maps(heatmap, heatmap > 0.5, {})
    back = decode_maps(data, 3, 4, scales)
    assert np.abs(back.heatmap - heatmap).max() <= 2**-11
