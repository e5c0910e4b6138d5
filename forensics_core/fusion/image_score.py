"""The fusion image score: a weighted combination of the members' calibrated evidence.

Each member's evidence about a picture is ``-log10`` of its calibrated false-alarm rate (0: as
high as any authentic reference picture scores; 1.9: above all 84 of them). Fisher's method sums
such terms over independent tests (R. A. Fisher, *Statistical Methods for Research Workers*, 4th
ed., 1932, Sec. 21.1); Good's weighted combination gives each test its own weight (I. J. Good,
"On the weighted combination of significance tests", J. Royal Statistical Society B 17(2), 1955).
Here the weights are learned, and kept non-negative as Good's are, so that no member's evidence
of manipulation lowers the score: an L2-regularised, class-balanced logistic regression over the
members' evidence of the fusion training pictures (synthetic forgeries and untouched crops of the
training photographs), its regularisation chosen by cross-validation on those pictures alone
(:func:`choose_l2`). The score is the regression's logit; like every detector's score it is then
calibrated on authentic reference pictures (``tamper-workbench calibrate fusion``), so what the
examiner reads is a false-alarm rate, not the logit.

Why not Tippett's minimum of the rates: a rate cannot go below ``1 / (N + 1)`` with ``N``
reference pictures, and with twelve members about one authentic picture in five has some member
at that floor, so the minimum ties for most suspicious pictures and no statement below about 20 %
can be made (``benchmarks/results/calibration.md``). A weighted sum keeps the evidence of every
member and ties far less often.

Member rates of the reference pictures themselves are read leaving their photograph out
(:func:`leave_photograph_out_rates`), as a new picture's are read from a calibration that never
saw it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

#: Regularisation strengths tried by :func:`choose_l2` (penalty on the weights).
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
#: Cross-validation folds of :func:`choose_l2`.
CV_FOLDS = 4


def member_evidence(rates: Mapping[str, float | None], members: Sequence[str]) -> np.ndarray:
    """``-log10`` of each member's false-alarm rate in ``members`` order; NaN where a member has none
    (left out, not calibrated, or unable to analyse the picture)."""
    return np.array([-math.log10(rates[m]) if rates.get(m) is not None else np.nan for m in members],
                    dtype=np.float64)


def _balanced_weights(labels: np.ndarray) -> np.ndarray:
    weights = np.empty(labels.size, dtype=np.float64)
    for value in (0, 1):
        count = int(np.sum(labels == value))
        weights[labels == value] = labels.size / (2.0 * count) if count else 0.0
    return weights


def _newton_logistic(x: np.ndarray, labels: np.ndarray, sample: np.ndarray, l2: float) -> np.ndarray:
    """Weights and bias (last) minimising ``sum(sample * log-loss) + l2 / 2 * |w|^2`` (bias not
    penalised) by Newton's method, which converges in a few steps on this convex problem."""
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    penalty = np.full(design.shape[1], float(l2))
    penalty[-1] = 0.0
    theta = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (sample * (p - labels)) + penalty * theta
        curvature = (design * (sample * p * (1.0 - p))[:, None]).T @ design
        step = np.linalg.solve(curvature + np.diag(penalty) + 1e-9 * np.eye(theta.size), gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta


def fit_logistic(evidence: np.ndarray, labels: np.ndarray, l2: float) -> dict[str, np.ndarray]:
    """Class-balanced logistic regression of ``labels`` (N, 0/1) on ``evidence`` (N x M), with
    non-negative weights.

    The features are centred on their training mean (a missing value is set to the mean) but not
    rescaled: every member's evidence is in the same unit, decades of false-alarm rate, so the
    penalty treats a decade from any member alike (rescaling would magnify members that seldom
    give any). Minimises the balanced log-loss summed over pictures plus ``l2 / 2 * |w|^2`` (the
    bias is not penalised). The weights are kept non-negative, as in Good's combination, so that
    a member's evidence of manipulation never lowers the score: the member with the most negative
    weight is left out (weight 0) and the rest fitted again, until no weight is negative.
    Returns ``mean`` (M), ``weight`` (M) and ``bias`` (1).
    """
    evidence = np.asarray(evidence, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    present = ~np.all(np.isnan(evidence), axis=0)
    mean = np.where(present, np.nanmean(np.where(present, evidence, 0.0), axis=0), 0.0)
    x = np.nan_to_num(evidence - mean, nan=0.0)
    sample = _balanced_weights(labels.astype(int))
    active = np.ones(evidence.shape[1], dtype=bool)
    while True:
        theta = _newton_logistic(x[:, active], labels, sample, l2)
        weight = np.zeros(evidence.shape[1])
        weight[active] = theta[:-1]
        if not np.any(weight < 0):
            return {"mean": mean, "weight": weight, "bias": theta[-1:]}
        active[int(np.argmin(weight))] = False


def logit(model: Mapping[str, np.ndarray], evidence: np.ndarray) -> np.ndarray:
    """The regression's logit for evidence rows (N x M or M); a missing value counts as the mean."""
    x = np.nan_to_num(np.asarray(evidence, dtype=np.float64) - model["mean"], nan=0.0)
    return x @ model["weight"] + float(model["bias"][0])


def image_score(model: Mapping[str, np.ndarray], rates: Mapping[str, float | None], members: Sequence[str]) -> float:
    """The score of one picture: the logit of ``model`` for its members' false-alarm ``rates``
    (member id -> rate; None or absent when a member has none), ``members`` in the model's order."""
    return float(logit(model, member_evidence(rates, members)))


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from forensics_core import metrics

    return float(metrics.image_auc(list(map(float, scores)), list(map(int, labels))))


def choose_l2(evidence: np.ndarray, labels: np.ndarray, grid: Sequence[float] = L2_GRID,
              folds: int = CV_FOLDS) -> tuple[float, dict[float, float]]:
    """The strength in ``grid`` with the best mean held-out image AUC over ``folds`` folds of the
    pictures (dealt in order within each class, so every fold holds both), ties going to the
    stronger regularisation; also the AUC of every strength."""
    labels = np.asarray(labels).astype(int)
    fold_of = np.empty(labels.size, dtype=int)
    for value in (0, 1):
        where = np.flatnonzero(labels == value)
        fold_of[where] = np.arange(where.size) % folds
    scores: dict[float, float] = {}
    for l2 in grid:
        aucs = []
        for fold in range(folds):
            train, held = fold_of != fold, fold_of == fold
            model = fit_logistic(evidence[train], labels[train], l2)
            aucs.append(_auc(logit(model, evidence[held]), labels[held]))
        scores[float(l2)] = float(np.mean(aucs))
    best = max(scores.values())
    return max(l2 for l2, auc in scores.items() if auc >= best - 1e-12), scores


def leave_photograph_out_rates(member_scores: Sequence[Mapping[str, float]],
                               photos: Sequence[str]) -> list[dict[str, float]]:
    """Each reference picture's member rates read from the pictures of the *other* photographs.

    ``member_scores[i]`` maps each member to its score on picture ``i``, made from photograph
    ``photos[i]``. The count of other pictures scoring at least as high is scaled to the whole
    reference size ``N`` so that the rate has the run-time scale ``(count + 1) / (N + 1)``: a
    reference picture's rate read in sample counts the picture itself (never below ``2 / (N + 1)``),
    while a new picture's can reach ``1 / (N + 1)``.
    """
    rates = []
    for index, photo in enumerate(photos):
        others = [i for i, other in enumerate(photos) if other != photo]
        picture_rates = {}
        for member, score in member_scores[index].items():
            reference = np.array([member_scores[i][member] for i in others if member in member_scores[i]])
            full = sum(member in scores for scores in member_scores)
            if reference.size:
                count = float(np.sum(reference >= score)) * full / reference.size
                picture_rates[member] = (count + 1.0) / (full + 1.0)
        rates.append(picture_rates)
    return rates
