"""Training configuration: one dataclass, profiles per recipe, overridable from a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from forensics_core.errors import ForensicsError


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run besides the recipe and the device.

    ``extra`` carries recipe-specific settings (for example a backbone learning rate).
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    #: ``constant`` or ``cosine`` (:mod:`forensics_core.training.schedule`).
    lr_schedule: str = "constant"
    #: Where a decaying schedule ends, as a fraction of ``lr``.
    lr_final_fraction: float = 0.01
    weight_decay: float = 0.0
    val_every: int = 250
    val_samples: int = 256
    val_batch_size: int = 32
    checkpoint_every: int = 250
    num_workers: int = 2
    seed: int = 0
    amp: bool = True
    include_large_photos: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return asdict(self)

    def updated(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_config(path: Path, base: TrainConfig) -> TrainConfig:
    """``base`` overlaid with the keys of the JSON file at ``path``; unknown keys are refused."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForensicsError(f"Cannot read training config {path}: {exc}") from None
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ForensicsError(f"Unknown keys in {path}: {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    if "extra" in values:
        values["extra"] = {**base.extra, **values["extra"]}
    return replace(base, **values)
