"""The detector registry: one place that knows every detector by its fixed id.

Each detector lives in its own module of this package and registers its class with
:func:`register_detector`; :func:`get_detector` and :func:`list_detectors` import the modules named
in :data:`DETECTOR_MODULES` on first use. The list is explicit, not found by scanning the package,
because a frozen application (the PyInstaller bundle) has no package folder to scan: adding a
detector means adding its module and its name here (``tests/test_packaging.py`` fails otherwise).

Fixed ids (other tools call them; ``tests/test_detector_contract.py`` holds the list): the learned
seed methods ``resampling``, ``resampling-lstm``, ``lstm-endec``, ``j-conv-lstm-conv``,
``mantranet``, ``srm-cnn``; the pipeline baseline ``noise-baseline``; the training-free
``ela``, ``jpeg-ghost``, ``double-jpeg``, ``jpeg-grid``, ``splicebuster``, ``cfa``,
``noise-level``, ``copy-move``; and ``fusion``. How to add one (module, declarations, weights,
tests): ``docs/adding-a-detector.md``.
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from forensics_core.detectors.base import (
    Analysis,
    Detector,
    Parameter,
    ProgressReporter,
    Result,
)
from forensics_core.errors import ForensicsError

__all__ = [
    "Analysis",
    "Detector",
    "Parameter",
    "ProgressReporter",
    "Result",
    "DEFAULT_DETECTOR",
    "get_detector",
    "list_detectors",
    "register_detector",
]

#: Every module of this package that registers detectors, imported in this order.
DETECTOR_MODULES: tuple[str, ...] = (
    "j_conv_lstm_conv",
    "lstm_endec",
    "mantranet",
    "noise_baseline",
    "resampling",
    "srm_cnn",
    "ela",
    "jpeg_ghost",
    "double_jpeg",
    "jpeg_grid",
    "splicebuster",
    "cfa",
    "noise_level",
    "copy_move",
    "fusion",
)

#: The detector the workbench selects when nothing else is asked for.
DEFAULT_DETECTOR = "resampling"

_REGISTRY: dict[str, type[Detector]] = {}
_loaded = False

D = TypeVar("D", bound=type[Detector])


def register_detector(cls: D) -> D:
    """Class decorator: add ``cls`` to the registry under ``cls.id``."""
    if not cls.id:
        raise ValueError(f"{cls.__name__} has no id")
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise ValueError(f"detector id {cls.id!r} is registered twice")
    _REGISTRY[cls.id] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        for module in DETECTOR_MODULES:
            importlib.import_module(f"{__name__}.{module}")
        _loaded = True


def list_detectors() -> list[Detector]:
    """An instance of every registered detector, in registration order."""
    _load_builtins()
    return [cls() for cls in _REGISTRY.values()]


def get_detector(detector_id: str) -> Detector:
    """The detector registered under ``detector_id``; a clear error names the known ids."""
    _load_builtins()
    try:
        return _REGISTRY[detector_id]()
    except KeyError:
        raise ForensicsError(
            f"Unknown detector '{detector_id}'. Known detectors: {', '.join(_REGISTRY)}."
        ) from None
