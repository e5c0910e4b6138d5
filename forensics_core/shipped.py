"""Where the files shipped with the program are: weights, calibration files, the sample image.

In a source checkout they are the top-level folders of the repository (``weights/``,
``resources/``). An installed wheel or the desktop bundle carries the same folders as package data
under ``forensics_core/_shipped/`` (the wheel's build step and the PyInstaller spec copy every
folder named in :data:`SHIPPED_FOLDERS`), found through :mod:`importlib.resources`, so the program
works from any working directory. The installed copy wins; the checkout is the fallback.

This module imports only the standard library: ``setup.py`` and the PyInstaller spec read
:data:`SHIPPED_FOLDERS` from it without importing the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: Top-level repository folders shipped as package data. ``weights/`` also carries calibration
#: files (any file under it is shipped, with the manifest); add a folder here to ship another.
SHIPPED_FOLDERS: tuple[str, ...] = ("weights", "resources")

#: The package-data folder of ``forensics_core`` that holds the shipped folders when installed.
INSTALLED_SUBFOLDER = "_shipped"

#: The bundled sample, relative to ``resources/``.
SAMPLE_RELATIVE = "samples/sample_resampled.png"


def shipped_folder(name: str) -> Path:
    """The shipped folder ``name`` (one of :data:`SHIPPED_FOLDERS`): installed copy, else checkout."""
    if name not in SHIPPED_FOLDERS:
        raise ValueError(f"{name!r} is not a shipped folder; shipped: {', '.join(SHIPPED_FOLDERS)}")
    installed = files("forensics_core") / INSTALLED_SUBFOLDER / name
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / name


def sample_image() -> Path:
    """The bundled sample image (a resampled patch in scikit-image's CC0 ``coffee.png``)."""
    return shipped_folder("resources") / SAMPLE_RELATIVE
