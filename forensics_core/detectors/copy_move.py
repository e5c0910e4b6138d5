"""Copy-move (clone) detector: keypoint and dense-field searches, verified and fused.

Two complementary searches propose affine transforms between two places of the picture:

- keypoints (:mod:`forensics_core.features.copy_move_keypoints`): SIFT, g2NN matching, clustering
  and RANSAC, after Amerini et al. (2011); strong on textured, rotated and scaled clones;
- dense field (:mod:`forensics_core.features.copy_move_dense`): Zernike moments, PatchMatch and
  dense linear fitting, after Cozzolino, Poggi and Verdoliva (2015); finds clones in smooth places
  where keypoints are scarce.

Every proposal is verified by correlation after warping (:mod:`forensics_core.features.
copy_move_regions`), which also rejects repeated patterns and, for resampling transforms, tells
the source from the copy. The heatmap is 1 on both regions of every verified pair; the extra maps
``source`` and ``target`` hold the directed pairs and ``pair`` the undirected ones; ``extra``
lists the pairs (:class:`~forensics_core.features.copy_move_regions.ClonePair`).

References
----------
I. Amerini, L. Ballan, R. Caldelli, A. Del Bimbo, G. Serra, IEEE TIFS 6(3), 2011.
D. Cozzolino, G. Poggi, L. Verdoliva, "Efficient dense-field copy-move forgery detection", IEEE
TIFS 10(11), 2015.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Mapping

import cv2
import numpy as np

from forensics_core.blocking_calls import call_while_checking
from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.evidence import Evidence
from forensics_core.features.copy_move_dense import dense_copy_move, dense_hypotheses
from forensics_core.features.copy_move_keypoints import (
    AffineHypothesis,
    affine_hypotheses,
    g2nn_matches,
    sift_features,
)
from forensics_core.features.copy_move_regions import ClonePair, VerifiedRegions, Verifier, describe_pair

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Heatmap value of the weakest verified pixel; the default threshold.
DETECTION_LEVEL = 0.5


def analysis_grey(pixels: np.ndarray, max_megapixels: float) -> tuple[np.ndarray, float]:
    """Grey levels (float32, 0..255) of ``pixels``, area-downscaled to at most ``max_megapixels``,
    and the scale factor (analysis size / evidence size, at most 1)."""
    height, width = pixels.shape[:2]
    scale = min(1.0, math.sqrt(max_megapixels * 1e6 / (height * width)))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if pixels.dtype == np.uint16:
        grey *= np.float32(255.0 / 65535.0)
    return grey, scale


def _scaled_hypothesis(hypothesis: AffineHypothesis, factor: float) -> AffineHypothesis:
    """``hypothesis`` in a frame ``factor`` times larger."""
    matrix = np.asarray(hypothesis.matrix, np.float64).copy()
    matrix[:, 2] *= factor
    return AffineHypothesis(matrix, hypothesis.source_points * factor, hypothesis.target_points * factor,
                            hypothesis.method)


def _explained(hypothesis: AffineHypothesis, covered: np.ndarray) -> bool:
    """True when most of the hypothesis' points on both sides already lie in verified regions."""
    height, width = covered.shape
    points = np.concatenate([hypothesis.source_points, hypothesis.target_points])
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, width - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, height - 1)
    return float(covered[ys, xs].mean()) > 0.6


def _duplicate(regions: VerifiedRegions, covered: np.ndarray) -> bool:
    """True when at least half of the newly verified regions were already verified."""
    both = regions.source | regions.target
    return float(covered[both].mean()) >= 0.5


def image_score(pairs: list[VerifiedRegions], pixels: int) -> float:
    """Evidence of cloning in [0, 1): grows with the verified area (as a fraction of the picture,
    saturating around 1 %) and with the regions' mean correlation; 0 without a verified pair."""
    if not pairs:
        return 0.0
    area = sum(int(p.source.sum() + p.target.sum()) for p in pairs) / pixels
    correlation = max(p.correlation for p in pairs)
    return float((1.0 - math.exp(-area / 0.005)) * min(max(correlation, 0.0), 1.0))


