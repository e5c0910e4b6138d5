"""The command line end to end: analyze, evaluate, detectors, exit codes, evidence untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from forensics_core.cli import main
from tests.planted import noisy_image_with_planted_region, write_png


@pytest.fixture()
def planted(tmp_path):
    rgb, truth = noisy_image_with_planted_region()
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    return write_png(evidence_dir / "questioned.png", rgb), truth


def test_analyze_writes_four_outputs_and_leaves_evidence_untouched(planted, tmp_path, capsys):
    image, truth = planted
    before_bytes, before_mtime = image.read_bytes(), image.stat().st_mtime_ns
    out = tmp_path / "out"
    assert main(["analyze", str(image), "--detector", "noise-baseline", "--out", str(out), "--device", "cpu"]) == 0
    heatmap = np.load(out / "heatmap.npy", allow_pickle=False)
    assert heatmap.dtype == np.float32 and heatmap.shape == truth.shape
    mask = cv2.imread(str(out / "mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == truth.shape and set(np.unique(mask)) <= {0, 255}
    overlay = cv2.imread(str(out / "overlay.png"), cv2.IMREAD_UNCHANGED)
    assert overlay.shape[1:] == (truth.shape[1], 3) and overlay.shape[0] > truth.shape[0]  # colour bar below
    record = json.loads((out / "result.json").read_text())
    assert record["evidence"]["sha256"] == hashlib.sha256(before_bytes).hexdigest()
    assert record["evidence"]["md5"] == hashlib.md5(before_bytes).hexdigest()
    assert record["evidence_hash_reverified_at"]
    assert record["result"]["detector"] == "noise-baseline"
    assert record["result"]["provenance"]["parameters"]["window"] == 32
    assert "heatmap" not in record["result"]
    assert record["overlay"]["value_range"] == [0.0, 1.0] and record["overlay"]["colormap"] == "inferno"
    assert image.read_bytes() == before_bytes and image.stat().st_mtime_ns == before_mtime
    assert "sha256" in capsys.readouterr().out


def test_analyze_bad_input_exits_2_with_message(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    assert main(["analyze", str(bad), "--detector", "noise-baseline", "--out", str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "o" / "result.json").exists()


def test_analyze_refuses_to_write_next_to_evidence(planted, capsys):
    image, _ = planted
    assert main(["analyze", str(image), "--detector", "noise-baseline", "--out", str(image.parent)]) == 2
    assert "holds the evidence" in capsys.readouterr().err


def test_unknown_detector_and_parameter_exit_2(planted, tmp_path, capsys):
    image, _ = planted
    assert main(["analyze", str(image), "--detector", "nope", "--out", str(tmp_path / "o")]) == 2
    assert main(["analyze", str(image), "--detector", "noise-baseline", "--param", "window=1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "window" in capsys.readouterr().err


def test_detectors_lists_training_status(capsys):
    assert main(["detectors"]) == 0
    out = capsys.readouterr().out
    assert "noise-baseline" in out and "hand-crafted" in out
    assert main(["detectors", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert all("trained" in d for d in listed)


def test_evaluate_benchmark_folder(tmp_path, capsys):
    for sub in ("images", "masks", "authentic"):
        (tmp_path / "bench" / sub).mkdir(parents=True)
    for seed in range(2):
        rgb, truth = noisy_image_with_planted_region(seed=seed)
        write_png(tmp_path / "bench" / "images" / f"f{seed}.png", rgb)
        write_png(tmp_path / "bench" / "masks" / f"f{seed}.png", truth.astype(np.uint8) * 255)
        clean = np.full_like(rgb, 128)
        clean = np.clip(clean + np.random.default_rng(seed).normal(0, 3, clean.shape), 0, 255).astype(np.uint8)
        write_png(tmp_path / "bench" / "authentic" / f"a{seed}.png", clean)
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(tmp_path / "bench"), "--detector", "noise-baseline", "--json", str(report),
                 "--quiet", "--device", "cpu"]) == 0
    summary = json.loads(report.read_text())
    assert summary["images"] == 2 and summary["authentic"] == 2
    assert summary["pixel_auc"] > 0.9
    assert 0.0 <= summary["image_auc"] <= 1.0
    assert "pixel AUC" in capsys.readouterr().out


def test_evaluate_rejects_folder_without_layout(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--detector", "noise-baseline"]) == 2
    assert "images/ and masks/" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    completed = subprocess.run([sys.executable, "-m", "forensics_core", "detectors"], capture_output=True,
                               text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert completed.returncode == 0, completed.stderr
    assert "noise-baseline" in completed.stdout
