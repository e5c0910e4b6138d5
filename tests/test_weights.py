"""Weights manifest: SHA-256 check, refusal of tampered or non-safetensors files, no unpickling."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from forensics_core.errors import WeightsError
from forensics_core.weights import has_weights, load_weights, read_manifest, save_weights


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