@register_detector
class CopyMoveDetector(Detector):
    """Copy-move detection with matched, verified pairs of regions (hand-crafted)."""

    id = "copy-move"
    display_name = "Copy-move (clones)"
    reference = ("Amerini et al., IEEE TIFS 6(3), 2011 (SIFT, g2NN); Cozzolino, Poggi & Verdoliva, "
                 "IEEE TIFS 10(11), 2015 (dense field)")
    version = "1.0"
    score_definition = "verified clone evidence: verified area and correlation of the matched regions"
    calibrated_threshold = False
    description = (
        "Finds regions of the picture that were copied to another place in it (possibly rotated, "
        "scaled or mirrored) and shows which region matches which."
    )
    limitations = (
        "It only sees content duplicated within this picture; material pasted from another photograph is invisible to it.",
        "Perfectly flat areas (clipped sky, blank walls) carry no detail to match and are never reported.",
        "Strong re-compression, blurring or noise added after cloning weakens the fine detail that verification relies on, and small clones may then be missed.",
        "Genuinely repeated objects (identical products on a shelf, printed patterns) can be reported as clones when their copies agree in fine detail.",
        "The source and the copy are told apart only for rotated or scaled clones; otherwise both regions are reported as a pair.",
    )
    needs_weights = False
    #: Working set per pixel of the analysis-size picture (searches and verification): measured about
    #: 230 bytes on smooth pictures (benchmarks/bench_memory_budget.py --megapixels); on strongly
    #: textured ones (many keypoints) a fresh process grew by 529-726 MB at 1.2 MP from run to run
    #: (the probe of tests/test_hostile_detectors.py), about 390 bytes per pixel beyond the fixed
    #: part at the top: declared with a margin over that.
    working_bytes_per_analysis_pixel = 400.0
    #: Working set per pixel of the evidence (full-size maps): measured about 17 bytes above the
    #: analysis size, declared with a margin.
    working_bytes_per_pixel = 24.0
    parameters = (
        Parameter("correlation", float, 0.55, "Correlation threshold",
                  "Local correlation of fine detail above which a pixel agrees with its counterpart.", 0.2, 0.95),
        Parameter("pair_correlation", float, 0.65, "Pair correlation",
                  "Smallest mean correlation over both regions of a reported pair.", 0.2, 0.99),
        Parameter("min_area", int, 300, "Smallest region (px)",
                  "Verified regions smaller than this (in evidence pixels) are ignored.", 16, 1_000_000),
        Parameter("keypoints", bool, True, "Keypoint search", "SIFT matching (Amerini et al. 2011)."),
        Parameter("dense", bool, True, "Dense search",
                  "Zernike moments and PatchMatch (Cozzolino et al. 2015), for smooth regions."),
        Parameter("g2nn_ratio", float, 0.5, "g2NN ratio", "Threshold of the generalised 2NN test.", 0.1, 0.9),
        Parameter("analysis_megapixels", float, 3.0, "Analysis size (MP)",
                  "Larger pictures are downscaled to this size for the keypoint search and verification.",
                  0.2, 50.0),
        Parameter("dense_megapixels", float, 0.35, "Dense search size (MP)",
                  "Size at which the dense field is computed.", 0.1, 10.0),
    )

    def estimate_peak_bytes(self, evidence: Evidence, params: Mapping[str, Any]) -> int:
        """The searches and verification work on the picture downscaled to ``analysis_megapixels``;
        only the final maps have the evidence's size."""
        values = self.validate_params(params)
        pixels = evidence.width * evidence.height
        analysed = min(pixels, values["analysis_megapixels"] * 1e6)
        return int(self.working_bytes_per_analysis_pixel * analysed + self.working_bytes_per_pixel * pixels
                   + self.working_bytes_fixed)

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Search, verify and map the clones of ``evidence``."""
        reporter.update(0.02, "Preparing the picture", force=True)
        grey, scale = analysis_grey(evidence.pixels, params["analysis_megapixels"])
        height, width = grey.shape
        min_area = max(16, int(params["min_area"] * scale * scale))
        verifier = Verifier(grey, params["correlation"], min_area, params["pair_correlation"])
        hypotheses: list[AffineHypothesis] = []
        if params["keypoints"]:
            reporter.update(0.05, "SIFT keypoints", force=True)
            hypotheses += self._keypoint_hypotheses(grey, params["g2nn_ratio"],
                                                    lambda: reporter.update(0.05, "SIFT keypoints"))
        dense_consistency = np.zeros((height, width), np.float32)
        if params["dense"]:
            reporter.update(0.3, "Dense field (Zernike moments, PatchMatch)", force=True)
            dense, consistency = self._dense_hypotheses(grey, params["dense_megapixels"], min_area,
                                                        reporter.scaled(0.3, 0.7))
            hypotheses += dense
            dense_consistency = cv2.resize(consistency, (width, height), interpolation=cv2.INTER_LINEAR)
        verified = self._verify_all(verifier, hypotheses, reporter.scaled(0.7, 0.95))
        reporter.update(0.95, "Mapping the pairs", force=True)
        return self._analysis(evidence, verified, dense_consistency, scale,
                              lambda: reporter.update(0.97, "Mapping the pairs"))

    # ---- searches ---------------------------------------------------------------------------
    @staticmethod
    def _keypoint_hypotheses(grey: np.ndarray, ratio: float, tick: Callable[[], object]) -> list[AffineHypothesis]:
        """Affine hypotheses from SIFT matches (Amerini et al. 2011); ``tick()`` at least every second."""
        height, width = grey.shape
        diagonal = math.hypot(height, width)
        grey_8bit = np.clip(grey, 0, 255).astype(np.uint8)
        points, descriptors = call_while_checking(  # one OpenCV call of a few seconds on 3 MP
            lambda: sift_features(grey_8bit, max_keypoints=12000, contrast_threshold=0.02), tick)
        tick()
        pairs = g2nn_matches(points, descriptors, ratio=ratio, neighbours=10, min_distance=max(10.0, 0.01 * diagonal))
        tick()
        return affine_hypotheses(points, pairs, linkage_distance=max(30.0, 0.04 * diagonal),
                                 ransac_threshold=max(3.0, 0.003 * diagonal), min_inliers=4)

    @staticmethod
    def _dense_hypotheses(grey: np.ndarray, megapixels: float, min_area: int, reporter: ProgressReporter
                          ) -> tuple[list[AffineHypothesis], np.ndarray]:
        """Affine hypotheses from the dense field (Cozzolino et al. 2015), in the analysis frame,
        and the field's consistency map at the dense size."""
        height, width = grey.shape
        factor = min(1.0, math.sqrt(megapixels * 1e6 / (height * width)))
        small = grey if factor == 1.0 else cv2.resize(grey, (round(width * factor), round(height * factor)),
                                                      interpolation=cv2.INTER_AREA)
        rng = np.random.default_rng(0)  # PatchMatch is randomised; a fixed seed makes runs repeatable
        field = dense_copy_move(small, block_radius=8, min_offset=16.0, fit_radius=4, error_threshold=4.0,
                                min_area=max(64, int(min_area * factor * factor)), min_texture=1.0,
                                iterations=(1, 6), rng=rng, tick=lambda f: reporter.update(f, "PatchMatch"))
        hypotheses = [_scaled_hypothesis(h, 1.0 / factor) for h in dense_hypotheses(field, rng)]
        return hypotheses, field.consistency

    @staticmethod
    def _verify_all(verifier: Verifier, hypotheses: list[AffineHypothesis], reporter: ProgressReporter
                    ) -> list[VerifiedRegions]:
        """Verify the hypotheses, best supported first, skipping those already explained."""
        covered = np.zeros(verifier.shape, bool)
        verified = []
        ordered = sorted(hypotheses, key=lambda h: (h.method != "keypoints", -h.matches))
        for index, hypothesis in enumerate(ordered):
            reporter.update(index / max(len(ordered), 1), f"Verifying candidate {index + 1} of {len(ordered)}")
            if _explained(hypothesis, covered):
                continue
            regions = verifier.verify(hypothesis)
            if regions is not None and not _duplicate(regions, covered):
                verified.append(regions)
                covered |= regions.source | regions.target
        return verified

    # ---- result -----------------------------------------------------------------------------
    @staticmethod
    def _analysis(evidence: Evidence, verified: list[VerifiedRegions], dense_consistency: np.ndarray,
                  scale: float, tick: Callable[[], object]) -> Analysis:
        """Heatmap, extra maps and the list of pairs at the evidence's size; ``tick()`` between the
        whole-picture steps."""
        shape = dense_consistency.shape
        # Outside verified regions the heatmap ranks places by the dense field's consistency alone,
        # kept below the detection level.
        heatmap = (DETECTION_LEVEL * 0.9) * dense_consistency
        directed_source = np.zeros(shape, bool)
        directed_target = np.zeros(shape, bool)
        undirected = np.zeros(shape, bool)
        for regions in verified:
            both = regions.source | regions.target
            strength = np.clip(regions.correlation_map, 0.0, 1.0)
            heatmap = np.where(both, np.maximum(heatmap, DETECTION_LEVEL + (1.0 - DETECTION_LEVEL) * strength), heatmap)
            if regions.directed:
                directed_source |= regions.source
                directed_target |= regions.target
            else:
                undirected |= both
        size = (evidence.width, evidence.height)

        def full(mask: np.ndarray) -> np.ndarray:
            return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(np.float32)

        extra_maps = {}
        if directed_source.any():
            extra_maps["source"] = full(directed_source)
            extra_maps["target"] = full(directed_target)
        if undirected.any():
            extra_maps["pair"] = full(undirected)
        tick()
        full_heatmap = cv2.resize(heatmap.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        tick()
        detected = full(directed_source | directed_target | undirected) > 0
        tick()
        # Bilinear upscaling must not push a detected pixel below the level nor lift others above it.
        full_heatmap = np.where(detected, np.maximum(full_heatmap, DETECTION_LEVEL),
                                np.minimum(full_heatmap, DETECTION_LEVEL * 0.99)).astype(np.float32)
        pairs: list[ClonePair] = [describe_pair(r, scale) for r in verified]
        return Analysis(
            heatmap=full_heatmap,
            score=image_score(verified, shape[0] * shape[1]),
            threshold=DETECTION_LEVEL,
            mask=detected,
            extra_maps=extra_maps,
            extra={"pairs": [p.to_dict() for p in pairs], "analysis_scale": scale},
        )
