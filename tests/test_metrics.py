"""Known-answer tests of forensics_core.metrics."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy.stats import rankdata

from forensics_core.metrics import (
    best_threshold_scores,
    confusion,
    f1_score,
    image_auc,
    iou,
    mcc,
    pixel_auc,
    pixel_metrics,
)

pytestmark = pytest.mark.filterwarnings("error")

# A hand-made 3x3 example used by several tests:
#   pred  = 1 1 0      truth = 1 0 0
#           0 1 0              1 1 0
#           0 0 0              0 0 0
# tp = (0,0), (1,1) -> 2;  fp = (0,1) -> 1;  fn = (1,0) -> 1;  tn = 9 - 4 = 5.
# F1  = 2*2 / (2*2 + 1 + 1) = 4/6 = 2/3
# IoU = 2 / (2 + 1 + 1) = 1/2
# MCC = (2*5 - 1*1) / sqrt((2+1)(2+1)(5+1)(5+1)) = 9 / sqrt(3*3*6*6) = 9/18 = 1/2
PRED = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)
TRUTH = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)


def _rankdata_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Reference AUC by the textbook midrank formula."""
    ranks = rankdata(scores)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    return (ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_auc_known_answer() -> None:
    # Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 > 0.1, 0.35 < 0.4,
    # 0.8 beats both -> 3 of 4 pairs ordered -> 0.75.
    assert pixel_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75


def test_auc_ties_count_half() -> None:
    # One pair, tied -> 1/2.
    assert pixel_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    # Positives 0.5 and 0.9 against negatives 0.2 and 0.5:
    # 0.5 beats 0.2 (1) and ties 0.5 (1/2); 0.9 beats both (2) -> 3.5 / 4 = 0.875.
    assert pixel_auc(np.array([0.2, 0.5, 0.5, 0.9]), np.array([0, 0, 1, 1])) == 0.875


def test_auc_perfect_inverted_and_undefined() -> None:
    truth = np.array([[0, 0, 1], [1, 0, 1]], dtype=bool)
    scores = truth.astype(np.float32)
    assert pixel_auc(scores, truth) == 1.0
    assert pixel_auc(1.0 - scores, truth) == 0.0
    assert math.isnan(pixel_auc(scores, np.zeros_like(truth)))
    assert math.isnan(pixel_auc(scores, np.ones_like(truth)))


def test_auc_matches_midrank_formula_with_ties() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random(50_000) < 0.2
    # Quantised scores, so ties between and within classes abound.
    scores = (np.round(rng.random(50_000) * 40 + 10 * truth) / 50).astype(np.float32)
    assert pixel_auc(scores, truth) == pytest.approx(_rankdata_auc(scores, truth), abs=1e-12)


def test_auc_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        pixel_auc(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        pixel_auc(np.array([0.1, np.nan]), np.array([0, 1]))


def test_auc_is_fast_on_ten_million_pixels() -> None:
    rng = np.random.default_rng(2)
    truth = rng.random((2500, 4000)) < 0.1
    scores = (rng.random(truth.shape, dtype=np.float32) + 0.5 * truth).astype(np.float32)
    started = time.perf_counter()
    auc = pixel_auc(scores, truth)
    elapsed = time.perf_counter() - started
    # Uniform [0,1) against uniform [0.5,1.5): P(pos > neg) = 1 - 0.5**2 / 2 = 0.875.
    assert auc == pytest.approx(0.875, abs=2e-3)
    assert elapsed < 5.0


def test_image_auc() -> None:
    assert image_auc([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0]) == 1.0
    assert image_auc([0.1, 0.9, 0.3, 0.8], [1, 0, 1, 0]) == 0.0
    # Manipulated 0.35 and 0.8 against authentic 0.1 and 0.4 -> 0.75 (as in pixel AUC).
    assert image_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert math.isnan(image_auc([0.2, 0.7], [1, 1]))


def test_confusion_and_scores_on_hand_example() -> None:
    counts = confusion(PRED, TRUTH)
    assert counts == (2, 1, 1, 5)
    assert all(type(c) is int for c in counts)
    assert f1_score(PRED, TRUTH) == pytest.approx(2 / 3)
    assert iou(PRED, TRUTH) == pytest.approx(0.5)
    assert mcc(PRED, TRUTH) == pytest.approx(0.5)


def test_perfect_and_inverse_masks() -> None:
    assert f1_score(TRUTH, TRUTH) == 1.0
    assert iou(TRUTH, TRUTH) == 1.0
    assert mcc(TRUTH, TRUTH) == pytest.approx(1.0)
    # Complement: tp = tn = 0 -> F1 = IoU = 0 and MCC = -fp*fn / sqrt(fp*fn*fp*fn) = -1.
    assert f1_score(~TRUTH, TRUTH) == 0.0
    assert iou(~TRUTH, TRUTH) == 0.0
    assert mcc(~TRUTH, TRUTH) == pytest.approx(-1.0)


def test_degenerate_conventions() -> None:
    empty = np.zeros((3, 3), dtype=bool)
    # Both empty: perfect agreement for F1 and IoU; MCC undefined -> 0.
    assert (f1_score(empty, empty), iou(empty, empty), mcc(empty, empty)) == (1.0, 1.0, 0.0)
    # False alarm on an authentic image: tp = 0 -> F1 = IoU = 0; tp + fn = 0 -> MCC = 0.
    assert (f1_score(PRED, empty), iou(PRED, empty), mcc(PRED, empty)) == (0.0, 0.0, 0.0)
    # Missed everything: pred empty -> tp + fp = 0 -> MCC = 0.
    assert (f1_score(empty, TRUTH), iou(empty, TRUTH), mcc(empty, TRUTH)) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        confusion(PRED, TRUTH[:2])


def test_best_threshold_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random((120, 150)) < 0.3
    scores = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0.0, 1.0).astype(np.float32)
    # Put some scores exactly on thresholds to exercise the >= boundary.
    scores[::7] = np.round(scores[::7] * 100) / 100
    thresholds = np.linspace(0.0, 1.0, 101).astype(np.float32)
    f1s = [f1_score(scores >= t, truth) for t in thresholds]
    mccs = [mcc(scores >= t, truth) for t in thresholds]
    best = best_threshold_scores(scores, truth, n_thresholds=101)
    assert best["best_f1"] == pytest.approx(max(f1s), abs=1e-12)
    assert best["best_f1_threshold"] == float(thresholds[int(np.argmax(f1s))])
    assert best["best_mcc"] == pytest.approx(max(mccs), abs=1e-12)
    assert best["best_mcc_threshold"] == float(thresholds[int(np.argmax(mccs))])


def test_best_threshold_on_float64_and_few_thresholds() -> None:
    # Scores 0.1 (authentic) and 0.7 (manipulated), thresholds 0, 0.5, 1:
    # t = 0 flags everything (F1 = 2*2/(4+2) = 2/3, MCC = 0), t = 0.5 is perfect,
    # t = 1 flags nothing (F1 = 0, MCC = 0).
    scores = np.array([0.1, 0.1, 0.7, 0.7])
    truth = np.array([0, 0, 1, 1])
    best = best_threshold_scores(scores, truth, n_thresholds=3)
    assert best == {
        "best_f1": 1.0,
        "best_f1_threshold": 0.5,
        "best_mcc": 1.0,
        "best_mcc_threshold": 0.5,
    }
    with pytest.raises(ValueError):
        best_threshold_scores(scores, truth, n_thresholds=1)


def test_pixel_metrics() -> None:
    truth = np.zeros((20, 30), dtype=bool)
    truth[5:15, 10:20] = True
    heatmap = np.where(truth, 0.9, 0.1).astype(np.float32)
    heatmap[5, 10] = 0.4  # one manipulated pixel below the threshold 0.5
    metrics = pixel_metrics(heatmap, truth, threshold=0.5)
    assert set(metrics) == {
        "auc",
        "f1",
        "mcc",
        "iou",
        "best_f1",
        "best_f1_threshold",
        "best_mcc",
        "best_mcc_threshold",
    }
    assert metrics["auc"] == 1.0
    # tp = 99, fp = 0, fn = 1, tn = 500.
    assert metrics["f1"] == pytest.approx(198 / 199)
    assert metrics["iou"] == pytest.approx(99 / 100)
    assert metrics["mcc"] == pytest.approx((99 * 500) / math.sqrt(99 * 100 * 500 * 501))
    # The lowest threshold that separates perfectly is the first one above 0.1: 0.11.
    assert metrics["best_f1"] == 1.0
    assert metrics["best_f1_threshold"] == pytest.approx(0.11, abs=1e-6)
    assert metrics["best_mcc"] == pytest.approx(1.0)
    assert metrics["best_mcc_threshold"] == pytest.approx(0.11, abs=1e-6)
    assert all(isinstance(value, float) for value in metrics.values())
