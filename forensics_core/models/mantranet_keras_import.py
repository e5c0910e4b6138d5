"""Import the authors' Keras weights of ManTra-Net (``ManTraNet_Ptrain4.h5``) into our model.

Reference: Wu, AbdAlmageed & Natarajan, CVPR 2019; the file is the authors' released
``ManTraNet_Ptrain4.h5`` (https://github.com/ISICV/ManTraNet). Keras stores one HDF5 group per layer
(under ``model_weights`` when the whole model was saved), each holding datasets named
``<layer>/<weight>:0``; the feature extractor is a nested model ``Featex`` whose group holds its
own layers ``b1c1`` ... ``transform``. Every dataset is therefore identified here by the group
that holds it (the layer) and its name without ``:0`` (the weight), wherever it sits.

Mapping (Keras -> :class:`~forensics_core.models.mantranet.ManTraNet`):

* convolution kernels HWIO -> OIHW; ``b1c1`` has ``regular_kernel`` (4 plain filters) and
  ``bayar_kernel`` (3 filters, already projected by the Keras constraint, copied as they are);
  its 9 SRM filters are fixed and not in the file;
* ``bnorm`` moving mean and variance -> running statistics; a file whose model configuration
  gives an epsilon other than our 1e-3 has the difference folded into the variance, which is
  exact at inference (var + eps is all that is used);
* ``glbStd`` (1, 1, 1, 64) -> ``ladn.zpool.min_std``;
* ``cLSTM`` ``kernel``/``bias`` -> ``ladn.clstm.input_conv``, ``recurrent_kernel`` ->
  ``ladn.clstm.recurrent_conv``; Keras and we both order the 4 x 8 gate channels i, f, c, o.

The tensors are written as safetensors with a manifest entry into the user's weights folder
(:func:`forensics_core.weights.user_weights_dir`), atomically. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forensics_core.errors import WeightsError
from forensics_core.models.mantranet import FEATEX_LAYERS, ManTraNet
from forensics_core.models.sizes import MANTRANET_AUTHORS_KEY
from forensics_core.weights import save_weights, user_weights_dir

#: Manifest key of the imported weights in the user's weights folder.
AUTHORS_KEY = MANTRANET_AUTHORS_KEY
#: ``git hash-object ManTraNet_Ptrain4.h5`` of the authors' release (seed notes).
AUTHORS_BLOB_ID = "1f46864d32778df35208c6e1ae1af511aaf33a66"
#: Keras's default batch-norm epsilon, which the released model uses.
KERAS_BN_EPSILON = 1e-3
LICENCE_NOTE = "authors' release: academic / non-commercial use only"


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote and what the user should know."""

    path: Path
    key: str
    entry: dict[str, Any]
    blob_id: str
    warnings: tuple[str, ...]


