"""Localisation and detection metrics, shared by the evaluation command and training.

Plain NumPy. Masks and ground truths are arrays where nonzero means manipulated; a heatmap
pixel is predicted manipulated when ``heatmap >= threshold``.

Conventions for degenerate cases (so that no metric is NaN except an undefined AUC):

* F1 and IoU are 1.0 when prediction and truth are both empty (``tp + fp + fn == 0``:
  perfect agreement on an authentic image), and 0.0 whenever ``tp == 0`` otherwise.
* MCC is 0.0 when any of ``tp + fp``, ``tp + fn``, ``tn + fp``, ``tn + fn`` is 0 (the
  correlation is undefined; this is also scikit-learn's convention).
* ROC-AUC is NaN when the truth holds a single class.

References
----------
.. [Mann1947] H. B. Mann and D. R. Whitney, "On a test of whether one of two random variables
   is stochastically larger than the other", Ann. Math. Statist. 18(1):50-60, 1947.
.. [Hanley1982] J. A. Hanley and B. J. McNeil, "The meaning and use of the area under a
   receiver operating characteristic (ROC) curve", Radiology 143(1):29-36, 1982.
.. [Matthews1975] B. W. Matthews, "Comparison of the predicted and observed secondary
   structure of T4 phage lysozyme", Biochim. Biophys. Acta 405(2):442-451, 1975.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "best_threshold_scores",
    "confusion",
    "f1_score",
    "image_auc",
    "iou",
    "mcc",
    "pixel_auc",
    "pixel_metrics",
]


def _scores_and_truth(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ``scores`` (kept float32/float64, others cast to float64) and ``truth`` (bool)."""
    scores = np.asarray(scores)
    truth = np.asarray(truth)
    if scores.shape != truth.shape:
        raise ValueError(f"scores have shape {scores.shape} but truth has {truth.shape}")
    flat = scores.ravel()
    if flat.dtype not in (np.float32, np.float64):
        flat = flat.astype(np.float64)
    if not np.all(np.isfinite(flat)):
        raise ValueError("scores must be finite")
    return flat, truth.ravel().astype(bool)


def _rank_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """ROC-AUC of flat finite ``scores`` against flat bool ``truth`` (Mann-Whitney U)."""
    positives = np.sort(scores[truth])
    negatives = np.sort(scores[~truth])
    if positives.size == 0 or negatives.size == 0:
        return float("nan")
    # For each positive, the negatives strictly below it count 1 and the tied ones 1/2, so
    # 2U = sum(#neg < p) + sum(#neg <= p). This equals the midrank formula exactly.
    below = np.searchsorted(negatives, positives, side="left").sum(dtype=np.int64)
    at_or_below = np.searchsorted(negatives, positives, side="right").sum(dtype=np.int64)
    return float((int(below) + int(at_or_below)) / (2 * positives.size * negatives.size))


def pixel_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Pixel-level ROC-AUC of a heatmap against a ground-truth mask.

    Computed exactly by the Mann-Whitney U statistic [Mann1947]_ [Hanley1982]_: the
    probability that a random manipulated pixel scores higher than a random authentic one,
    ties counting one half (equivalent to the average-rank formula). Positive and negative
    scores are sorted separately and counted with binary search, which is exact on ties and
    takes well under a second for tens of millions of float32 pixels.

    Parameters
    ----------
    scores : array
        Finite scores, higher = more likely manipulated; float32 is kept as is.
    truth : array of the same shape
        Nonzero = manipulated.

    Returns
    -------
    float
        In [0, 1]; NaN when ``truth`` is all one class.
    """
    return _rank_auc(*_scores_and_truth(scores, truth))


def image_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Image-level ROC-AUC of detection scores, by the same exact rank method as :func:`pixel_auc`.

    Parameters
    ----------
    scores : sequence of float
        One finite score per image, higher = more likely manipulated.
    labels : sequence of int
        One label per image: 1 = manipulated, 0 = authentic.

    Returns
    -------
    float
        In [0, 1]; NaN when all labels are equal.
    """
    return _rank_auc(*_scores_and_truth(np.asarray(scores), np.asarray(labels)))


