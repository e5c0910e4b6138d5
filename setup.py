"""Build step that ships the repository's data folders inside the package.

Everything else is declared in ``pyproject.toml``. The folders named in
``forensics_core.shipped.SHIPPED_FOLDERS`` (``weights/`` with its manifest and any calibration
files, ``resources/`` with the sample image and desktop assets) live at the top of the repository,
where the checkout uses them directly; a wheel carries a copy of them as package data under
``forensics_core/_shipped/``, where :func:`forensics_core.shipped.shipped_folder` finds them
through importlib.resources. The copy exists only in the build folder, never in the repository.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _shipped_module():
    """``forensics_core/shipped.py`` loaded on its own (the package imports torch and numpy)."""
    spec = importlib.util.spec_from_file_location("_tamper_shipped", ROOT / "forensics_core" / "shipped.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithShippedData(build_py):
    """``build_py`` that also copies the shipped folders into ``forensics_core/_shipped/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders directly
        shipped = _shipped_module()
        target = Path(self.build_lib) / "forensics_core" / shipped.INSTALLED_SUBFOLDER
        for name in shipped.SHIPPED_FOLDERS:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: the shipped folder {source} is missing")
            shutil.copytree(source, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithShippedData})
