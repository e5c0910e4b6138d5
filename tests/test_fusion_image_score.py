"""The fusion image score: members' evidence, the weighted regression and out-of-sample rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensics_core.fusion.image_score import (
    L2_GRID,
    choose_l2,
    fit_logistic,
    leave_photograph_out_rates,
    logit,
    member_evidence,
)


def test_member_evidence_is_minus_log10_of_the_rate_and_nan_when_missing():
    evidence = member_evidence({"a": 0.01, "b": None, "c": 1.0}, ["a", "b", "c", "d"])
    assert evidence[0] == pytest.approx(2.0) and evidence[2] == pytest.approx(0.0)
    assert math.isnan(evidence[1]) and math.isnan(evidence[3])


def _data(seed=0, n=120, second=0.0):
    """Evidence of three members: a strong one, one of strength ``second`` (negative: it fires on
    authentic pictures) and a weak one."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(int)
    evidence = np.column_stack([rng.normal(0.8 * labels, 0.5), rng.normal(second * labels, 1.0),
                                rng.normal(0.3 * labels, 1.0)])
    return evidence, labels


@pytest.mark.parametrize("l2", [1.0, 30.0])
def test_fit_matches_scikit_learns_balanced_regularised_regression(l2):
    from sklearn.linear_model import LogisticRegression

    evidence, labels = _data(second=0.5)
    model = fit_logistic(evidence, labels, l2)
    assert np.all(model["weight"] > 0)
    centred = evidence - evidence.mean(axis=0)
    reference = LogisticRegression(C=1.0 / l2, class_weight="balanced", tol=1e-10, max_iter=10_000).fit(
        centred, labels)
    np.testing.assert_allclose(model["weight"], reference.coef_[0], atol=1e-5)
    np.testing.assert_allclose(model["bias"], reference.intercept_, atol=1e-5)
    np.testing.assert_allclose(logit(model, evidence), reference.decision_function(centred), atol=1e-4)


def test_a_member_that_fires_on_authentic_pictures_gets_no_weight():
    evidence, labels = _data(second=-1.0)
    model = fit_logistic(evidence, labels, 1.0)
    assert model["weight"][1] == 0.0 and model["weight"][0] > 0
    without = fit_logistic(evidence[:, [0, 2]], labels, 1.0)
    np.testing.assert_allclose(model["weight"][[0, 2]], without["weight"], atol=1e-8)
    np.testing.assert_allclose(model["bias"], without["bias"], atol=1e-8)
    assert model["mean"][1] == pytest.approx(evidence[:, 1].mean())


def test_missing_evidence_counts_as_the_training_mean():
    evidence, labels = _data()
    model = fit_logistic(evidence, labels, 10.0)
    row = np.array([np.nan, np.nan, np.nan])
    assert logit(model, row) == pytest.approx(float(model["bias"][0]))
    partial = evidence[0].copy()
    partial[1] = np.nan
    filled = evidence[0].copy()
    filled[1] = model["mean"][1]
    assert logit(model, partial) == pytest.approx(logit(model, filled))


def test_cross_validation_keeps_the_informative_member_and_reports_every_strength():
    evidence, labels = _data(seed=1, n=200)
    l2, scores = choose_l2(evidence, labels)
    assert l2 in L2_GRID and set(scores) == set(L2_GRID)
    assert scores[l2] == max(scores.values()) > 0.7
    model = fit_logistic(evidence, labels, l2)
    assert model["weight"][0] > abs(model["weight"][1])


def test_leave_photograph_out_rates_known_answer():
    # member "a": photograph p scores 0.9 (two forms), q 0.5, r 0.1 and 0.2
    member_scores = [{"a": 0.9}, {"a": 0.9}, {"a": 0.5}, {"a": 0.1}, {"a": 0.2, "b": 0.3}]
    rates = leave_photograph_out_rates(member_scores, ["p", "p", "q", "r", "r"])
    # p: none of the other 3 reaches 0.9 -> (0 * 5/3 + 1) / 6, the rate of a new picture above all five
    assert rates[0]["a"] == pytest.approx(1 / 6) and rates[1]["a"] == rates[0]["a"]
    # q: 2 of the other 4 reach 0.5 -> 2 * 5/4 = 2.5 -> 3.5 / 6
    assert rates[2]["a"] == pytest.approx(3.5 / 6)
    # r (0.2): all 3 others reach it -> rate 1; "b" has no score outside photograph r: no rate
    assert rates[4] == {"a": pytest.approx(1.0)}
