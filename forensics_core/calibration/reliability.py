"""Cross-validated reliability of stated false-alarm rates: folds of whole photographs.

A calibration states, for a score ``s``, the false-alarm rate ``(#{reference >= s} + 1) / (N + 1)``
(:meth:`~forensics_core.calibration.calibration_file.Calibration.false_alarm_rate`). Whether the
rate holds for new authentic pictures is checked on pictures kept out of the calibration. One
held-out split of a few photographs is a noisy check, because the forms of one photograph (PNG,
JPEG, resized) are strongly correlated; K-fold cross-validation (T. Hastie, R. Tibshirani,
J. Friedman, *The Elements of Statistical Learning*, 2nd ed., Springer 2009, Sec. 7.10) by
photograph holds every photograph out once, with all its forms on the same side, so every reference
picture is checked once against a calibration that never saw its photograph.

The score of a picture may itself depend on the calibration pictures (``fusion`` combines its
members' calibrated rates), so the caller supplies ``score_with(training_ids)``: a function that
scores any picture given the pictures a calibration may use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np


def empirical_false_alarm_rate(reference_scores: Sequence[float] | np.ndarray, score: float) -> float:
    """``(#{reference >= score} + 1) / (N + 1)``: the share of reference scores at least ``score``,
    with the +1 convention that keeps it conservative and never zero."""
    scores = np.sort(np.asarray(reference_scores, dtype=np.float64))
    at_least = scores.size - int(np.searchsorted(scores, float(score), side="left"))
    return (at_least + 1) / (scores.size + 1)


def photo_folds(photos: Collection[str], folds: int) -> list[frozenset[str]]:
    """The photographs dealt in sorted order into ``folds`` groups (round robin), each non-empty."""
    names = sorted(set(photos))
    if not 2 <= folds <= len(names):
        raise ValueError(f"{folds} folds need between 2 and {len(names)} photographs' worth of folds")
    return [frozenset(names[start::folds]) for start in range(folds)]


def cross_validated_rates(photo_of: Mapping[str, str],
                          score_with: Callable[[frozenset[str]], Callable[[str], float]],
                          folds: int = 3) -> dict[str, float]:
    """Every picture's false-alarm rate against a calibration on the other folds' pictures.

    Parameters
    ----------
    photo_of : mapping
        Picture id -> the photograph it was made from.
    score_with : callable
        ``score_with(training_ids)`` returns the scoring function to use when only the pictures
        ``training_ids`` may inform the score (for a plain detector, its stored scores whatever
        the fold).
    folds : int
        Number of photograph folds (at least 2).

    Returns
    -------
    dict
        Picture id -> its held-out false-alarm rate.
    """
    rates: dict[str, float] = {}
    for held_photos in photo_folds(photo_of.values(), folds):
        training = frozenset(image for image, photo in photo_of.items() if photo not in held_photos)
        score = score_with(training)
        reference = [score(image) for image in sorted(training)]
        for image in sorted(set(photo_of) - training):
            rates[image] = empirical_false_alarm_rate(reference, score(image))
    return rates
