"""Weights manifest: SHA-256 check, refusal of tampered or non-safetensors files, no unpickling."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from forensics_core import weights
from forensics_core.errors import WeightsError
from forensics_core.weights import has_weights, load_weights, read_manifest, save_weights, weights_problem


def _save(folder):
    tensors = {"layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    entry = save_weights("toy/model", tensors, {"steps": 3}, {"auc": 0.9}, folder=folder)
    return tensors, entry


def test_round_trip_records_hash_and_loads(tmp_path):
    tensors, entry = _save(tmp_path)
    assert (tmp_path / "toy" / "model.safetensors").is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["models"]["toy/model"]["sha256"] == entry["sha256"]
    loaded, sha = load_weights("toy/model", folder=tmp_path)
    assert sha == entry["sha256"]
    assert torch.equal(loaded["layer.weight"], tensors["layer.weight"])
    assert has_weights("toy/model", folder=tmp_path)


def test_tampered_file_is_refused(tmp_path):
    _save(tmp_path)
    path = tmp_path / "toy" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its manifest"):
        load_weights("toy/model", folder=tmp_path)


def test_pickle_with_matching_hash_is_not_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    _save(tmp_path)
    path = tmp_path / "toy" / "model.safetensors"
    path.write_bytes(pickle.dumps(Boom()))
    manifest = read_manifest(tmp_path)
    import hashlib

    manifest["models"]["toy/model"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="not a valid safetensors"):
        load_weights("toy/model", folder=tmp_path)


def test_missing_entry_says_not_trained(tmp_path):
    with pytest.raises(WeightsError, match="not trained"):
        load_weights("nothing/here", folder=tmp_path)
    assert not has_weights("nothing/here", folder=tmp_path)


def test_corrupt_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsError, match="cannot be read"):
        read_manifest(tmp_path)


def test_shipped_manifest_matches_its_files():
    """Every weights file shipped in weights/ matches the SHA-256 recorded for it."""
    for key in read_manifest()["models"]:
        load_weights(key)


# ---- untrusted manifests (issue 22, item 4) and the detectors' one weights hook (issue 16) ----

def _point_entry_to(folder, file_name):
    manifest = read_manifest(folder)
    manifest["models"]["toy/model"]["file"] = file_name
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("escape", ["../outside.safetensors", "../../outside.safetensors", "ABSOLUTE"])
def test_manifest_paths_outside_the_weights_folder_are_refused(tmp_path, escape):
    folder = tmp_path / "weights"
    _save(folder)
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes((folder / "toy" / "model.safetensors").read_bytes())  # same bytes: the hash matches
    _point_entry_to(folder, str(outside) if escape == "ABSOLUTE" else escape)
    with pytest.raises(WeightsError, match="outside the weights folder"):
        load_weights("toy/model", folder=folder)
    problem = weights_problem("toy/model", folder)
    assert problem is not None and not problem.untrained and "outside the weights folder" in problem.message
    assert not has_weights("toy/model", folder=folder)


def test_a_link_out_of_the_weights_folder_is_refused(tmp_path):
    folder = tmp_path / "weights"
    _save(folder)
    outside = tmp_path / "outside.safetensors"
    (folder / "toy" / "model.safetensors").rename(outside)
    (folder / "toy" / "model.safetensors").symlink_to(outside)
    with pytest.raises(WeightsError, match="outside the weights folder"):
        load_weights("toy/model", folder=folder)


def test_a_fifo_in_place_of_the_weights_file_is_refused_without_blocking(tmp_path):
    _save(tmp_path)
    path = tmp_path / "toy" / "model.safetensors"
    path.unlink()
    os.mkfifo(path)
    problem = weights_problem("toy/model", tmp_path)
    assert problem is not None and "not a regular file" in problem.message
    with pytest.raises(WeightsError, match="not a regular file"):
        load_weights("toy/model", folder=tmp_path)


@pytest.mark.parametrize("entry", [["list"], {"file": 3, "sha256": "ab"}, {"sha256": "ab"},
                                   {"file": "x", "sha256": None}])
def test_malformed_manifest_entries_are_named(tmp_path, entry):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "models": {"toy/model": entry}}))
    with pytest.raises(WeightsError, match="entry 'toy/model'"):
        load_weights("toy/model", folder=tmp_path)
    problem = weights_problem("toy/model", tmp_path)
    assert problem is not None and not problem.untrained and "toy/model" in problem.message


def test_hash_checks_are_cached_per_size_and_mtime_and_loading_still_verifies(tmp_path, monkeypatch):
    _save(tmp_path)
    calls = []
    real = weights._sha256_of
    monkeypatch.setattr(weights, "_sha256_of", lambda path: calls.append(path) or real(path))
    for _ in range(3):
        assert has_weights("toy/model", folder=tmp_path)
    assert len(calls) == 1
    path = tmp_path / "toy" / "model.safetensors"
    status = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))  # same size, same mtime: the cache answers
    assert has_weights("toy/model", folder=tmp_path) and len(calls) == 1
    with pytest.raises(WeightsError, match="does not match its manifest"):
        load_weights("toy/model", folder=tmp_path)  # ...but what is loaded is always hashed
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000))
    problem = weights_problem("toy/model", tmp_path)
    assert len(calls) == 2 and problem is not None and "SHA-256 differs" in problem.message


def _jconv_weights(folder, **model_sizes):
    from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv

    torch.manual_seed(0)
    save_weights("j-conv-lstm-conv/model", JConvLSTMConv(**model_sizes).state_dict(), {"steps": 1}, {}, folder=folder)


@pytest.fixture
def small_evidence(tmp_path):
    import numpy as np
    from PIL import Image

    from forensics_core.evidence import load_evidence

    path = tmp_path / "small.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return load_evidence(path)


def test_weights_of_the_wrong_shape_are_a_clear_error_not_a_traceback(tmp_path, monkeypatch, small_evidence):
    from forensics_core.detectors import get_detector

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path / "weights"))
    _jconv_weights(tmp_path / "weights", conv_maps=2, pixel_maps=2)  # right names, wrong shapes, hash matches
    detector = get_detector("j-conv-lstm-conv")
    assert detector.is_trained()
    with pytest.raises(WeightsError, match="do not fit the J-Conv-LSTM-Conv model") as raised:
        detector.run(small_evidence, device="cpu")
    assert "size mismatch" in str(raised.value) and "\n" not in str(raised.value)


def test_a_corrupt_manifest_is_reported_as_such_not_as_untrained(tmp_path, monkeypatch, small_evidence):
    from forensics_core.detectors import get_detector

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text("{not json")
    detector = get_detector("lstm-endec")
    assert not detector.is_trained()
    status = detector.training_status()
    assert status.startswith("WEIGHTS UNUSABLE") and "cannot be read" in status and "NOT TRAINED" not in status
    with pytest.raises(WeightsError, match="cannot be used: The weights manifest .* cannot be read"):
        detector.run(small_evidence, device="cpu")


def test_a_missing_weights_file_is_reported_as_such(tmp_path, monkeypatch, small_evidence):
    from forensics_core.detectors import get_detector

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    _jconv_weights(tmp_path)
    (tmp_path / "j-conv-lstm-conv" / "model.safetensors").unlink()
    detector = get_detector("j-conv-lstm-conv")
    assert not detector.is_trained()
    assert detector.training_status().startswith("WEIGHTS UNUSABLE") and "missing" in detector.training_status()
    with pytest.raises(WeightsError, match="missing or unreadable"):
        detector.run(small_evidence, device="cpu")


def test_no_weights_at_all_is_not_trained(tmp_path, monkeypatch, small_evidence):
    from forensics_core.detectors import get_detector

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    detector = get_detector("resampling-lstm")
    assert not detector.is_trained() and detector.training_status().startswith("NOT TRAINED")
    with pytest.raises(WeightsError, match="is not trained: no weights 'resampling-lstm/classifier'"):
        detector.run(small_evidence, device="cpu")



def test_a_rewritten_manifest_is_read_again(tmp_path):
    _save(tmp_path)
    assert weights_problem("other/model", tmp_path).untrained
    save_weights("other/model", {"w": torch.zeros(2)}, {"steps": 1}, {}, folder=tmp_path)
    assert has_weights("other/model", folder=tmp_path)
    manifest = read_manifest(tmp_path)
    del manifest["models"]["other/model"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))  # by hand: a new file, new size
    assert not has_weights("other/model", folder=tmp_path)


def test_training_summary_of_an_entry_without_training_figures(tmp_path):
    from forensics_core.weights import describe_training

    _save(tmp_path)
    manifest = read_manifest(tmp_path)
    manifest["models"]["toy/model"]["training"] = "lost"
    del manifest["models"]["toy/model"]["validation"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert describe_training(["toy/model"], tmp_path) == "0 training steps on ?"


def test_weights_command_names_each_broken_entry(tmp_path, monkeypatch, capsys):
    from forensics_core.cli import main

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "models": {
        "a/b": "junk", "c/d": {"file": "../../etc/passwd", "sha256": "00"}}}))
    assert main(["weights"]) == 2
    out = capsys.readouterr().out
    assert "'a/b' of the weights manifest" in out and "is not a table" in out
    assert "outside the weights folder" in out
