"""The validation figures stored with each exported weights key (training harness)."""

from __future__ import annotations

from types import SimpleNamespace

from forensics_core.training.harness import validation_record

FINAL = {"loss": 0.4, "auc": 0.8, "groups": {"a": {"auc": 0.7}, "b": {"auc": 0.9}}}


def _recipe(groups):
    return SimpleNamespace(level="patch", groups_for_key=lambda key: groups)


def test_a_key_without_groups_gets_the_overall_figures():
    assert validation_record(_recipe(None), "x/model", FINAL) == {"level": "patch", "loss": 0.4, "auc": 0.8}


def test_a_key_of_one_group_gets_that_groups_figures_at_the_top_level():
    assert validation_record(_recipe(["b"]), "x/b", FINAL) == {"level": "patch", "auc": 0.9}


def test_a_key_of_several_groups_gets_one_entry_per_measured_group():
    assert validation_record(_recipe(["a", "b", "c"]), "x/all", FINAL) == {
        "level": "patch", "a": {"auc": 0.7}, "b": {"auc": 0.9}}


def test_a_single_group_that_was_not_measured_gives_only_the_level():
    assert validation_record(_recipe(["c"]), "x/c", FINAL) == {"level": "patch"}
