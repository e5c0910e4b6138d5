"""Call a function after every layer of a network: progress and cancel checks inside one forward pass.

One forward pass of a large network on the CPU can take longer than the second a detector may go
without checking cancel (:class:`forensics_core.detectors.base.ProgressReporter`). PyTorch's
forward hooks run before and after each module's ``forward``; a hook that only calls ``tick``
leaves every output unchanged, and an exception raised by ``tick`` (a cancel) ends the pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch


@contextmanager
def tick_after_every_layer(model: "torch.nn.Module", tick: Callable[[], object] | None) -> Iterator[None]:
    """Within the block, ``tick()`` runs before and after the forward of every submodule of ``model``."""
    if tick is None:
        yield
        return
    modules = [module for module in model.modules() if module is not model]
    handles = [module.register_forward_pre_hook(lambda _module, _inputs: tick()) for module in modules]
    handles += [module.register_forward_hook(lambda _module, _inputs, _output: tick()) for module in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
