"""Outputs under hostile conditions: unwritable folders, folders inside the evidence's folder,
killed writes, reused folders, non-finite parameters and strict JSON (issue 22, items 5 and 6)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from forensics_core import atomic
from forensics_core.atomic import remove_stale_temp_files, strict_json, write_json_atomic
from forensics_core.cli import main
from forensics_core.detectors.base import Parameter
from forensics_core.errors import ParameterError
from forensics_core.outputs import verify_result_folder
from tests.planted import noisy_image_with_planted_region, write_png


@pytest.fixture()
def evidence_file(tmp_path: Path) -> Path:
    rgb, _ = noisy_image_with_planted_region()
    folder = tmp_path / "exhibit"
    folder.mkdir()
    return write_png(folder / "questioned.png", rgb)


def _analyze(image: Path, out: Path | None, *extra: str) -> int:
    args = ["analyze", str(image), "--detector", "noise-baseline", "--device", "cpu", "--quiet"]
    return main(args + (["--out", str(out)] if out is not None else []) + list(extra))


def _strict_loads(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# ---- item 6: output folder --------------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_output_folder_exits_2_with_one_line(evidence_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert _analyze(evidence_file, out) == 2
    finally:
        out.chmod(0o700)
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Cannot write results to") and "\n" not in err


def test_permission_denied_while_writing_exits_2_with_one_line(evidence_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def denied(path: object, data: bytes) -> Path:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("forensics_core.atomic.write_bytes_atomic", denied)
    assert _analyze(evidence_file, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Cannot write results to") and "Permission denied" in err
    assert "\n" not in err and "Traceback" not in err


def test_output_folder_that_is_a_file_exits_2(evidence_file: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert _analyze(evidence_file, blocker / "sub") == 2
    assert "Cannot write results to" in capsys.readouterr().err


def test_out_inside_the_evidence_folder_is_refused(evidence_file: Path, capsys) -> None:
    out = evidence_file.parent / "results" / "deeper"
    assert _analyze(evidence_file, out) == 2
    assert "inside the folder that holds the evidence" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in evidence_file.parent.iterdir()) == ["questioned.png"]


def test_default_output_refused_when_run_from_the_evidence_folder(evidence_file: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(evidence_file.parent)
    assert _analyze(evidence_file, None) == 2
    assert "inside the folder that holds the evidence" in capsys.readouterr().err
    assert sorted(p.name for p in evidence_file.parent.iterdir()) == ["questioned.png"]


def test_stale_temp_files_of_dead_writers_are_removed(evidence_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = out / ".heatmap.npy.999999999-abc123.tmp"  # no such process
    alive = out / f".mask.png.{os.getpid()}-def456.tmp"  # a writer still running (this process)
    unrelated = out / "notes.tmp"
    for path in (dead, alive, unrelated):
        path.write_bytes(b"half")
    assert _analyze(evidence_file, out) == 0
    assert not dead.exists() and alive.exists() and unrelated.exists()
    assert remove_stale_temp_files(out) == []


def test_result_json_is_written_last_and_lists_every_file(evidence_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _analyze(evidence_file, out) == 0
    record = _strict_loads((out / "result.json").read_text())
    assert set(record["files"]) == {"heatmap", "mask", "overlay"}
    for entry in record["files"].values():
        assert len(entry["sha256"]) == 64
    for name in ("mask.png", "overlay.png"):
        with Image.open(out / name) as png:
            assert png.text["tamper-workbench run"] == record["run_id"]
    result_mtime = (out / "result.json").stat().st_mtime_ns
    assert all((out / e["file"]).stat().st_mtime_ns <= result_mtime for e in record["files"].values())
    assert verify_result_folder(out) == []


def test_run_killed_half_way_in_a_reused_folder_leaves_no_result_json(evidence_file: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert _analyze(evidence_file, out) == 0
    first_run = _strict_loads((out / "result.json").read_text())["run_id"]
    real_write_png = atomic.write_png_atomic
    calls = []

    def killed_at_overlay(path: object, *args: object, **kwargs: object) -> Path:
        calls.append(path)
        if str(path).endswith("overlay.png"):
            raise KeyboardInterrupt  # the user killed the run while the overlay was written
        return real_write_png(path, *args, **kwargs)

    monkeypatch.setattr("forensics_core.outputs.write_png_atomic", killed_at_overlay)
    assert _analyze(evidence_file, out, "--param", "window=16") == 130
    assert not (out / "result.json").exists()  # nothing ties the mixed files to a run
    assert verify_result_folder(out) == [f"{out / 'result.json'} is missing: the run did not finish"]
    monkeypatch.setattr("forensics_core.outputs.write_png_atomic", real_write_png)
    assert _analyze(evidence_file, out) == 0
    record = _strict_loads((out / "result.json").read_text())
    assert record["run_id"] != first_run and verify_result_folder(out) == []
    (out / "mask.png").write_bytes((out / "overlay.png").read_bytes())
    assert verify_result_folder(out) == [
        "mask.png does not match its SHA-256 in result.json (another run wrote it)"]


# ---- item 5: parameters and strict JSON ----------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999", float("nan"), float("inf")])
def test_non_finite_float_parameter_is_refused(value: object) -> None:
    parameter = Parameter("saturation", float, 2.0, minimum=0.1, maximum=10.0)
    with pytest.raises(ParameterError, match="finite"):
        parameter.validate(value)


def test_nan_parameter_on_the_command_line_exits_2(evidence_file: Path, tmp_path: Path, capsys) -> None:
    assert _analyze(evidence_file, tmp_path / "out", "--param", "saturation=nan") == 2
    assert "finite" in capsys.readouterr().err
    assert not (tmp_path / "out" / "result.json").exists()


def test_strict_json_writes_no_nan(tmp_path: Path) -> None:
    path = write_json_atomic(tmp_path / "x.json", {"auc": float("nan"), "values": [1.0, float("inf")],
                                                   "np": np.float32("nan"), "ok": np.float64(0.5)})
    assert _strict_loads(path.read_text()) == {"auc": None, "values": [1.0, None], "np": None, "ok": 0.5}


_FLOAT = Parameter("ratio", float, 1.0, minimum=-5.0, maximum=5.0)
_INT = Parameter("window", int, 8, minimum=4, maximum=256)
_CHOICE = Parameter("mode", str, "a", choices=("a", "b"))
_BOOL = Parameter("flag", bool, False)


def _declared_parameters() -> tuple[Parameter, ...]:
    """Every parameter every registered detector declares, and the four above."""
    from forensics_core.detectors import list_detectors

    return (_FLOAT, _INT, _CHOICE, _BOOL) + tuple(p for d in list_detectors() for p in d.parameters)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=20),
                 st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_every_parameter_either_refuses_or_returns_a_valid_value(value: object) -> None:
    """Property, over every declared parameter of every detector: validation raises ParameterError
    or returns a value of the declared kind inside the declared bounds: never another exception,
    never NaN or infinity."""
    for parameter in _declared_parameters():
        try:
            converted = parameter.validate(value)
        except ParameterError:
            continue
        assert isinstance(converted, parameter.kind)
        if parameter.kind in (int, float):
            assert math.isfinite(converted)
            assert parameter.minimum is None or converted >= parameter.minimum
            assert parameter.maximum is None or converted <= parameter.maximum
        if parameter.choices:
            assert converted in parameter.choices
        assert parameter.validate(converted) == converted  # idempotent


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.one_of(st.floats(), st.integers(), st.text(max_size=8), st.none(), st.booleans()),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=5), children, max_size=4), max_leaves=20))
def test_strict_json_is_always_valid_json(value: object) -> None:
    """Property: whatever the figures, the text parses as standard JSON."""
    _strict_loads(strict_json(value))
