"""Merge the weights and manifest entries of GPU training runs into the shipped ``weights/``.

    python scripts/merge_weights.py RUN.tar [RUN.tar ...]

Each archive (from ``scripts/train_gpu.sh``) holds ``weights/manifest.json`` and the safetensors
files it names. Every file is checked against its SHA-256 before it is copied; the shipped
manifest gets the archive's entries unchanged (they come from the harness, not from this script).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from pathlib import Path

from forensics_core.atomic import write_bytes_atomic, write_json_atomic
from forensics_core.weights import MANIFEST_NAME, read_manifest, weights_dir


def merge(archive: Path, target: Path) -> list[str]:
    """Copy the verified weights of ``archive`` into ``target`` and return their keys."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile(f"weights/{MANIFEST_NAME}")
        if member is None:
            raise SystemExit(f"{archive} has no weights/{MANIFEST_NAME}")
        incoming = json.load(member)["models"]
        manifest = read_manifest(target)
        for key, entry in incoming.items():
            data = tar.extractfile(f"weights/{entry['file']}").read()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise SystemExit(f"{archive}: {entry['file']} does not match its SHA-256")
            write_bytes_atomic(target / entry["file"], data)
            manifest["models"][key] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json_atomic(target / MANIFEST_NAME, manifest)
    return list(incoming)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(path, "->", ", ".join(merge(Path(path), weights_dir())))
