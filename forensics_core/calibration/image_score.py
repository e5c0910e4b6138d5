"""The image score shared by every detector whose paper defines no image-level statistic.

Definition (``region-contrast``): the heatmap is reduced by area averaging so that its longer
side is at most :data:`SCORE_MAP_SIDE` pixels; its pixels at or above Otsu's threshold
[Otsu1979]_ of that reduced map are the *suspicious* pixels; the score is the
:data:`REGION_QUANTILE` quantile of the reduced map inside the largest 8-connected suspicious
region minus the median of the map outside that region (0 when nothing stands out).

Why this definition:

* a manipulation is a region, while the false alarms of a heatmap are mostly scattered: the
  largest connected region is where a detector's evidence is spatially coherent;
* Otsu's threshold separates each map into a high and a low class without a level tuned per
  detector, so the same rule applies to every detector's scale;
* the upper quantile inside the region measures how strong the region is while ignoring its few
  highest pixels (one saturated pixel does not make a score), unlike the maximum; and unlike a
  quantile of the whole map it does not grow with the picture's size;
* subtracting the level of the rest of the picture makes the score a *contrast*: several maps
  saturate at 1 over much of an authentic picture (measured on the authentic reference set, the
  upper quantile alone was 1.0 on 64 to 78 of 84 pictures for ``splicebuster``, ``noise-level``
  and ``noise-baseline``), which makes a score that cannot rank authentic pictures and so cannot be
  calibrated; a map that is high everywhere localises nothing and now scores low;
* area averaging to a fixed size makes the score independent of the resolution and cheap on a
  20-megapixel picture (one reduced map of at most 256 x 256 pixels).

The score is in the heatmap's own units ([0, 1]); what a given score means is stated by the
detector's calibration (:mod:`forensics_core.calibration.calibration_file`), never by the number
alone. A constant map has no suspicious region: its score is 0.

Detectors whose paper defines an image statistic keep it (``Detector.score_definition``): the
number of false alarms of ``jpeg-grid``'s a-contrario grid detection [Nikoukhah2021]_,
``copy-move``'s verified clone evidence (verified area and correlation of matched regions,
[Amerini2011]_), and the weight of the manipulated class in the two-class mixtures that
``splicebuster`` [Cozzolino2015]_ and ``cfa`` [Ferrara2012]_ fit by EM (their maps are that
mixture's posteriors, nearly binary, so a contrast of the map says little about the extent the
mixture estimates). Every other detector's score is ``region-contrast``: their papers define
maps, not image statistics.

References
----------
.. [Nikoukhah2021] T. Nikoukhah et al., "ZERO: a local JPEG grid origin detector based on the number
   of DCT zeros and its applications in image forensics", Image Processing On Line 11, 2021.
.. [Amerini2011] I. Amerini et al., "A SIFT-based forensic method for copy-move attack detection and
   transformation recovery", IEEE Trans. Information Forensics and Security 6(3), 2011.
.. [Cozzolino2015] D. Cozzolino, G. Poggi and L. Verdoliva, "Splicebuster: a new blind image
   splicing detector", IEEE WIFS 2015.
.. [Ferrara2012] P. Ferrara, T. Bianchi, A. De Rosa and A. Piva, "Image forgery localization via
   fine-grained analysis of CFA artifacts", IEEE Trans. Information Forensics and Security 7(5), 2012.
.. [Otsu1979] N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans.
   Systems, Man and Cybernetics 9(1), 1979.
"""

from __future__ import annotations

import math

import numpy as np

#: Name of the shared definition, as recorded in ``Detector.score_definition`` and calibrations.
REGION_CONTRAST_SCORE = "region-contrast"
#: Longer side of the reduced map the score is computed on, in pixels.
SCORE_MAP_SIDE = 256
#: Quantile of the reduced map inside the largest suspicious region.
REGION_QUANTILE = 0.9


def reduced_map(heatmap: np.ndarray, side: int = SCORE_MAP_SIDE) -> np.ndarray:
    """``heatmap`` averaged over areas so that its longer side is at most ``side`` pixels."""
    import cv2

    height, width = heatmap.shape
    factor = max(height, width) / side
    values = np.nan_to_num(heatmap.astype(np.float32, copy=False))
    if factor <= 1.0:
        return values
    size = (max(1, math.ceil(width / factor)), max(1, math.ceil(height / factor)))
    return cv2.resize(values, size, interpolation=cv2.INTER_AREA)


def largest_suspicious_region(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the largest 8-connected region of ``values >= Otsu's threshold``
    (all False for a constant map)."""
    from scipy import ndimage

    from forensics_core.postprocess import otsu_threshold

    suspicious = values >= otsu_threshold(values)
    labels, count = ndimage.label(suspicious, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return suspicious
    sizes = np.bincount(labels.ravel())[1:]
    return labels == 1 + int(np.argmax(sizes))


def region_contrast_score(heatmap: np.ndarray) -> float:
    """The ``region-contrast`` image score of ``heatmap`` (see the module's docstring).

    Parameters
    ----------
    heatmap : array, HxW
        A detector's map in [0, 1], 1 = manipulated (NaN counts as 0).

    Returns
    -------
    float
        The :data:`REGION_QUANTILE` quantile of the area-reduced map inside its largest
        suspicious region minus the median outside it, at least 0; 0 for a constant map.
    """
    values = reduced_map(np.asarray(heatmap))
    region = largest_suspicious_region(values) if values.size else np.zeros(values.shape, bool)
    if not region.any() or region.all():
        return 0.0
    contrast = np.quantile(values[region], REGION_QUANTILE) - np.median(values[~region])
    return float(max(contrast, 0.0))
