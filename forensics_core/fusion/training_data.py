"""Training data of the fusion model: member detectors' maps on synthetic forgeries of the
training photographs, sampled into balanced pixel rows.

The set is fixed and seeded: :func:`write_training_forgeries` writes, from the *training*
photographs only (:func:`~forensics_core.synth.data.photo_split`), forgeries of every kind of the
forgery factory (:class:`~forensics_core.synth.datasets.ForgeryDataset`: splice, copy-move,
removal, local enhancement, then a global JPEG, resize or noise) and double-compressed JPEG
splices (:func:`~forensics_core.synth.jpeg_splices.jpeg_splices`), plus untouched crops, in the
shared benchmark layout (``images/``, ``masks/``, ``authentic/``). Each member detector runs once
per picture through a :class:`~forensics_core.result_cache.ResultStore`, so that the maps are
computed once and reused by later training runs, the calibration and the benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_json_atomic, write_png_atomic
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result
from forensics_core.errors import EvidenceError
from forensics_core.evaluation import BenchmarkItem, benchmark_items, load_mask
from forensics_core.evidence import load_evidence
from forensics_core.fusion.features import feature_stack
from forensics_core.result_cache import ResultStore

#: Seed of the fusion training set (distinct from every validation seed).
FUSION_TRAIN_SEED = 20_261_201
_RECORD = "set.json"


@dataclass(frozen=True)
class TrainingSetSpec:
    """How many pictures of each kind, and their side in pixels."""

    forged: int = 80
    jpeg_splices: int = 16
    authentic: int = 64
    size: int = 384
    seed: int = FUSION_TRAIN_SEED

    def to_json(self) -> dict[str, int]:
        return {"forged": self.forged, "jpeg_splices": self.jpeg_splices, "authentic": self.authentic,
                "size": self.size, "seed": self.seed}

    def folder_name(self) -> str:
        """The name of the set's folder, which differs for every spec."""
        return (f"seed{self.seed}-size{self.size}-forged{self.forged}-jpeg{self.jpeg_splices}"
                f"-authentic{self.authentic}")


def write_training_forgeries(out_dir: Path, spec: TrainingSetSpec = TrainingSetSpec()) -> Path:
    """Write the training set of ``spec`` to ``out_dir / spec.folder_name()`` (benchmark layout),
    once, and return that folder.

    A folder whose ``set.json`` records the same ``spec`` is left as it is. Every picture is a
    pure function of the spec and its index (a smaller set is the start of a larger one), so
    results stored for the same pictures stay valid.
    """
    from forensics_core.synth.benchmark import _to_uint8
    from forensics_core.synth.data import load_photo, object_masks, photo_split
    from forensics_core.synth.datasets import ForgeryDataset
    from forensics_core.synth.jpeg_splices import jpeg_splices

    out_dir = Path(out_dir) / spec.folder_name()
    record = out_dir / _RECORD
    if record.exists() and json.loads(record.read_text(encoding="utf-8")) == spec.to_json():
        return out_dir
    train = photo_split(include_large=False).train
    masks = object_masks()
    forged = ForgeryDataset(train, masks, size=spec.size, length=spec.forged, seed=spec.seed, pristine_fraction=0.0)
    pristine = ForgeryDataset(train, masks, size=spec.size, length=spec.authentic, seed=spec.seed + 1,
                              pristine_fraction=1.0)
    for index in range(spec.forged):
        item = forged[index]
        name = f"train_{index:03d}_{item['kind']}"
        write_png_atomic(out_dir / "images" / f"{name}.png", _to_uint8(item["image"]))
        write_png_atomic(out_dir / "masks" / f"{name}.png", _to_uint8(item["mask"][0]))
    for index in range(spec.authentic):
        write_png_atomic(out_dir / "authentic" / f"pristine_{index:03d}.png", _to_uint8(pristine[index]["image"]))
    # A JPEG splice's donor is cut at the target's size: only photographs at least that large.
    large = [path for path in train if min(load_photo(path).shape[:2]) >= spec.size]
    for sample in jpeg_splices(spec.jpeg_splices, 0, size=(spec.size, spec.size), seed=spec.seed + 2, photos=large):
        write_bytes_atomic(out_dir / "images" / f"jpeg_{sample.name}.jpg", sample.jpeg)
        write_png_atomic(out_dir / "masks" / f"jpeg_{sample.name}.png", sample.mask.astype(np.uint8) * 255)
    write_json_atomic(record, spec.to_json())
    return out_dir


