"""Trained weights: safetensors files checked against SHA-256 sums in a manifest.

Layout: ``weights/<detector>/<name>.safetensors`` and ``weights/manifest.json``::

    {"format": 1,
     "models": {"<detector>/<name>": {"detector": ..., "file": "<detector>/<name>.safetensors",
                                       "sha256": ..., "bytes": ..., "training": {...},
                                       "validation": {...}}}}

Weights are never unpickled: files are read once, hashed, compared with the manifest and only
then parsed by :func:`safetensors.torch.load`. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics_core.atomic import write_bytes_atomic, write_json_atomic
from forensics_core.errors import WeightsError
from forensics_core.shipped import shipped_folder

if TYPE_CHECKING:  # pragma: no cover
    import torch

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


def weights_dir() -> Path:
    """The shipped weights folder (``TAMPER_WEIGHTS_DIR`` overrides it, for tests and training)."""
    override = os.environ.get("TAMPER_WEIGHTS_DIR")
    if override:
        return Path(override)
    return shipped_folder("weights")


def user_weights_dir() -> Path:
    """Per-user folder for weights the user imports (``TAMPER_USER_WEIGHTS_DIR`` overrides)."""
    override = os.environ.get("TAMPER_USER_WEIGHTS_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tamper-workbench" / "weights"


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest of ``folder`` (default :func:`weights_dir`); an empty one if there is none.

    The caller owns the returned dictionary (it is parsed afresh, so changing it changes nothing else).
    """
    path = (folder or weights_dir()) / MANIFEST_NAME
    if not path.exists():
        return {"format": MANIFEST_FORMAT, "models": {}}
    if not path.is_file():
        raise WeightsError(f"The weights manifest {path} is not a regular file.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8 or JSON
        raise WeightsError(f"The weights manifest {path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise WeightsError(f"The weights manifest {path} has no 'models' table.")
    return manifest


#: Manifests already parsed in this process, by path: ((inode, size, mtime in ns), models table).
_parsed_manifests: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def _manifest_models(folder: Path) -> dict[str, Any]:
    """The ``models`` table of ``folder``'s manifest, parsed once per size and modification time."""
    path = folder / MANIFEST_NAME
    try:
        status = path.stat()
    except OSError:
        return read_manifest(folder)["models"]  # none: an empty table (or the reason it cannot be read)
    version = (status.st_ino, status.st_size, status.st_mtime_ns)
    cached = _parsed_manifests.get(str(path))
    if cached is None or cached[0] != version:
        cached = (version, read_manifest(folder)["models"])
        _parsed_manifests[str(path)] = cached
    return cached[1]


def manifest_entry(key: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The manifest entry for ``key`` (``"<detector>/<name>"``), or None when it has none.

    Raises :class:`WeightsError` when the manifest cannot be read or the entry is malformed
    (no ``file`` or ``sha256`` string).
    """
    folder = folder or weights_dir()
    entry = _manifest_models(folder).get(key)
    if entry is None:
        return None
    manifest = folder / MANIFEST_NAME
    if not isinstance(entry, dict):
        raise WeightsError(f"The entry '{key}' of the weights manifest {manifest} is not a table.")
    for name in ("file", "sha256"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise WeightsError(f"The entry '{key}' of the weights manifest {manifest} has no '{name}' text.")
    return dict(entry)


def weights_file(key: str, entry: dict[str, Any], folder: Path | None = None) -> Path:
    """The file of manifest ``entry``, which must lie inside ``folder``.

    A manifest passed between examiners is not trusted to point anywhere else: an absolute
    path, a ``..`` step or a link leading out of the folder is refused with
    :class:`WeightsError`.
    """
    folder = folder or weights_dir()
    relative = Path(entry["file"])
    root = folder.resolve()
    path = (folder / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not path.is_relative_to(root):
        raise WeightsError(
            f"The weights manifest {folder / MANIFEST_NAME} points '{key}' to {entry['file']!r}, outside "
            f"the weights folder {root}; it was not followed.")
    return folder / relative


#: SHA-256 checks already done in this process: (path, size, mtime in ns, expected SHA-256) -> match.
_verified: dict[tuple[str, int, int, str], bool] = {}


@dataclass(frozen=True)
class WeightsProblem:
    """Why the weights of ``key`` cannot be used.

    ``untrained`` is True when there are simply none (no manifest, or no entry for the key),
    False when weights exist but are broken (corrupt manifest, file missing, outside the folder,
    changed since the manifest was written).
    """

    key: str
    message: str
    untrained: bool


def weights_problem(key: str, folder: Path | None = None) -> WeightsProblem | None:
    """What is wrong with the weights of ``key``; None when they can be used.

    Checks the manifest (readable, entry present and well formed), the file (inside the
    folder, present, a regular file) and its SHA-256. A file's hash is computed once per
    process for a given size and modification time (:data:`_verified`), so asking again is
    cheap; :func:`load_weights` still hashes the bytes it actually parses.
    """
    folder = folder or weights_dir()
    try:
        entry = manifest_entry(key, folder)
        if entry is None:
            return WeightsProblem(key, f"no weights '{key}' in {folder / MANIFEST_NAME}", untrained=True)
        path = weights_file(key, entry, folder)
    except WeightsError as exc:
        return WeightsProblem(key, str(exc).rstrip("."), untrained=False)
    try:
        status = path.stat()
        if not path.is_file():
            return WeightsProblem(key, f"the weights file of '{key}' ({path}) is not a regular file", False)
        cache_key = (str(path.resolve()), status.st_size, status.st_mtime_ns, entry["sha256"])
        if cache_key not in _verified:
            _verified[cache_key] = _sha256_of(path) == entry["sha256"]
    except OSError as exc:
        return WeightsProblem(key, f"the weights file of '{key}' is missing or unreadable ({path}: "
                                   f"{exc.strerror})", untrained=False)
    if not _verified[cache_key]:
        return WeightsProblem(key, f"the weights file {path} does not match its manifest entry '{key}' "
                                   "(SHA-256 differs): it was changed or corrupted", untrained=False)
    return None


def _sha256_of(path: Path) -> str:
    """SHA-256 of the file at ``path``, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_weights(key: str, folder: Path | None = None) -> bool:
    """True when the weights of ``key`` are usable (:func:`weights_problem` finds nothing wrong)."""
    return weights_problem(key, folder) is None


def load_weights(key: str, folder: Path | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """Load the tensors of ``key`` after checking the file's SHA-256 against the manifest.

    Returns the state dict and the file's SHA-256. Raises :class:`WeightsError` with a clear
    message when the manifest or entry is missing or malformed, the file lies outside the
    weights folder or is missing, the hash differs, or the file is not safetensors.
    """
    folder = folder or weights_dir()
    entry = manifest_entry(key, folder)
    if entry is None:
        raise WeightsError(
            f"No trained weights '{key}' in {folder / MANIFEST_NAME}: this model is not trained. "
            f"Train it with 'tamper-workbench train' or import a weights file."
        )
    path = weights_file(key, entry, folder)
    return load_verified_file(path, entry["sha256"], label=key), entry["sha256"]


def load_verified_file(path: Path, expected_sha256: str, label: str = "") -> dict[str, torch.Tensor]:
    """Read ``path`` once, compare its SHA-256 with ``expected_sha256``, then parse safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors_bytes  # imports torch: only when weights load

    name = label or path.name
    if path.exists() and not path.is_file():
        raise WeightsError(f"The weights file for '{name}' ({path}) is not a regular file; it was not read.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"The weights file for '{name}' cannot be read ({path}): {exc.strerror}.") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise WeightsError(
            f"The weights file {path} does not match its manifest: SHA-256 is {actual}, "
            f"expected {expected_sha256}. The file was changed or corrupted; it was not loaded."
        )
    try:
        return load_safetensors_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"The weights file {path} is not a valid safetensors file: {exc}") from None


def save_weights(
    key: str,
    tensors: dict[str, torch.Tensor],
    training: dict[str, Any],
    validation: dict[str, Any],
    folder: Path | None = None,
) -> dict[str, Any]:
    """Write ``tensors`` as ``<folder>/<key>.safetensors`` and record it in the manifest.

    Both the weights file and the manifest are written atomically. Returns the manifest entry.
    """
    from safetensors.torch import save as save_safetensors_bytes

    folder = folder or weights_dir()
    detector = key.split("/", 1)[0]
    relative = f"{key}.safetensors"
    contiguous = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    data = save_safetensors_bytes(contiguous, metadata={"key": key})
    write_bytes_atomic(folder / relative, data)
    entry = {
        "detector": detector,
        "file": relative,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "training": training,
        "validation": validation,
    }
    manifest = read_manifest(folder)
    manifest["format"] = MANIFEST_FORMAT
    manifest["models"][key] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json_atomic(folder / MANIFEST_NAME, manifest)
    _parsed_manifests.pop(str(folder / MANIFEST_NAME), None)
    return entry


def describe_training(keys: "tuple[str, ...] | list[str]", folder: Path | None = None) -> str:
    """How far the weights of ``keys`` were trained, from the manifest, in one line for people.

    For example ``"CPU schedule, 1500 steps (cpu), validation AUC 0.69-0.92"``.
    """
    try:
        models = _manifest_models(folder or weights_dir())
    except WeightsError as exc:
        return str(exc)
    entries = [models[k] for k in keys if isinstance(models.get(k), dict)]
    if not entries:
        return "no manifest entry"
    trainings = [_table(e, "training") for e in entries]
    validations = [_table(e, "validation") for e in entries]
    steps = sorted({int(t["steps"]) if isinstance(t.get("steps"), int) else 0 for t in trainings})
    devices = sorted({str(t.get("device", "?")).split(" ")[0] for t in trainings})
    aucs = [v["auc"] for v in validations if isinstance(v.get("auc"), (int, float))]
    step_text = f"{steps[0]}" if len(steps) == 1 else f"{steps[0]}-{steps[-1]}"
    auc_text = ""
    if aucs:
        low, high = min(aucs), max(aucs)
        auc_text = f", validation AUC {low:.2f}" if len(aucs) == 1 else f", validation AUC {low:.2f}-{high:.2f}"
    limited = " (stopped by time limit)" if any(t.get("stopped_by_time_limit") for t in trainings) else ""
    return f"{step_text} training steps on {', '.join(devices)}{auc_text}{limited}"


def _table(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """``entry[name]`` when it is a table, else an empty one (a manifest from elsewhere may lack it)."""
    value = entry.get(name)
    return value if isinstance(value, dict) else {}