def git_blob_id(path: Path) -> str:
    """The file's git blob id (SHA-1 of ``b"blob <size>\\0"`` + content), as ``git hash-object``."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_keras_weights(path: Path) -> tuple[dict[tuple[str, str], np.ndarray], float | None]:
    """Every weight of a Keras HDF5 file as ``{(layer, weight): array}``, and the batch-norm
    epsilon of layer ``bnorm`` when the file carries the model configuration."""
    import h5py

    weights: dict[tuple[str, str], np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle

            def collect(name: str, item: Any) -> None:
                if isinstance(item, h5py.Dataset):
                    parts = name.split("/")
                    if len(parts) < 2:
                        return
                    key = (parts[-2], parts[-1].split(":")[0])
                    if key in weights:
                        raise WeightsError(f"{path} holds the weight {key[0]}/{key[1]} twice.")
                    weights[key] = np.asarray(item[()], dtype=np.float32)

            root.visititems(collect)
            epsilon = _bnorm_epsilon(handle.attrs.get("model_config"))
    except OSError as exc:
        raise WeightsError(f"{path} is not a readable HDF5 file: {exc}") from None
    return weights, epsilon


def _bnorm_epsilon(config: Any) -> float | None:
    """Epsilon of the layer named ``bnorm`` in a Keras model-configuration JSON, if any."""
    if config is None:
        return None
    if isinstance(config, bytes):
        config = config.decode("utf-8")
    found: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("name") == "bnorm" and isinstance(node.get("config"), dict):
                found.append(float(node["config"].get("epsilon", KERAS_BN_EPSILON)))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(config))
    return found[0] if found else None


def _oihw(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def keras_to_state_dict(weights: dict[tuple[str, str], np.ndarray],
                        epsilon: float | None = None) -> dict[str, torch.Tensor]:
    """Map Keras weights (as :func:`read_keras_weights` gives them) to our state dict."""

    def take(layer: str, name: str) -> np.ndarray:
        try:
            return weights[(layer, name)]
        except KeyError:
            raise WeightsError(f"The weights file has no '{layer}/{name}': not a ManTra-Net Ptrain4 file.") from None

    state: dict[str, torch.Tensor] = {
        "featex.b1c1.regular_kernel": _oihw(take("b1c1", "regular_kernel")),
        "featex.b1c1.bayar_kernel": _oihw(take("b1c1", "bayar_kernel")),
    }
    for name in [layer for layer, _ in FEATEX_LAYERS] + ["transform"]:
        state[f"featex.{name}.weight"] = _oihw(take(name, "kernel"))
        state[f"featex.{name}.bias"] = torch.from_numpy(take(name, "bias").copy())
    state["ladn.outlier_trans.weight"] = _oihw(take("outlierTrans", "kernel"))
    variance = take("bnorm", "moving_variance") + np.float32((epsilon or KERAS_BN_EPSILON) - KERAS_BN_EPSILON)
    state["ladn.bnorm.running_mean"] = torch.from_numpy(take("bnorm", "moving_mean").copy())
    state["ladn.bnorm.running_var"] = torch.from_numpy(np.ascontiguousarray(variance))
    state["ladn.bnorm.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    std_weights = [array for (layer, _), array in weights.items() if layer == "glbStd"]
    if len(std_weights) != 1:
        raise WeightsError("The weights file must hold exactly one 'glbStd' weight (the learnable std floor).")
    state["ladn.zpool.min_std"] = torch.from_numpy(std_weights[0].reshape(-1).copy())
    state["ladn.clstm.input_conv.weight"] = _oihw(take("cLSTM", "kernel"))
    state["ladn.clstm.input_conv.bias"] = torch.from_numpy(take("cLSTM", "bias").copy())
    state["ladn.clstm.recurrent_conv.weight"] = _oihw(take("cLSTM", "recurrent_kernel"))
    state["ladn.pred.weight"] = _oihw(take("pred", "kernel"))
    state["ladn.pred.bias"] = torch.from_numpy(take("pred", "bias").copy())
    expected = ManTraNet().state_dict()
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise WeightsError(f"{key}: the file's shape {tuple(tensor.shape)} is not ManTra-Net's "
                               f"{tuple(expected[key].shape)}.")
    return state


def import_mantranet(path: Path, folder: Path | None = None,
                     expected_blob_id: str | None = AUTHORS_BLOB_ID) -> ImportReport:
    """Convert the authors' Keras file at ``path`` and record it under :data:`AUTHORS_KEY`.

    ``folder`` defaults to the user's weights folder. A file whose git blob id differs from
    ``expected_blob_id`` is still imported, with a warning in the report.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"No such file: {path}")
    blob_id = git_blob_id(path)
    warnings: list[str] = []
    if expected_blob_id and blob_id != expected_blob_id:
        warnings.append(f"{path.name} has git blob id {blob_id}, not the released ManTraNet_Ptrain4.h5's "
                        f"{expected_blob_id}: it is a different file; imported anyway.")
    weights, epsilon = read_keras_weights(path)
    if epsilon is not None and epsilon != KERAS_BN_EPSILON:
        warnings.append(f"batch-norm epsilon {epsilon} folded into the moving variance (ours is {KERAS_BN_EPSILON}).")
    state = keras_to_state_dict(weights, epsilon)
    training = {
        "source": "imported",
        "file": path.name,
        "git_blob_id": blob_id,
        "released_blob_id": AUTHORS_BLOB_ID,
        "bnorm_epsilon": epsilon if epsilon is not None else KERAS_BN_EPSILON,
        "licence": LICENCE_NOTE,
        "reference": "Wu, AbdAlmageed & Natarajan, ManTra-Net, CVPR 2019 (authors' Ptrain4 weights)",
    }
    target = folder if folder is not None else user_weights_dir()
    entry = save_weights(AUTHORS_KEY, state, training, {}, folder=target)
    return ImportReport(path=path, key=AUTHORS_KEY, entry=entry, blob_id=blob_id, warnings=tuple(warnings))
