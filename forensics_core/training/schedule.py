"""Learning-rate schedules of the training harness: the factor applied to each group's base rate.

``constant`` keeps the configured rate. ``cosine`` anneals it along half a cosine from the base
rate at step 0 to ``lr_final_fraction`` times the base rate at the last planned step (Loshchilov &
Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017, Eq. 5, one cycle, no
restart). The factor depends on the step number only, so a resumed run continues on the same
curve without any scheduler state in the checkpoint.
"""

from __future__ import annotations

import math

from forensics_core.errors import ForensicsError
from forensics_core.training.config import TrainConfig

#: Schedules :func:`learning_rate_factor` knows.
LR_SCHEDULES = ("constant", "cosine")


def check_schedule(config: TrainConfig) -> None:
    """Refuse an unknown schedule or a final fraction outside [0, 1] (NaN included)."""
    if config.lr_schedule not in LR_SCHEDULES:
        raise ForensicsError(f"Unknown lr_schedule {config.lr_schedule!r}; known: {', '.join(LR_SCHEDULES)}.")
    if not 0.0 <= config.lr_final_fraction <= 1.0:
        raise ForensicsError(f"lr_final_fraction must lie in [0, 1], got {config.lr_final_fraction}.")


def learning_rate_factor(config: TrainConfig, step: int) -> float:
    """Multiplier of the base learning rate for the update that follows ``step`` finished steps.

    Parameters
    ----------
    config : TrainConfig
        ``lr_schedule``, ``lr_final_fraction`` and ``steps`` (the planned length) are read.
    step : int
        Steps already done (0 for the first update); steps past the plan keep the final factor.
    """
    check_schedule(config)
    if config.lr_schedule == "constant":
        return 1.0
    progress = min(max(step, 0) / max(config.steps - 1, 1), 1.0)
    final = config.lr_final_fraction
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
