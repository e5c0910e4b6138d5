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
