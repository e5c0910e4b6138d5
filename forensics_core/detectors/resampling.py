"""Resampling detectors of Bunk et al. 2017 [Bunk2017]_: six patch classifiers, and the LSTM variant.

``resampling`` (Section 3.2 of the paper):

1. residual ``sqrt(|3x3 Laplacian|)`` of the luminance; 64x64 patches on an 8-pixel grid (mirrored
   at the borders, so cell ``(i, j)`` of every map is the patch centred on it); 874 Radon/FFT
   features per patch (:mod:`forensics_core.features.resampling`), computed strip by strip;
2. six binary MLPs (:class:`~forensics_core.models.resampling_mlp.ResamplingMLP`), one per
   resampling class, give six maps of probabilities, upsampled bilinearly to full resolution
   (the *raw* maps) and smoothed by a bilateral filter (the *filtered* maps);
3. Otsu's threshold of each filtered map; only maps whose histogram is bimodal
   (:func:`forensics_core.postprocess.is_bimodal`) are kept; each kept map is segmented by the
   Random Walker seeded from its two modes (below / above the Otsu threshold); the mask is the
   OR of those segmentations, without components smaller than ``min_region_area`` pixels.

Choices where the paper is silent (documented here and in ``Result.extra``):

* **Heatmap** (``Result.heatmap``, parameter ``heatmap``). A spliced region is where the
  resampling signature *departs from the rest of the image*: everyday photographs are themselves
  resampled (demosaicing, in-camera or web resizing) and JPEG-compressed, so the classifiers fire
  on untouched background too, and a region pasted at another scale is often less "resampled"
  (or less JPEG-like) than its surroundings rather than more. Default ``anomaly``
  (:func:`signature_anomaly`): a place's signature is the six classifiers' log-odds on its patch
  seen in the four orientations of :data:`~forensics_core.features.resampling.ORIENTATIONS`
  (identity, mirror, quarter turn, transposition: permutations of the Radon angles, so the
  features are computed once; the classifiers are not invariant to the orientation, and their
  four answers also describe how the patch's periodic traces are oriented), 24 values, on every
  second grid cell (16 pixels at the default stride). Its robust Mahalanobis distance from the
  bulk of the image's cells, averaged over a box of about ``anomaly_window`` pixels (an odd
  number of those cells: 80 px for the default 72), is scaled so that the
  image's median maps to 0.05 and four robust standard deviations above it to 0.95 (a logistic
  curve, strictly increasing). Unlike a per-class threshold it ranks a departure in any
  direction and any combination of classes, weighted by how they co-vary in this image.
  ``deviation``: for each class the absolute difference between a cell's filtered probability
  and the image's median, averaged over the six. ``maximum``: the pixel-wise maximum of the
  filtered maps of the kept (bimodal) classes, or of all six when none is bimodal: the
  probability under the most suspicious operation. The first two assume that the manipulated
  region is the smaller part of the frame. The three are compared on resampled splices by
  ``benchmarks/bench_resampling.py`` part (d); the figures are in ``benchmarks/RESULTS.md``.
  Tried and not used (each localised the splices less well in that benchmark): adding principal
  components of the raw features or of the classifiers' hidden layers to the signature (they
  follow image content: edges, smooth areas), and averaging the four orientations' log-odds
  instead of keeping them side by side.
* **Localisation confidence** (``Result.score``): for a kept map with segmentation ``M``, the
  difference between its mean filtered probability inside ``M`` and outside ``M``, in [0, 1];
  the score is the largest over the kept maps, and 0 when no map is bimodal (nothing localised).
  It is high only when a compact region is clearly more "resampled" than the rest of the image,
  and stays low on an untouched image, whose maps are unimodal or weakly separated.
* The Random Walker runs on a copy of the map at most :data:`RANDOM_WALKER_SIDE` pixels long
  (the maps carry one value per 8x8 block, so nothing is lost); its edge penalty ``beta`` (the
  paper gives none; scikit-image's default, 130) is a parameter.

``resampling-lstm`` (Section 3.3): the same feature map, read by
:class:`~forensics_core.models.resampling_lstm.ResamplingLSTM` in 8x8-block windows (64x64
pixels) slid over the map; each cell's heatmap value is the mean probability of the windows that
contain it; the score is the largest cell value.

.. [Bunk2017] J. Bunk et al., "Detection and localization of image forgeries using resampling
   features and deep learning", CVPR Workshops 2017. :DOI:`10.1109/CVPRW.2017.235`
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from forensics_core import postprocess
from forensics_core.anomaly import robust_mahalanobis, robust_standard_score
from forensics_core.blocking_calls import call_while_checking
from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, ClassMapSummary, Detector, Parameter, ProgressReporter
from forensics_core.device import single_threaded_cpu
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.models.sizes import RESAMPLING_CLASSES
from forensics_core.models.sizes import RESAMPLING_LSTM_GRID as GRID

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch
    from torch import nn

    from forensics_core.models.resampling_lstm import ResamplingLSTM

#: Weights key of each of the six classifiers, in :data:`RESAMPLING_CLASSES` order.
MLP_KEYS = {name: f"resampling/{name}" for name in RESAMPLING_CLASSES}
#: Weights key of the LSTM patch classifier.
LSTM_KEY = "resampling-lstm/classifier"
#: Longest side of the map the Random Walker segments.
RANDOM_WALKER_SIDE = 256
#: A map whose values span less than this is flat: one mode, nothing to threshold (Otsu's
#: histogram of a near-constant float32 map would have empty-width bins).
FLAT_SPREAD = 1e-4
#: Grid spacing of the feature map, in pixels (the models were trained at this spacing).
FEATURE_STRIDE = 8
#: Ways of forming ``Result.heatmap`` (see the module docstring).
HEATMAP_MODES = ("anomaly", "deviation", "maximum")
#: Log-odds are clipped to +-this before the anomaly score, so saturated classifiers do not dominate.
LOG_ODDS_LIMIT = 8.0
#: Robust standard scores of the smoothed log-distance at which the anomaly heatmap reaches
#: ``ANOMALY_ODDS / (1 + ANOMALY_ODDS)``; the image's median maps to ``1 / (1 + ANOMALY_ODDS)``.
ANOMALY_FULL_SCALE = 4.0
#: Odds of the anomaly heatmap at ``ANOMALY_FULL_SCALE`` robust SD (19: 0.95; at the median 0.05).
ANOMALY_ODDS = 19.0
#: The anomaly signature is computed on every this-th grid row and column (a grid of 16 pixels at
#: the default stride): it is averaged over ``anomaly_window`` pixels anyway, and its four
#: orientations cost four classifier passes per cell.
ANOMALY_GRID_STEP = 2


def probability_grids(log_odds: np.ndarray) -> dict[str, np.ndarray]:
    """Each class's probability map, {class: (rows, cols) float32}, from (rows, cols, 6) log-odds."""
    from scipy.special import expit

    probability = expit(log_odds).astype(np.float32)
    return {name: probability[..., index] for index, name in enumerate(RESAMPLING_CLASSES)}


