"""Shared test set-up: Qt runs headless, and no modal question is left waiting for an answer."""

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _answer_unsaved_work_with_discard(monkeypatch):
    """A workbench window closed at the end of a test would ask, in a modal box nobody answers,
    whether to save its unsaved work: answer Discard (a test may patch another answer)."""
    window_module = sys.modules.get("app.main_window")
    if window_module is not None:
        monkeypatch.setattr(window_module, "ask_unsaved", lambda *_args: "discard")
