"""The batch 'report' command and 'case verify' on the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics_core.cli import main


def picture(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    for seed in range(3):
        picture(tmp_path / "images" / f"img_{seed}.png", seed)
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    return tmp_path / "images"


def test_batch_writes_one_report_per_image_an_index_and_a_verifiable_trail(folder, tmp_path, capsys):
    single = picture(tmp_path / "other" / "single.png", 9)
    out = tmp_path / "out"
    code = main(["report", str(folder), str(single), "--detector", "noise-baseline", "--out", str(out),
                 "--case-number", "B-1", "--examiner", "Dr. Batch", "--quiet"])
    assert code == 0
    assert "4 of 4 images reported" in capsys.readouterr().out
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["001-img_0", "002-img_1", "003-img_2", "004-single"]
    for name in folders:
        pdf = (out / name / "report.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and b"/Subject" in pdf
        assert (out / name / "report.html.sha256").exists() and (out / name / "report.pdf.sha256").exists()
    index = json.loads((out / "index.json").read_text())
    assert [Path(i["image"]).name for i in index["images"]] == ["img_0.png", "img_1.png", "img_2.png", "single.png"]
    assert all("noise-baseline" in i["results"] for i in index["images"])
    html = (out / "index.html").read_text()
    assert html.count("<a href='") == 8 and "B-1" in html
    assert main(["case", "verify", str(out)]) == 0
    (out / "002-img_1" / "report.html").write_text("edited")
    assert main(["case", "verify", str(out)]) == 2
    assert "002-img_1/report.html: CHANGED" in capsys.readouterr().out


@pytest.mark.slow
def test_batch_with_two_worker_processes_matches_one(folder, tmp_path):
    assert main(["report", str(folder), "--detector", "noise-baseline", "--out", str(tmp_path / "one"),
                 "--no-pdf", "--quiet"]) == 0
    assert main(["report", str(folder), "--detector", "noise-baseline", "--out", str(tmp_path / "two"),
                 "--no-pdf", "--quiet", "--jobs", "2"]) == 0
    one = json.loads((tmp_path / "one" / "index.json").read_text())["images"]
    two = json.loads((tmp_path / "two" / "index.json").read_text())["images"]
    assert [i["results"] for i in one] == [i["results"] for i in two]
    assert not (tmp_path / "two" / "001-img_0" / "report.pdf").exists()


def test_batch_bad_inputs_are_refused_with_a_message(folder, tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--detector", "noise-baseline", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", str(folder), "--detector", "no-such", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", str(folder), "--detector", "noise-baseline", "--out", str(folder)]) == 2
    errors = capsys.readouterr().err
    assert "neither an image file nor a folder" in errors and "holds evidence files" in errors
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["report", str(folder), "--detector", "noise-baseline", "--out", str(tmp_path / "o2"),
                 "--no-pdf", "--quiet"]) == 2
    index = json.loads((tmp_path / "o2" / "index.json").read_text())["images"]
    assert [("error" in i) for i in index] == [True, False, False, False]  # broken.png sorts first


def test_case_verify_of_a_missing_folder_is_a_clean_error(tmp_path, capsys):
    assert main(["case", "verify", str(tmp_path / "nothing")]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.shared
@pytest.mark.slow
def test_noso_batch_smoke(tmp_path):
    noso = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks" / "noso"
    if not noso.is_dir():
        pytest.skip("../shared/data/benchmarks/noso is absent")
    images = sorted((noso / "authentic").iterdir())[:1]
    assert main(["report", *map(str, images), "--detector", "noise-baseline", "--out", str(tmp_path / "n"),
                 "--quiet"]) == 0
    assert os.path.getsize(tmp_path / "n" / "001-01" / "report.pdf") > 50_000
