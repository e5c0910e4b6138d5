"""A short run of the loader fuzz campaign (``benchmarks/fuzz_loader.py``) in CI: every mutated or
generated hostile file is loaded or refused with a message; no other exception, hang, crash,
memory blow-up or silent change of size (issue 22)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_loader.py"


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_loader", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_few_hundred_fuzz_inputs_are_all_handled() -> None:
    fuzz = _fuzz_module()
    counts, by_kind, failures = fuzz.run_campaign(inputs=300, workers=2, campaign_seed=22, time_limit=30.0)
    assert sum(counts.values()) == 300
    assert counts["clean error"] > 100 and counts["loaded"] > 20  # the mutations reach both outcomes
    assert all(by_kind[kind].total() > 0 for kind in fuzz.MUTATIONS)
    assert not any(counts[outcome] for outcome in fuzz.FAILURES), "\n".join(failures[:20])
