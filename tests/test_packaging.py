"""Packaging: detector and recipe discovery by explicit lists (works frozen), shipped data found."""

from __future__ import annotations

import pkgutil
from types import ModuleType

import pytest

import forensics_core.detectors as detectors_package
import forensics_core.training.recipes as recipes_package
from forensics_core.detectors import DETECTOR_MODULES, list_detectors
from forensics_core.training import list_recipes
from forensics_core.training.recipes import RECIPE_MODULES


def _modules_on_disk(package: ModuleType, exclude: set[str]) -> set[str]:
    """Public modules of ``package`` found by scanning its folder (works only unfrozen)."""
    return {m.name for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_") and m.name not in exclude}


@pytest.mark.parametrize(
    ("package", "listed", "list_name", "exclude"),
    [
        (detectors_package, DETECTOR_MODULES, "DETECTOR_MODULES in forensics_core/detectors/__init__.py", {"base"}),
        (recipes_package, RECIPE_MODULES, "RECIPE_MODULES in forensics_core/training/recipes/__init__.py", set()),
    ],
    ids=["detectors", "recipes"],
)
def test_explicit_module_list_matches_the_package(package, listed, list_name, exclude):
    on_disk = _modules_on_disk(package, exclude)
    assert len(set(listed)) == len(listed), f"{list_name} names a module twice"
    unlisted = sorted(on_disk - set(listed))
    assert not unlisted, (
        f"module(s) {unlisted} exist in {package.__name__} but are not listed in {list_name}: "
        f"the frozen bundle would not find them. Add them to the list (or start the name with '_' "
        f"if the module registers nothing)."
    )
    missing = sorted(set(listed) - on_disk)
    assert not missing, f"{list_name} names module(s) {missing} that do not exist in {package.__name__}"


def test_every_listed_detector_module_registers_a_detector():
    modules = {type(d).__module__.rsplit(".", 1)[-1] for d in list_detectors()}
    silent = sorted(set(DETECTOR_MODULES) - modules)
    assert not silent, f"listed module(s) {silent} register no detector"


def test_every_listed_recipe_module_registers_a_recipe():
    from forensics_core.training import get_recipe

    modules = {type(get_recipe(rid)).__module__.rsplit(".", 1)[-1] for rid in list_recipes()}
    silent = sorted(set(RECIPE_MODULES) - modules)
    assert not silent, f"listed module(s) {silent} register no recipe"


def test_shipped_folders_resolve_to_the_checkout_in_a_source_tree():
    from pathlib import Path

    from forensics_core.shipped import SHIPPED_FOLDERS, sample_image, shipped_folder
    from forensics_core.weights import weights_dir

    root = Path(__file__).resolve().parents[1]
    assert all(shipped_folder(name) == root / name for name in SHIPPED_FOLDERS)
    assert sample_image().is_file() and sample_image().is_relative_to(root / "resources")
    assert (weights_dir() / "manifest.json").is_file()
    with pytest.raises(ValueError, match="not a shipped folder"):
        shipped_folder("tests")


@pytest.mark.gui
def test_gui_self_test_opens_the_sample_and_quits(qapp, capsys):
    from forensics_core.cli import main

    assert main(["gui", "--self-test"]) == 0
    assert "self-test ok" in capsys.readouterr().out


@pytest.mark.gui
def test_gui_self_test_reports_an_unreadable_image(qapp, tmp_path, capsys):
    from forensics_core.cli import main

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert main(["gui", "--self-test", str(broken)]) == 2
    assert "self-test:" in capsys.readouterr().err
