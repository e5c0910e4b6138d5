"""Choice of the compute device: CUDA when present, else the CPU, overridable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from forensics_core.errors import ForensicsError

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto`` / ``cpu`` / ``cuda`` (or ``cuda:N``) to a usable :class:`torch.device`.

    ``auto`` picks CUDA when ``torch.cuda.is_available()``, else the CPU. Asking for CUDA on a
    machine without it is an error, not a silent fallback.
    """
    import torch  # not at module level: the command line starts without it

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


def available_devices() -> tuple[str, ...]:
    """The device names that work on this machine: ``auto`` and ``cpu``, and ``cuda`` when PyTorch sees a GPU."""
    import torch

    return ("auto", "cpu", "cuda") if torch.cuda.is_available() else ("auto", "cpu")


@contextlib.contextmanager
def single_threaded_cpu(device: torch.device) -> Iterator[None]:
    """Run torch's CPU operations on one thread inside the block, then restore the thread count.

    For pipelines of many small operations on a few megabytes each (the resampling features and
    their small classifiers, the SRM-CNN sliding window), torch's intra-op thread pool costs more
    in synchronisation than it gains: measured on a 2-core machine whose other core was busy, the
    whole 1024x768 resampling analysis took 2 s on one thread and 10 s on two. Other devices are
    unaffected.
    """
    if device.type != "cpu":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