def box_cells(window: float, stride: int) -> int:
    """Side, in cells of ``stride`` pixels, of the odd box nearest ``window`` pixels (at least 1)."""
    return max(1, round(window / stride)) // 2 * 2 + 1


def signature_anomaly(log_odds: np.ndarray, stride: int, window: float) -> np.ndarray:
    """Cell map in [0, 1] of how far each cell's resampling signature lies from the image's bulk.

    The signature of a cell is its log-odds ``log_odds`` (rows, cols, K) (in the detector the six
    classifiers' answers on the cell's patch in the four :data:`ORIENTATIONS`, K = 24), clipped
    to +-:data:`LOG_ODDS_LIMIT`. Its robust squared Mahalanobis distance from the bulk of the
    image's cells (:func:`~forensics_core.anomaly.robust_mahalanobis`) is log-compressed
    (``log1p``), averaged over a ``window``-pixel box (an odd number of cells of ``stride``
    pixels) and turned into a robust standard score ``z`` over the image, mapped to [0, 1] by
    the logistic curve that gives 0.05 at ``z = 0`` (the image's median), 0.5 at
    ``z = ANOMALY_FULL_SCALE / 2`` and 0.95 at ``z = ANOMALY_FULL_SCALE``: strictly increasing,
    so every difference in the score is kept as a difference in the map (no ties from clipping).
    """
    from scipy.special import expit

    rows, cols, classes = log_odds.shape
    vectors = np.clip(log_odds, -LOG_ODDS_LIMIT, LOG_ODDS_LIMIT).reshape(rows * cols, classes)
    distance = np.log1p(robust_mahalanobis(vectors)).astype(np.float32).reshape(rows, cols)
    side = box_cells(window, stride)
    smoothed = cv2.blur(distance, (side, side), borderType=cv2.BORDER_REFLECT)
    slope = 2.0 * np.log(ANOMALY_ODDS) / ANOMALY_FULL_SCALE
    return expit(slope * (robust_standard_score(smoothed) - ANOMALY_FULL_SCALE / 2)).astype(np.float32)


