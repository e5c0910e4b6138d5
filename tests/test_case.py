"""Case folders: round trips with several evidence files, evidence checks, audit chain, hostile cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics_core.case import (
    Bookmark,
    Case,
    CaseEvidenceError,
    CaseFormatError,
    CaseInfo,
    EvidenceEntry,
    Run,
    copy_evidence_into_case,
    load_case,
    save_case,
    verify_case,
)
from forensics_core.case.maps import decode_maps, encode_maps
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.roi import Ellipse, Polygon, Rect, Roi


def make_image(path: Path, seed: int, shape: tuple[int, int] = (48, 64)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)).save(path)
    return path


def make_result(shape: tuple[int, int], seed: int, extra: bool = True) -> Result:
    rng = np.random.default_rng(seed)
    heatmap = rng.random(shape).astype(np.float32)
    maps = {"class a": rng.normal(size=shape).astype(np.float64), "class b": rng.random(shape)} if extra else {}
    return Result(detector_id="noise-baseline", heatmap=heatmap, score=0.25, threshold=0.6, mask=heatmap > 0.7,
                  extra_maps=maps, extra={"figures": [1, 2.5]}, timings={"analysis": 0.1}, device="cpu",
                  provenance={"parameters": {"window": 32}, "trained": True})


def entry_for(path: Path) -> EvidenceEntry:
    from forensics_core.evidence.hashing import sha256_file

    return EvidenceEntry(path=path.resolve(), sha256=sha256_file(path))


@pytest.fixture
def two_images(tmp_path):
    return make_image(tmp_path / "evidence" / "a.png", 1), make_image(tmp_path / "evidence" / "b.png", 2, (40, 30))


@pytest.fixture
def saved_case(tmp_path, two_images):
    """A case with two evidence files, two runs on the first, ROIs and bookmarks; saved."""
    a, b = two_images
    first, second = entry_for(a), entry_for(b)
    first.runs = [Run(make_result((48, 64), 1), 0.55), Run(make_result((48, 64), 2, extra=False), 0.3)]
    first.rois = [Roi("box", Rect(2, 3, 10, 12), "#ff0000", "note"), Roi("oval", Ellipse(20, 5, 9, 7)),
                  Roi("tri", Polygon(((1.0, 1.0), (30.0, 2.0), (10.5, 20.25))))]
    first.bookmarks = [Bookmark("zoom on box", first.runs[0].id, "mask", 0.42, 0.7, "viridis", (1, 2, 30, 20),
                                ("box",))]
    first.notes = "first file"
    second.runs = [Run(make_result((40, 30), 3), 0.5)]
    second.bookmarks = [Bookmark("whole", None)]
    case = Case(CaseInfo("K-7", "A. Examiner", "notes\nline 2", "Lab"), [first, second], current_evidence=0,
                current_run=1)
    folder = tmp_path / "case"
    save_case(folder, case)
    return folder, case


def test_round_trip_with_several_evidence_files(saved_case):
    folder, case = saved_case
    back = load_case(folder)
    assert back.info == case.info and back.current_evidence == 0 and back.current_run == 1
    assert [e.path for e in back.evidence] == [e.path for e in case.evidence]
    for old, new in zip(case.evidence, back.evidence):
        assert new.sha256 == old.sha256 and new.rois == old.rois and new.bookmarks == old.bookmarks
        assert new.notes == old.notes and [r.id for r in new.runs] == [r.id for r in old.runs]
        for old_run, new_run in zip(old.runs, new.runs):
            assert new_run.threshold == old_run.threshold
            np.testing.assert_allclose(new_run.result.heatmap, old_run.result.heatmap, atol=2**-11)
            np.testing.assert_array_equal(new_run.result.mask, old_run.result.mask)
            assert sorted(new_run.result.extra_maps) == sorted(old_run.result.extra_maps)
            for name, values in old_run.result.extra_maps.items():
                span = float(values.max() - values.min())
                np.testing.assert_allclose(new_run.result.extra_maps[name], values, atol=span / 510 + 1e-6)
            assert new_run.result.provenance == old_run.result.provenance
    assert [e["action"] for e in back.audit.entries] == ["case created", "case saved", "case opened"]


def test_saving_again_keeps_the_chain_and_reuses_map_files(saved_case):
    folder, _ = saved_case
    case = load_case(folder)
    before = {p.name: p.stat().st_mtime_ns for p in (folder / "maps").iterdir()}
    case.evidence[0].runs.pop()  # a removed run's map file goes
    save_case(folder, case)
    after = {p.name: p.stat().st_mtime_ns for p in (folder / "maps").iterdir()}
    assert len(after) == len(before) - 1 and all(before[name] == after[name] for name in after)
    again = load_case(folder)
    assert [e["action"] for e in again.audit.entries][-3:] == ["case opened", "case saved", "case opened"]
    assert verify_case(folder).ok


def test_changed_and_missing_evidence_are_named(saved_case, two_images):
    folder, _ = saved_case
    a, b = two_images
    with a.open("ab") as handle:
        handle.write(b"x")
    b.unlink()
    with pytest.raises(CaseEvidenceError) as info:
        load_case(folder)
    message = str(info.value)
    assert f"{a.resolve()}: CHANGED" in message and f"{b.resolve()}: MISSING" in message
    outcome = verify_case(folder)
    assert not outcome.ok and len([p for p in outcome.problems if p.startswith("evidence")]) == 2


def test_copied_evidence_is_verified_inside_the_case(tmp_path, two_images):
    a, _ = two_images
    entry = entry_for(a)
    folder = tmp_path / "case"
    copy_evidence_into_case(folder, entry)
    assert entry.copied and not entry.path.is_absolute()
    save_case(folder, Case(evidence=[entry]))
    a.unlink()  # the original may go; the copy stands in
    assert load_case(folder).evidence[0].copied


def test_compact_maps_of_a_12_megapixel_result_are_small():
    shape = (3000, 4000)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    heatmap = (0.5 + 0.4 * np.sin(x / 300.0) * np.cos(y / 200.0)).astype(np.float32)
    data, scales = encode_maps(heatmap, heatmap > 0.6, {}, include_extra=False)
    assert len(data) < 25e6  # float32 uncompressed would be 48 MB, float64 96 MB
    back = decode_maps(data, *shape, scales)
    assert np.abs(back.heatmap - heatmap).max() <= 2**-11
    np.testing.assert_array_equal(back.mask, heatmap > 0.6)


# ---- audit trail ----------------------------------------------------------------------------
def _rewrite_audit(folder: Path, change) -> None:
    lines = (folder / "audit.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    change(entries)
    (folder / "audit.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


@pytest.mark.parametrize("edit", ["detail", "time", "delete first", "truncate", "swap"])
def test_the_audit_chain_detects_an_edited_entry(saved_case, edit):
    folder, _ = saved_case
    case = load_case(folder)
    case.audit.append("threshold bookmarked", {"threshold": 0.4})
    save_case(folder, case)
    assert verify_case(folder).ok
    changes = {
        "detail": lambda e: e[1]["details"].update(runs=99),
        "time": lambda e: e[0].update(time="2020-01-01T00:00:00+00:00"),
        "delete first": lambda e: e.pop(0),
        "truncate": lambda e: e.pop(),
        "swap": lambda e: e.insert(1, e.pop(2)),
    }
    _rewrite_audit(folder, changes[edit])
    outcome = verify_case(folder)
    assert not outcome.ok and any(p.startswith("audit trail") for p in outcome.problems)
    with pytest.raises(CaseFormatError, match="audit trail was altered"):
        load_case(folder)


def test_verify_reports_a_changed_map_file(saved_case):
    folder, _ = saved_case
    victim = next((folder / "maps").iterdir())
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert any("CHANGED" in p for p in verify_case(folder).problems)
    with pytest.raises(CaseFormatError, match="changed since the case was saved"):
        load_case(folder)


# ---- hostile case files ---------------------------------------------------------------------
def _document(folder: Path) -> dict:
    return json.loads((folder / "case.json").read_text())


def _write(folder: Path, document: dict) -> None:
    (folder / "case.json").write_text(json.dumps(document))


def _first_maps(document: dict) -> dict:
    return document["evidence"][0]["runs"][0]["maps"]


def _make_fifo(folder: Path) -> str:
    os.mkfifo(folder / "maps" / "fifo.npz")
    return "maps/fifo.npz"


def _make_evidence_fifo(folder: Path) -> str:
    os.mkfifo(folder.parent / "evidence.fifo")
    return str((folder.parent / "evidence.fifo").resolve())


def _make_outside_link(folder: Path) -> str:
    outside = folder.parent / "outside.npz"
    outside.write_bytes(b"secret")
    (folder / "maps" / "link.npz").symlink_to(outside)
    return "maps/link.npz"


HOSTILE = {
    "absolute map path": lambda f, d: _first_maps(d).update(file="/etc/passwd"),
    "parent map path": lambda f, d: _first_maps(d).update(file="../outside.npz"),
    "device map path": lambda f, d: _first_maps(d).update(file="/dev/zero"),
    "hidden map name": lambda f, d: _first_maps(d).update(file=".hidden"),
    "fifo map file": lambda f, d: _first_maps(d).update(file=_make_fifo(f)),
    "link out of the case": lambda f, d: _first_maps(d).update(file=_make_outside_link(f)),
    "folder as map file": lambda f, d: _first_maps(d).update(file="maps"),
    "nan threshold": lambda f, d: d["evidence"][0]["runs"][0].update(threshold=float("nan")),
    "infinite score": lambda f, d: d["evidence"][0]["runs"][0].update(score=float("inf")),
    "threshold as text": lambda f, d: d["evidence"][0]["runs"][0].update(threshold="0.5"),
    "threshold out of range": lambda f, d: d["evidence"][0]["runs"][0].update(threshold=7),
    "missing field": lambda f, d: d["evidence"][0].pop("sha256"),
    "unknown field": lambda f, d: d.update(arrays={"file": "/dev/zero"}),
    "bad current evidence": lambda f, d: d["current"].update(evidence=9),
    "bad current run": lambda f, d: d["current"].update(run=5),
    "current as text": lambda f, d: d.update(current="0"),
    "huge declared map": lambda f, d: _first_maps(d).update(height=1_000_000, width=1_000_000),
    "wrong map shape": lambda f, d: _first_maps(d).update(height=40),
    "bookmark to a missing run": lambda f, d: d["evidence"][1]["bookmarks"][0].update(run_id="abcdef"),
    "relative evidence path": lambda f, d: d["evidence"][0].update(path="evidence/a.png"),
    "copied evidence outside": lambda f, d: d["evidence"][0].update(path="evidence/../../a.png", copied=True),
    "duplicate evidence id": lambda f, d: d["evidence"][1].update(id=d["evidence"][0]["id"]),
    "bad sha": lambda f, d: d["evidence"][0].update(sha256="zz"),
    "polygon without points": lambda f, d: d["evidence"][0]["rois"][2].pop("points"),
    "roi coordinate nan": lambda f, d: d["evidence"][0]["rois"][0].update(x=float("nan")),
    "deep provenance": lambda f, d: d["evidence"][0]["runs"][0].update(provenance=_deep(50)),
    "list as document": lambda f, d: d.clear(),
    "evidence is a device": lambda f, d: d["evidence"][0].update(path="/dev/zero"),
    "evidence is a fifo": lambda f, d: d["evidence"][0].update(path=_make_evidence_fifo(f)),
    "unknown version": lambda f, d: d.update(version=3),
}


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.timeout(20)
@pytest.mark.parametrize("variant", sorted(HOSTILE))
def test_hostile_case_variants_are_refused_with_a_message(saved_case, variant):
    folder, _ = saved_case
    document = _document(folder)
    HOSTILE[variant](folder, document)
    _write(folder, document)
    with pytest.raises(ForensicsError) as info:
        load_case(folder)
    assert str(info.value) and "Traceback" not in str(info.value)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("content", [b"\x00\xff" * 100, b"[" * 100_000, b"{}", b'"text"', b"", b"{\"format\": NaN}"])
def test_corrupt_case_json_is_refused(saved_case, content):
    folder, _ = saved_case
    (folder / "case.json").write_bytes(content)
    with pytest.raises(CaseFormatError):
        load_case(folder)


@pytest.mark.timeout(20)
def test_case_json_that_is_a_fifo_or_too_large_is_refused(saved_case):
    folder, _ = saved_case
    (folder / "case.json").unlink()
    os.mkfifo(folder / "case.json")
    with pytest.raises(CaseFormatError, match="not a regular file"):
        load_case(folder)
    (folder / "case.json").unlink()
    with (folder / "case.json").open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(CaseFormatError, match="more than"):
        load_case(folder)


def test_map_archive_with_a_pickled_member_is_refused(saved_case):
    import hashlib
    import io

    folder, _ = saved_case
    buffer = io.BytesIO()
    np.savez(buffer, heatmap=np.array([object()], dtype=object), mask=np.zeros(1, np.uint8))
    data = buffer.getvalue()
    (folder / "maps" / "evil.npz").write_bytes(data)
    document = _document(folder)
    run = document["evidence"][0]["runs"][1]
    run["maps"].update(file="maps/evil.npz", sha256=hashlib.sha256(data).hexdigest())
    _write(folder, document)
    with pytest.raises(CaseFormatError):
        load_case(folder)


def test_legacy_single_image_case_is_refused_with_a_clear_message(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "case.json").write_text(json.dumps({"format": 1, "image_path": "/x.png", "arrays": {"file": "/dev/zero"}}))
    with pytest.raises(CaseFormatError, match="earlier version"):
        load_case(folder)


def test_a_nan_threshold_cannot_be_saved(tmp_path, two_images):
    entry = entry_for(two_images[0])
    entry.runs = [Run(make_result((48, 64), 1), float("nan"))]
    case = Case(evidence=[entry])
    with pytest.raises(ForensicsError):
        save_case(tmp_path / "case", case)
    assert [e["action"] for e in case.audit.entries] == ["case created"]  # no entry for a save that failed
    assert not (tmp_path / "case" / "case.json").exists()