def confusion(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int, int]:
    """Confusion counts of a predicted mask against the truth.

    Parameters
    ----------
    pred, truth : arrays of the same shape
        Nonzero = manipulated.

    Returns
    -------
    (tp, fp, fn, tn) : tuple of int
        Python integers, so later products cannot overflow.
    """
    pred = np.asarray(pred).astype(bool)
    truth = np.asarray(truth).astype(bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction has shape {pred.shape} but truth has {truth.shape}")
    tp = int(np.count_nonzero(pred & truth))
    predicted = int(np.count_nonzero(pred))
    actual = int(np.count_nonzero(truth))
    fp = predicted - tp
    fn = actual - tp
    return tp, fp, fn, pred.size - tp - fp - fn


def _f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Vectorised F1 = 2tp / (2tp + fp + fn); 1.0 where tp + fp + fn == 0."""
    tp, fp, fn = (np.asarray(c, dtype=np.float64) for c in (tp, fp, fn))
    denominator = 2.0 * tp + fp + fn
    return np.divide(2.0 * tp, denominator, out=np.ones_like(denominator), where=denominator > 0)


def _iou_from_counts(tp: int, fp: int, fn: int) -> float:
    """IoU = tp / (tp + fp + fn); 1.0 when tp + fp + fn == 0."""
    union = tp + fp + fn
    return tp / union if union else 1.0


def _mcc_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray
) -> np.ndarray:
    """Vectorised Matthews correlation; 0.0 where a marginal total is 0."""
    tp, fp, fn, tn = (np.asarray(c, dtype=np.float64) for c in (tp, fp, fn, tn))
    denominator = np.sqrt((tp + fp) * (tp + fn)) * np.sqrt((tn + fp) * (tn + fn))
    return np.divide(
        tp * tn - fp * fn, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )


def f1_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """F1 score (Dice coefficient) of a predicted mask: ``2tp / (2tp + fp + fn)``.

    1.0 when both masks are empty (perfect agreement on an authentic image); otherwise 0.0
    whenever there is no true positive.

    Parameters
    ----------
    pred, truth : arrays of the same shape
        Nonzero = manipulated.

    Returns
    -------
    float
        In [0, 1].
    """
    tp, fp, fn, _ = confusion(pred, truth)
    return float(_f1_from_counts(tp, fp, fn))


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union (Jaccard index) of a predicted mask: ``tp / (tp + fp + fn)``.

    1.0 when both masks are empty, like :func:`f1_score`.

    Parameters
    ----------
    pred, truth : arrays of the same shape
        Nonzero = manipulated.

    Returns
    -------
    float
        In [0, 1].
    """
    tp, fp, fn, _ = confusion(pred, truth)
    return _iou_from_counts(tp, fp, fn)


def mcc(pred: np.ndarray, truth: np.ndarray) -> float:
    """Matthews correlation coefficient of a predicted mask [Matthews1975]_.

    ``(tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn))``: 1 for a perfect mask,
    -1 for its complement, 0 for chance. Defined as 0.0 when any factor of the denominator is
    0 (one of the masks is empty or full), including when both masks are empty.

    Parameters
    ----------
    pred, truth : arrays of the same shape
        Nonzero = manipulated.

    Returns
    -------
    float
        In [-1, 1].
    """
    return float(_mcc_from_counts(*confusion(pred, truth)))


def best_threshold_scores(
    scores: np.ndarray, truth: np.ndarray, n_thresholds: int = 101
) -> dict[str, float]:
    """Best F1 and best MCC over evenly spaced thresholds (the "oracle threshold" metrics).

    The thresholds are ``numpy.linspace(0, 1, n_thresholds)`` cast to the scores' dtype, and
    a pixel is predicted manipulated when ``score >= threshold``. Each score is assigned to the
    number of thresholds it reaches (one binary search), positive and negative counts are
    histogrammed over those bins, and reverse cumulative sums give the confusion counts at
    every threshold at once. Among equal best values the lowest threshold is reported.

    Parameters
    ----------
    scores : array
        Finite scores, usually in [0, 1].
    truth : array of the same shape
        Nonzero = manipulated.
    n_thresholds : int
        Number of thresholds (at least 2).

    Returns
    -------
    dict
        ``best_f1``, ``best_f1_threshold``, ``best_mcc``, ``best_mcc_threshold``, with the
        degenerate-case conventions of :func:`f1_score` and :func:`mcc`.
    """
    if n_thresholds < 2:
        raise ValueError(f"n_thresholds must be at least 2, got {n_thresholds}")
    flat, positive = _scores_and_truth(scores, truth)
    thresholds = np.linspace(0.0, 1.0, n_thresholds).astype(flat.dtype)
    # reached[i] = number of thresholds <= score i; score i is flagged at threshold k iff
    # k < reached[i].
    reached = np.searchsorted(thresholds, flat, side="right")
    pos_hist = np.bincount(reached[positive], minlength=n_thresholds + 1)
    neg_hist = np.bincount(reached[~positive], minlength=n_thresholds + 1)
    # Flagged count at threshold k = number of scores with reached > k.
    tp = np.cumsum(pos_hist[::-1])[::-1][1:]
    fp = np.cumsum(neg_hist[::-1])[::-1][1:]
    fn = pos_hist.sum() - tp
    tn = neg_hist.sum() - fp
    f1 = _f1_from_counts(tp, fp, fn)
    matthews = _mcc_from_counts(tp, fp, fn, tn)
    best_f1 = int(np.argmax(f1))
    best_mcc = int(np.argmax(matthews))
    return {
        "best_f1": float(f1[best_f1]),
        "best_f1_threshold": float(thresholds[best_f1]),
        "best_mcc": float(matthews[best_mcc]),
        "best_mcc_threshold": float(thresholds[best_mcc]),
    }


def pixel_metrics(heatmap: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """All pixel-level localisation metrics of one heatmap against its ground truth.

    Parameters
    ----------
    heatmap : (H, W) array
        Finite scores in [0, 1], 1 = manipulated.
    truth : (H, W) array
        Nonzero = manipulated.
    threshold : float
        The detector's threshold; the predicted mask is ``heatmap >= threshold``.

    Returns
    -------
    dict
        ``auc`` (:func:`pixel_auc`, NaN for a single-class truth), ``f1``, ``mcc``, ``iou`` at
        ``threshold``, and ``best_f1``, ``best_f1_threshold``, ``best_mcc``,
        ``best_mcc_threshold`` (:func:`best_threshold_scores` with 101 thresholds). No
        metric is computed on the inverted heatmap.
    """
    flat, positive = _scores_and_truth(heatmap, truth)
    pred = flat >= threshold
    tp, fp, fn, tn = confusion(pred, positive)
    return {
        "auc": _rank_auc(flat, positive),
        "f1": float(_f1_from_counts(tp, fp, fn)),
        "mcc": float(_mcc_from_counts(tp, fp, fn, tn)),
        "iou": _iou_from_counts(tp, fp, fn),
        **best_threshold_scores(flat, positive),
    }
