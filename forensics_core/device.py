"""Choice of the compute device: CUDA when present, else the CPU, overridable."""

from __future__ import annotations

import torch

from forensics_core.errors import ForensicsError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto`` / ``cpu`` / ``cuda`` (or ``cuda:N``) to a usable :class:`torch.device`.

    ``auto`` picks CUDA when ``torch.cuda.is_available()``, else the CPU. Asking for CUDA on a
    machine without it is an error, not a silent fallback.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ForensicsError("CUDA was requested but no CUDA device is available; use --device cpu.")
        return torch.device(name)
    raise ForensicsError(f"Unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)}.")