def _class_log_odds(models: Mapping[str, nn.Module], features: torch.Tensor) -> np.ndarray:
    """(N, 6) float32 log-odds (logit 1 - logit 0) of the six classifiers, in :data:`RESAMPLING_CLASSES` order."""
    import torch

    logits = [models[name](features).float() for name in RESAMPLING_CLASSES]
    return torch.stack([pair[:, 1] - pair[:, 0] for pair in logits], dim=1).cpu().numpy()


def _refine(coarse: np.ndarray, shape: tuple[int, int], step: int) -> np.ndarray:
    """Bilinear interpolation of a map of every ``step``-th cell back onto the full (rows, cols) grid.

    Coarse cell ``(i, j)`` is grid cell ``(step i, step j)``; cells past the last coarse one take
    its value.
    """
    from scipy.ndimage import map_coordinates

    coordinates = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32) / step
    return map_coordinates(coarse, coordinates, order=1, mode="nearest").astype(np.float32)


_REFERENCE = ("J. Bunk et al., \"Detection and localization of image forgeries using resampling features "
              "and deep learning\", CVPR Workshops 2017")


def _feature_grid(evidence: Evidence, device: torch.device, reporter: ProgressReporter, stride: int,
                  message: str) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Residual of the luminance, then the features strip by strip, reporting progress."""
    from forensics_core.features.resampling import BUNK_SPEC, grid_shape, iter_feature_strips, laplacian_residual

    reporter.update(0.0, "Computing the luminance")
    luminance = evidence.luminance()
    reporter.update(0.0, "Computing the luminance residual")  # each step is a second on 20 MP
    residual = laplacian_residual(luminance, on_step=lambda: reporter.update(0.0, "Computing the luminance residual"))
    reporter.update(0.0, message)
    rows, _ = grid_shape(evidence.height, evidence.width, stride)
    for start, stop, features in iter_feature_strips(residual, BUNK_SPEC, stride, device):
        reporter.update(stop / rows, message)
        yield start, stop, features


def _upsample(grid: np.ndarray, height: int, width: int, stride: int) -> np.ndarray:
    """Bilinear upsampling of a cell map to HxW, cell ``(i, j)`` landing on the centre of its block."""
    rows, cols = grid.shape
    full = cv2.resize(np.ascontiguousarray(grid, dtype=np.float32), (cols * stride, rows * stride),
                      interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[:height, :width])


def _is_flat(values: np.ndarray) -> bool:
    """Whether the values span less than :data:`FLAT_SPREAD`."""
    return float(values.max() - values.min()) < FLAT_SPREAD


def _otsu(values: np.ndarray, on_chunk: Callable[[], object] | None = None) -> float:
    """Otsu's threshold of ``values``; for a flat map, the threshold of its maximum (nothing flagged)."""
    return postprocess.otsu_threshold(values.max() if _is_flat(values) else values, on_chunk=on_chunk)


