"""The typed per-class summary of a result (``Result.per_class``): JSON form, case files, report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from forensics_core.case import Case, CaseFormatError, CaseInfo, EvidenceEntry, Run, load_case, save_case
from forensics_core.detectors.base import ClassMapSummary, Result
from forensics_core.evidence.hashing import sha256_file
from forensics_core.report import class_summary_table

SUMMARY = ClassMapSummary(map_name="filtered/upsampling", counts=(3, 0, 5), edges=(0.0, 0.25, 0.5, 1.0),
                          otsu_threshold=0.375, bimodality=0.8, kept=True, confidence=0.4, mean_probability=0.3)
UNKEPT = ClassMapSummary(map_name="filtered/shearing", counts=(8,), edges=(0.0, 1.0), otsu_threshold=1.0,
                         bimodality=0.0, kept=False, confidence=None, mean_probability=0.1)


def _result(shape=(12, 16)) -> Result:
    heatmap = np.linspace(0, 1, shape[0] * shape[1], dtype=np.float32).reshape(shape)
    maps = {"filtered/upsampling": heatmap, "filtered/shearing": 1 - heatmap}
    return Result("resampling", heatmap, 0.4, 0.5, heatmap >= 0.5, extra_maps=maps,
                  per_class={"upsampling": SUMMARY, "shearing": UNKEPT})


def test_json_round_trip_keeps_every_figure():
    for summary in (SUMMARY, UNKEPT):
        text = json.dumps(summary.to_json(), allow_nan=False)
        assert ClassMapSummary.from_json(json.loads(text)) == summary


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("kept"),
    lambda d: d["histogram"].update(edges=[0.0]),
    lambda d: d.update(otsu_threshold="high"),
    lambda d: d.update(histogram=None),
])
def test_malformed_summaries_are_refused_with_a_reason(damage):
    data = SUMMARY.to_json()
    damage(data)
    with pytest.raises(ValueError, match="malformed per-class summary"):
        ClassMapSummary.from_json(data)


def test_result_summary_and_threshold_changes_carry_the_per_class_summary():
    result = _result()
    summary = result.summary()
    assert list(summary["per_class"]) == ["upsampling", "shearing"]
    assert summary["per_class"]["upsampling"]["histogram"]["counts"] == [3, 0, 5]
    json.dumps(summary, allow_nan=False)
    assert result.with_threshold(0.2).per_class == result.per_class


def test_case_files_keep_the_per_class_summary(tmp_path):
    image = tmp_path / "evidence.png"
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(image)
    entry = EvidenceEntry(path=image.resolve(), sha256=sha256_file(image))
    entry.runs = [Run(_result(), 0.5)]
    save_case(tmp_path / "case", Case(CaseInfo("K-1", "Examiner", "", "Lab"), [entry]))
    back = load_case(tmp_path / "case").evidence[0].runs[0].result
    assert back.per_class == {"upsampling": SUMMARY, "shearing": UNKEPT}


def test_a_case_with_a_malformed_per_class_summary_is_refused(tmp_path):
    image = tmp_path / "evidence.png"
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(image)
    entry = EvidenceEntry(path=image.resolve(), sha256=sha256_file(image))
    entry.runs = [Run(_result(), 0.5)]
    folder = tmp_path / "case"
    save_case(folder, Case(CaseInfo("K-1", "Examiner", "", "Lab"), [entry]))
    document = json.loads((folder / "case.json").read_text())
    document["evidence"][0]["runs"][0]["per_class"]["upsampling"]["histogram"]["edges"] = [0.0]
    (folder / "case.json").write_text(json.dumps(document))
    with pytest.raises(CaseFormatError, match="per-class summary"):
        load_case(folder)


def test_the_report_tabulates_each_class():
    table = class_summary_table(_result())
    assert "Per-class summary" in table and "filtered/upsampling" in table and "0.375" in table
    assert table.count("<tr>") == 3 and "<td>no</td>" in table
    assert class_summary_table(Result("x", np.zeros((2, 2), np.float32), 0.0, 0.5, np.zeros((2, 2), bool))) == ""