def member_results(store: ResultStore, members: Sequence[str], image: Path,
                   run_options: dict | None = None) -> dict[str, Result | None]:
    """Each member's result on the picture at ``image`` with default parameters: from ``store``, or
    computed and stored; None for a member that cannot analyse this kind of picture."""
    evidence = load_evidence(image)
    results: dict[str, Result | None] = {}
    for member in members:
        try:
            results[member] = store.run(get_detector(member), evidence, None, device="cpu", **(run_options or {}))
        except EvidenceError:
            results[member] = None
    return results


def heatmaps_of(results: dict[str, Result | None], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Member heatmaps; an all-zero map (no evidence) for a member that could not analyse the picture."""
    return {member: result.heatmap if result is not None else np.zeros(shape, np.float32)
            for member, result in results.items()}


def balanced_pixels(features: np.ndarray, truth: np.ndarray, per_class: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_class`` manipulated and ``per_class`` authentic pixels of one picture, drawn
    without replacement: feature rows (n x F) and their 0/1 labels."""
    flat = features.reshape(-1, features.shape[-1])
    labels = truth.ravel()
    chosen = []
    for value in (True, False):
        where = np.flatnonzero(labels == value)
        if where.size:
            chosen.append(rng.choice(where, size=min(per_class, where.size), replace=False))
    index = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return flat[index], labels[index].astype(np.float32)


def _with_member_results(folder: Path, store: ResultStore, members: Sequence[str],
                         on_item: Callable[[int, int, str], None] | None
                         ) -> Iterator[tuple[int, BenchmarkItem, dict[str, Result | None]]]:
    """Each picture of the benchmark-layout ``folder`` with its members' results, calling
    ``on_item(index, total, name)`` before each."""
    items = benchmark_items(Path(folder))
    for index, item in enumerate(items):
        if on_item is not None:
            on_item(index, len(items), item.name)
        yield index, item, member_results(store, members, item.image)


def pixel_rows(folder: Path, store: ResultStore, members: Sequence[str], per_class: int, seed: int,
               on_item: Callable[[int, int, str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Balanced pixel rows of every picture of the benchmark-layout ``folder``: features (N x F,
    float32, in :func:`~forensics_core.fusion.features.feature_names` order) and labels (N, 0/1).

    Manipulated pixels come from forged pictures only; authentic pixels from both forged and
    authentic pictures. ``on_item(index, total, name)`` is called before each picture.
    """
    rows, labels = [], []
    for index, item, results in _with_member_results(folder, store, members, on_item):
        shape = next(r.heatmap.shape for r in results.values() if r is not None)
        truth = load_mask(item.mask, shape) if item.mask is not None else np.zeros(shape, bool)
        features = feature_stack(heatmaps_of(results, shape), members)
        picked, picked_labels = balanced_pixels(features, truth, per_class, np.random.default_rng([seed, index]))
        rows.append(picked)
        labels.append(picked_labels)
    return np.concatenate(rows), np.concatenate(labels)


def image_rows(folder: Path, store: ResultStore, members: Sequence[str],
               on_item: Callable[[int, int, str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One row per picture of the benchmark-layout ``folder``: the members' evidence
    (:func:`~forensics_core.fusion.image_score.member_evidence` of their calibrated false-alarm
    rates, N x M) and the label (N, 1 = forged)."""
    from forensics_core.calibration.apply import apply_calibration
    from forensics_core.fusion.image_score import member_evidence

    rows, labels = [], []
    for _, item, results in _with_member_results(folder, store, members, on_item):
        rates = {member: apply_calibration(result).false_alarm_rate
                 for member, result in results.items() if result is not None}
        rows.append(member_evidence(rates, members))
        labels.append(int(item.mask is not None))
    return np.vstack(rows), np.asarray(labels, dtype=np.int64)