def _map_statistics(name: str, filtered: np.ndarray, mean_probability: float,
                    tick: Callable[[float, str], None]) -> ClassMapSummary:
    """Histogram, Otsu threshold, bimodality and the keep decision of class ``name``'s filtered map.

    ``tick(fraction, step)`` reports progress between the steps (each is a pass over the map).
    The confidence is left None: it exists only once a kept map is segmented.
    """
    counts, edges = postprocess.histogram(filtered)
    tick(0.25, "Thresholding")
    flat = _is_flat(filtered)
    threshold = _otsu(filtered, lambda: tick(0.25, "Thresholding"))
    testing = "Testing the bimodality of"
    tick(0.5, testing)
    bimodality = 0.0 if flat else postprocess.bimodality(filtered, on_step=lambda: tick(0.5, testing))
    tick(0.75, testing)
    kept = not flat and postprocess.is_bimodal(filtered, on_step=lambda: tick(0.75, testing))
    tick(1.0, testing)
    return ClassMapSummary(map_name=f"filtered/{name}", counts=tuple(counts.tolist()), edges=tuple(edges.tolist()),
                           otsu_threshold=threshold, bimodality=bimodality, kept=kept, confidence=None,
                           mean_probability=mean_probability)


def deviation_heatmap(maps: Sequence[np.ndarray]) -> np.ndarray:
    """Mean over ``maps`` of ``|map - median(map)|``: how far each pixel departs from the typical value.

    Each map holds probabilities in [0, 1], so the result is in [0, 1] too (float32).
    """
    total = np.zeros(maps[0].shape, dtype=np.float32)
    for values in maps:
        total += np.abs(values - np.float32(np.median(values)))
    return total / np.float32(len(maps))


