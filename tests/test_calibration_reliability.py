"""Photo-wise cross-validation of stated false-alarm rates (forensics_core.calibration.reliability)."""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core.calibration.reliability import (
    cross_validated_rates,
    empirical_false_alarm_rate,
    photo_folds,
)


def test_empirical_rate_counts_ties_and_adds_one():
    reference = [0.3, 0.1, 0.2, 0.2]
    assert empirical_false_alarm_rate(reference, 0.2) == pytest.approx(4 / 5)  # 0.2, 0.2, 0.3 and the +1
    assert empirical_false_alarm_rate(reference, 0.35) == pytest.approx(1 / 5)
    assert empirical_false_alarm_rate(reference, 0.0) == pytest.approx(1.0)


def test_folds_keep_photographs_whole_and_cover_them_once():
    folds = photo_folds(["b", "a", "c", "a", "d", "e"], 2)
    assert folds == [frozenset({"a", "c", "e"}), frozenset({"b", "d"})]
    with pytest.raises(ValueError):
        photo_folds(["a", "b"], 3)


def test_every_picture_is_scored_against_a_calibration_without_its_photograph():
    photo_of = {f"{photo}-{form}": photo for photo in "abcdef" for form in ("png", "jpeg")}
    seen: list[frozenset[str]] = []

    def score_with(training):
        seen.append(training)
        return lambda image: float(ord(image[0]))

    rates = cross_validated_rates(photo_of, score_with, folds=3)
    assert set(rates) == set(photo_of)
    for training in seen:
        assert len({photo_of[image] for image in training}) == 4
    # 'a' scores lowest: every training picture scores at least as high -> rate 1
    assert rates["a-png"] == pytest.approx(1.0)
    # 'f' (fold of 'c' and 'f') scores above all 8 training pictures -> 1/9
    assert rates["f-jpeg"] == pytest.approx(1 / 9)


def test_exchangeable_scores_hold_their_nominal_rate():
    rng = np.random.default_rng(0)
    photo_of = {f"p{photo}-{form}": f"p{photo}" for photo in range(300) for form in range(2)}
    scores = {image: float(rng.normal()) for image in photo_of}
    rates = cross_validated_rates(photo_of, lambda training: scores.__getitem__, folds=3)
    observed = np.mean([rate <= 0.05 for rate in rates.values()])
    assert observed == pytest.approx(0.05, abs=0.02)
