"""A short run of the loader fuzz campaign (``benchmarks/fuzz_loader.py``) in CI: every mutated or
generated hostile file is loaded or refused with a message; no other exception, hang, crash,
memory blow-up or silent change of size (issue 22)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_loader.py"


def _fuzz_module():
    if str(_SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(_SCRIPT.parent))  # the spawned workers import it by name too
    return importlib.import_module("fuzz_loader")


@pytest.mark.slow
def test_a_few_hundred_fuzz_inputs_are_all_handled() -> None:
    fuzz = _fuzz_module()
    counts, by_kind, failures = fuzz.run_campaign(inputs=300, workers=2, campaign_seed=22, time_limit=30.0)
    assert sum(counts.values()) == 300
    assert counts["clean error"] > 100 and counts["loaded"] > 20  # the mutations reach both outcomes
    assert all(by_kind[kind].total() > 0 for kind in fuzz.MUTATIONS)
    assert not any(counts[outcome] for outcome in fuzz.FAILURES), "\n".join(failures[:20])
