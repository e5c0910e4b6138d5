"""Learning-rate schedules of the training harness: known answers of the cosine curve (SGDR, Eq. 5)."""

from __future__ import annotations

import math

import pytest

from forensics_core.errors import ForensicsError
from forensics_core.training import TrainConfig
from forensics_core.training.schedule import learning_rate_factor


def test_constant_schedule_keeps_the_rate():
    config = TrainConfig(steps=100)
    assert [learning_rate_factor(config, step) for step in (0, 50, 99, 500)] == [1.0] * 4


def test_cosine_schedule_known_answers():
    config = TrainConfig(steps=101, lr_schedule="cosine", lr_final_fraction=0.1)
    assert learning_rate_factor(config, 0) == pytest.approx(1.0)
    assert learning_rate_factor(config, 50) == pytest.approx(0.55)  # halfway: (1 + 0.1) / 2
    assert learning_rate_factor(config, 25) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert learning_rate_factor(config, 100) == pytest.approx(0.1)
    assert learning_rate_factor(config, 1000) == pytest.approx(0.1)  # past the plan: the final rate
    factors = [learning_rate_factor(config, step) for step in range(101)]
    assert all(later <= earlier for earlier, later in zip(factors, factors[1:]))


@pytest.mark.parametrize("changes", [{"lr_schedule": "linear"}, {"lr_schedule": "cosine", "lr_final_fraction": -0.1},
                                     {"lr_schedule": "cosine", "lr_final_fraction": float("nan")}])
def test_bad_schedules_are_refused(changes):
    with pytest.raises(ForensicsError):
        learning_rate_factor(TrainConfig(steps=10, **changes), 0)