def _separation(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values`` inside ``mask`` minus the mean outside, clipped to [0, 1]; 0 if one side is empty."""
    inside = int(np.count_nonzero(mask))
    if inside in (0, mask.size):
        return 0.0
    total = float(values.sum(dtype=np.float64))
    inside_sum = float(values[mask].sum(dtype=np.float64))
    difference = inside_sum / inside - (total - inside_sum) / (mask.size - inside)
    return float(np.clip(difference, 0.0, 1.0))


def _anomaly_heatmap(evidence: Evidence, grid_rows_cols: tuple[int, int], views: np.ndarray,
                     filtered: Mapping[str, np.ndarray], kept: Sequence[str],
                     params: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    """``anomaly``: how far each place's signature lies from the image's bulk (:func:`signature_anomaly`)."""
    from forensics_core.features.resampling import ORIENTATIONS

    coarse_rows, coarse_cols = views.shape[:2]
    grid = params["stride"] * ANOMALY_GRID_STEP
    anomaly = signature_anomaly(views.reshape(coarse_rows, coarse_cols, -1), grid, params["anomaly_window"])
    heatmap = _upsample(_refine(anomaly, grid_rows_cols, ANOMALY_GRID_STEP), evidence.height, evidence.width,
                        params["stride"])
    text = ("robust Mahalanobis distance of each place's signature (the six classifiers' "
            f"log-odds on its patch in {len(ORIENTATIONS)} orientations, every {grid} px) from the "
            f"image's bulk, averaged over a {box_cells(params['anomaly_window'], grid) * grid} px "
            "box; logistic scale: "
            f"{1 / (1 + ANOMALY_ODDS):.2f} at the image's median, 0.5 at "
            f"{ANOMALY_FULL_SCALE / 2:g} robust SD above, {ANOMALY_ODDS / (1 + ANOMALY_ODDS):.2f} "
            f"at {ANOMALY_FULL_SCALE:g}")
    return heatmap, text


def _deviation_heatmap(evidence: Evidence, grid_rows_cols: tuple[int, int], views: np.ndarray | None,
                       filtered: Mapping[str, np.ndarray], kept: Sequence[str],
                       params: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    """``deviation``: mean distance of the six filtered maps from their medians (:func:`deviation_heatmap`)."""
    heatmap = deviation_heatmap([filtered[name] for name in RESAMPLING_CLASSES])
    return heatmap, ("mean over the six classes of |filtered map - its median| "
                     "(departure from the image's typical resampling signature)")


def _maximum_heatmap(evidence: Evidence, grid_rows_cols: tuple[int, int], views: np.ndarray | None,
                     filtered: Mapping[str, np.ndarray], kept: Sequence[str],
                     params: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    """``maximum``: pixel-wise maximum of the kept (bimodal) filtered maps, or of all six if none is kept."""
    heatmap = np.maximum.reduce([filtered[name] for name in kept or RESAMPLING_CLASSES])
    return heatmap, "max of the filtered maps of the " + ("kept (bimodal) classes" if kept else
                                                         "six classes (none is bimodal)")


#: How each ``heatmap`` parameter value forms ``Result.heatmap`` (see the module docstring).
HEATMAPS: dict[str, Callable[..., tuple[np.ndarray, str]]] = {
    "anomaly": _anomaly_heatmap,
    "deviation": _deviation_heatmap,
    "maximum": _maximum_heatmap,
}


@register_detector
class ResamplingDetector(Detector):
    """Six resampling classifiers, bilateral filtering, Otsu, bimodality test, Random Walker."""

    id = "resampling"
    weights_keys = tuple(MLP_KEYS.values())
    display_name = "Resampling features (Bunk et al. 2017)"
    reference = _REFERENCE
    version = "1.3"
    description = (
        "Radon-transform resampling features of 64x64 patches, six classifiers (JPEG quality, up- and "
        "downsampling, rotation either way, shearing), one heatmap each; bimodal heatmaps are "
        "segmented with the Random Walker.")
    limitations = (
        "It sees only the periodic traces left by interpolation (scaling, rotation, shearing) and by "
        "low-quality JPEG in 64x64 patches: a region pasted at its original scale and orientation from a "
        "photograph of similar quality leaves nothing for it to find.",
        "Recompressing, resizing or filtering the whole picture after the edit weakens or erases the "
        "traces everywhere, so a clean heatmap does not mean an untouched picture.",
        "The default anomaly heatmap ranks places by how far they depart from the rest of the picture: "
        "it assumes the manipulated region is the smaller part of the frame, and a picture made mostly "
        "of pasted material inverts it.",
        "Regular texture (fabric, grids, brickwork, halftone print) and strong edges carry periodicities "
        "of their own and are known false positives.",
        "Regions smaller than about two 64-pixel patches across are diluted by the patches around them; "
        "outlines are accurate to about the 8-pixel grid at best.",
        "The shipped classifiers were trained briefly on synthetic patches on a CPU; their measured "
        "accuracy is in benchmarks/RESULTS.md.",
    )
    parameters = (
        Parameter("stride", int, FEATURE_STRIDE, "Stride (px)",
                  "Spacing of the analysed patches; smaller is finer and slower (time ~ 1/stride^2).", 4, 32),
        Parameter("bilateral_sigma_space", float, 4.0, "Bilateral spatial sigma (px)",
                  "Spatial width of the bilateral filter applied to each heatmap.", 0.5, 64.0),
        Parameter("bilateral_sigma_color", float, 0.1, "Bilateral range sigma",
                  "Probability difference that the bilateral filter smooths across.", 0.01, 1.0),
        Parameter("use_random_walker", bool, True, "Random Walker",
                  "Segment each bimodal heatmap with the Random Walker (else: Otsu threshold only)."),
        Parameter("random_walker_beta", float, 130.0, "Random Walker beta",
                  "Edge penalty of the Random Walker; larger values follow heatmap edges more strictly.", 1.0, 10000.0),
        Parameter("min_region_area", int, 64, "Smallest region (px)",
                  "Regions of the final mask smaller than this are dropped.", 0, 1_000_000),
        Parameter("heatmap", str, "anomaly", "Combined heatmap",
                  "anomaly: how unusual each place's resampling signature (the six classifiers' outputs "
                  "on its patch in four orientations) is within this image; deviation: mean distance of "
                  "the six maps from their medians; maximum: the largest probability of the bimodal maps.",
                  choices=HEATMAP_MODES),
        Parameter("anomaly_window", float, 72.0, "Anomaly window (px)",
                  "Side of the box over which the anomaly heatmap averages the cells' distances.", 8.0, 512.0),
    )

    def build_model(self, states: Mapping[str, dict[str, torch.Tensor]]) -> dict[str, nn.Module]:
        """The six classifiers, {class name: classifier} (an injected model has the same form)."""
        from forensics_core.models.resampling_mlp import ResamplingMLP

        return {name: ResamplingMLP.from_state_dict(states[key]) for name, key in MLP_KEYS.items()}

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Six probability maps, their post-processing, the mask and the confidence score."""
        models, hashes = self.load_model(params)
        reporter.update(0.0, "Weights loaded")
        stride = params["stride"]
        if stride % 2:
            raise ForensicsError(f"The stride must be even, got {stride}.")
        log_odds, views = self._classify(evidence, models, device, reporter.scaled(0.0, 0.7), stride,
                                         with_orientations=params["heatmap"] == "anomaly")
        return self._localise(evidence, log_odds, views, params, reporter.scaled(0.7, 1.0), hashes)

    @staticmethod
    def _classify(evidence: Evidence, models: Mapping[str, nn.Module], device: torch.device,
                  reporter: ProgressReporter, stride: int,
                  with_orientations: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Log-odds of every class at every grid cell, (rows, cols, 6) float32, classes in
        :data:`RESAMPLING_CLASSES` order; and, when ``with_orientations``, the log-odds of every
        :data:`ORIENTATIONS` view of the cells of the coarse grid (every
        :data:`ANOMALY_GRID_STEP`-th row and column), (coarse rows, coarse cols, 4, 6), else None."""
        import torch

        from forensics_core.features.resampling import BUNK_SPEC, grid_shape, ORIENTATIONS, reorient_features

        rows, cols = grid_shape(evidence.height, evidence.width, stride)
        log_odds = np.zeros((rows, cols, len(RESAMPLING_CLASSES)), dtype=np.float32)
        step = ANOMALY_GRID_STEP
        views = (np.zeros((*grid_shape(rows, cols, step), len(ORIENTATIONS), len(RESAMPLING_CLASSES)),
                          dtype=np.float32) if with_orientations else None)
        for model in models.values():
            model.to(device).eval()
        with torch.no_grad(), single_threaded_cpu(device):
            for start, stop, features in _feature_grid(evidence, device, reporter, stride,
                                                       "Resampling features and classifiers"):
                log_odds[start:stop] = _class_log_odds(models, features).reshape(stop - start, cols, -1)
                if views is None:
                    continue
                first = -start % step  # the strip's first row on the coarse grid
                coarse = features.view(stop - start, cols, -1)[first::step, ::step]
                if not len(coarse):  # a one-row strip between two coarse rows
                    continue
                top = (start + first) // step
                for index, orientation in enumerate(ORIENTATIONS[1:], start=1):
                    reoriented = reorient_features(coarse.reshape(-1, features.shape[1]), BUNK_SPEC, orientation)
                    views[top:top + len(coarse), :, index] = _class_log_odds(models, reoriented).reshape(
                        len(coarse), views.shape[1], -1)
        if views is not None:
            views[:, :, 0] = log_odds[::step, ::step]
        return log_odds, views

    @staticmethod
    def _localise(evidence: Evidence, log_odds: np.ndarray, views: np.ndarray | None, params: Mapping[str, Any],
                  reporter: ProgressReporter, hashes: Mapping[str, str]) -> Analysis:
        """Upsample, filter, threshold, test bimodality, segment; combine into one Analysis.

        ``views`` are the coarse grid's log-odds in every orientation (needed by the anomaly heatmap).
        """
        extra_maps, per_class = _class_maps(evidence, log_odds, params, reporter)
        kept = [name for name, summary in per_class.items() if summary.kept]
        mask, per_class = _segment(extra_maps, per_class, kept, params, reporter)
        score = max((per_class[name].confidence or 0.0 for name in kept), default=0.0)
        if kept:
            mask = postprocess.clean_mask(mask, min_area=params["min_region_area"])
        if params["heatmap"] == "anomaly":
            reporter.update(1.0, "Scoring how unusual each place's resampling signature is")
        filtered = {name: extra_maps[f"filtered/{name}"] for name in RESAMPLING_CLASSES}
        heatmap, heatmap_text = HEATMAPS[params["heatmap"]](evidence, log_odds.shape[:2], views, filtered, kept,
                                                           params)
        extra = {
            "heatmap": heatmap_text,
            "score": "largest (mean inside - mean outside) of a kept map's segmentation; 0 if none kept",
            "grid": {"rows": int(log_odds.shape[0]), "cols": int(log_odds.shape[1]), "stride": params["stride"]},
        }
        reporter.update(1.0, "Thresholding the heatmap")
        threshold = _otsu(heatmap, lambda: reporter.update(1.0, "Thresholding the heatmap"))
        return Analysis(heatmap=heatmap, score=score, threshold=threshold, mask=mask, extra_maps=extra_maps,
                        extra=extra, weights_sha256=dict(hashes), per_class=per_class)


def _class_maps(evidence: Evidence, log_odds: np.ndarray, params: Mapping[str, Any],
                reporter: ProgressReporter) -> tuple[dict[str, np.ndarray], dict[str, ClassMapSummary]]:
    """Each class's raw (upsampled) and bilateral-filtered map, and the filtered map's summary."""
    grids = probability_grids(log_odds)
    sigma_space = params["bilateral_sigma_space"]
    diameter = 2 * round(sigma_space) + 1
    extra_maps: dict[str, np.ndarray] = {}
    per_class: dict[str, ClassMapSummary] = {}
    steps = 2 * len(RESAMPLING_CLASSES)
    for index, name in enumerate(RESAMPLING_CLASSES):
        def tick(part: float, step: str, index: int = index, name: str = name) -> None:
            reporter.update((index + part) / steps, f"{step} the {name} map")

        tick(0.0, "Filtering")
        raw = _upsample(grids[name], evidence.height, evidence.width, params["stride"])
        filtered = call_while_checking(  # one OpenCV call of seconds on 20 MP
            lambda raw=raw: postprocess.bilateral_filter(raw, diameter, params["bilateral_sigma_color"], sigma_space),
            lambda: tick(0.0, "Filtering"))
        extra_maps[f"raw/{name}"], extra_maps[f"filtered/{name}"] = raw, filtered
        per_class[name] = _map_statistics(name, filtered, float(grids[name].mean()), tick)
    return extra_maps, per_class


def _segment(extra_maps: Mapping[str, np.ndarray], per_class: Mapping[str, ClassMapSummary], kept: Sequence[str],
             params: Mapping[str, Any], reporter: ProgressReporter) -> tuple[np.ndarray, dict[str, ClassMapSummary]]:
    """OR of the kept maps' segmentations (Random Walker or Otsu), and the summaries with their confidence."""
    first = extra_maps[f"filtered/{RESAMPLING_CLASSES[0]}"]
    mask = np.zeros(first.shape, dtype=bool)
    summaries = dict(per_class)
    for index, name in enumerate(kept):
        reporter.update(0.5 + 0.5 * index / max(len(kept), 1), f"Segmenting the {name} map")
        filtered, threshold = extra_maps[f"filtered/{name}"], per_class[name].otsu_threshold
        if params["use_random_walker"]:
            segment = postprocess.random_walker_segment(filtered, threshold, params["random_walker_beta"],
                                                        RANDOM_WALKER_SIDE)
        else:
            segment = filtered >= threshold
        summaries[name] = replace(per_class[name], confidence=_separation(filtered, segment))
        mask |= segment
    return mask, summaries


def _window_starts(cells: int, stride: int) -> list[int]:
    """First cells of GRID-long windows every ``stride`` cells, the last one ending on the last cell."""
    last = cells - GRID
    return sorted(set(range(0, last + 1, stride)) | {last})


@register_detector
class ResamplingLSTMDetector(Detector):
    """LSTM over 8x8-block windows of the resampling-feature map (Bunk et al. 2017, Section 3.3)."""

    id = "resampling-lstm"
    weights_keys = (LSTM_KEY,)
    display_name = "Resampling features + LSTM (Bunk et al. 2017)"
    reference = _REFERENCE + ", Section 3.3"
    version = "1.1"
    description = (
        "Radon-transform resampling features on an 8-pixel grid; an LSTM classifies every 64x64 patch "
        "(8x8 blocks, read along a Hilbert curve) as manipulated or not; overlapping patches vote.")
    limitations = (
        "It reads the same interpolation and JPEG-quality traces as 'resampling' and shares its blind "
        "spots: a region pasted without scaling, rotation or shearing, or a picture recompressed or "
        "resized as a whole after the edit.",
        "Each value is the vote of overlapping 64x64 patches, so outlines are blurred by up to a patch "
        "and regions much smaller than a patch are diluted.",
        "Regular texture and strong edges are known false positives.",
        "The shipped LSTM was trained briefly on synthetic patches on a CPU; its measured accuracy is in "
        "benchmarks/RESULTS.md.",
    )
    parameters = (
        Parameter("window_stride", int, 4, "Window stride (blocks)",
                  "Spacing of the classified 64x64 patches in 8-pixel blocks; smaller is finer and slower.", 1, GRID),
    )

    def build_model(self, states: Mapping[str, dict[str, torch.Tensor]]) -> ResamplingLSTM:
        """The LSTM patch classifier."""
        from forensics_core.models.resampling_lstm import ResamplingLSTM

        return ResamplingLSTM.from_state_dict(states[LSTM_KEY])

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Embed every cell, classify every window, average the windows' votes per cell."""
        import torch
        from torch import nn

        from forensics_core.features.resampling import grid_shape

        model, hashes = self.load_model(params)
        model.to(device).eval()
        rows, cols = grid_shape(evidence.height, evidence.width, FEATURE_STRIDE)
        with torch.no_grad(), single_threaded_cpu(device):
            strips = [model.embed_cells(features).view(stop - start, cols, -1)
                      for start, stop, features in _feature_grid(evidence, device, reporter.scaled(0.0, 0.6),
                                                                 FEATURE_STRIDE, "Resampling features")]
            embedded = torch.cat(strips).permute(2, 0, 1).unsqueeze(0)
            # Images under 8 blocks on a side: repeat the edge cells so one window fits.
            embedded = nn.functional.pad(embedded, (0, max(GRID - cols, 0), 0, max(GRID - rows, 0)),
                                         mode="replicate")[0].permute(1, 2, 0)
            votes, counts = self._vote(model, embedded, params["window_stride"], reporter.scaled(0.6, 1.0))
        cell_map = (votes / counts)[:rows, :cols]
        reporter.update(1.0, "Expanding the cell map")
        heatmap = _upsample(cell_map, evidence.height, evidence.width, FEATURE_STRIDE)
        reporter.update(1.0, "Thresholding the heatmap")
        threshold = _otsu(heatmap, lambda: reporter.update(1.0, "Thresholding the heatmap"))
        extra = {"cell_map_shape": [rows, cols], "window_stride_blocks": params["window_stride"],
                 "score": "largest per-cell mean window probability"}
        return Analysis(heatmap=heatmap, score=float(cell_map.max()), threshold=threshold, extra=extra,
                        weights_sha256=dict(hashes))

    @staticmethod
    def _vote(model: nn.Module, embedded: torch.Tensor, stride: int,
              reporter: ProgressReporter) -> tuple[np.ndarray, np.ndarray]:
        """Sum and count of window probabilities per cell of the (rows, cols, hidden) embedding."""
        import torch

        rows, cols = embedded.shape[:2]
        votes = np.zeros((rows, cols), dtype=np.float64)
        counts = np.zeros((rows, cols), dtype=np.float64)
        col_starts = _window_starts(cols, stride)
        row_starts = _window_starts(rows, stride)
        offsets = torch.arange(GRID, device=embedded.device)
        col_index = torch.tensor(col_starts, device=embedded.device)[:, None] + offsets
        for done, top in enumerate(row_starts):
            reporter.update(done / len(row_starts), "LSTM over 64x64 patches")
            band = embedded[top:top + GRID]                       # (8, cols, hidden)
            windows = band[:, col_index].permute(1, 0, 2, 3)      # (windows, 8, 8, hidden)
            logits = model.classify(windows.reshape(len(col_starts), GRID * GRID, -1))
            probability = torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
            for left, value in zip(col_starts, probability, strict=True):
                votes[top:top + GRID, left:left + GRID] += value
                counts[top:top + GRID, left:left + GRID] += 1.0
        return votes, counts
