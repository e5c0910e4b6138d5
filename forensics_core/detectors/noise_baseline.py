"""A pipeline-proving baseline: local noise-level inconsistency. Not one of the seed methods.

The residual of a 3x3 Laplacian is squared and averaged over a window; each pixel's local noise
variance is compared with the image's median level, and the absolute log-ratio, scaled to
[0, 1], is the heatmap. The image score is the heatmap's mean: the average departure from the
image's typical noise level (0 for uniform noise, growing with the area and strength of regions
whose noise differs). A high percentile would saturate at 1 on almost every photograph, because
texture alone moves the Laplacian residual by more than the saturation somewhere in any picture. Regions that were blurred, denoised or spliced from a photograph with a
different noise level stand out; everything else about manipulation is invisible to it.
Reference: noise-inconsistency analysis as in Mahdian & Saic, "Using noise inconsistencies for
blind image forensics", Image and Vision Computing 27(10), 2009 (simplified).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.evidence import Evidence

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch


def local_noise_inconsistency(grey: np.ndarray, window: int, saturation: float,
                              reporter: ProgressReporter | None = None) -> np.ndarray:
    """|log(local residual variance / median variance)| / ``saturation``, clipped to [0, 1].

    ``grey`` is HxW float32 in [0, 1]; ``window`` is the side of the averaging box in pixels.
    ``reporter`` (optional) is updated, and cancel checked, between the whole-image steps.
    """
    step = reporter.update if reporter is not None else (lambda *_args: None)
    residual = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    step(0.3, "Averaging the residual's energy")
    variance = cv2.boxFilter(residual * residual, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    step(0.5, "Median noise level")
    floor = 1e-8
    reference = max(float(np.median(variance)), floor)
    step(0.7, "Comparing each place with the median")
    ratio = np.abs(np.log((variance + floor) / reference))
    return np.clip(ratio / saturation, 0.0, 1.0).astype(np.float32)


@register_detector
class NoiseBaseline(Detector):
    """Local noise-level inconsistency (baseline, hand-crafted)."""

    id = "noise-baseline"
    display_name = "Noise inconsistency (baseline)"
    reference = "Baseline after Mahdian & Saic, Image and Vision Computing 27(10), 2009"
    version = "1.1"
    description = (
        "Pipeline baseline, not a seed method: flags regions whose local noise level differs "
        "from the image's median level. Score: mean departure over the image."
    )
    limitations = (
        "The Laplacian residual mixes noise with texture, so strongly textured or out-of-focus areas "
        "are flagged as readily as a spliced region.",
        "A region pasted from a photograph with the same noise level is invisible to it.",
        "Recompressing, denoising or resizing the whole picture after the edit evens out the noise "
        "levels it compares.",
    )
    needs_weights = False
    is_baseline = True
    parameters = (
        Parameter("window", int, 32, "Window (px)", "Side of the box over which noise is averaged.", 4, 256),
        Parameter("saturation", float, 2.0, "Saturation", "Log-ratio that maps to 1 in the heatmap.", 0.1, 10.0),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Compute the noise-inconsistency heatmap of the luminance."""
        reporter.update(0.05, "Luminance", force=True)
        grey = evidence.luminance()
        reporter.update(0.1, "Computing the noise residual", force=True)
        heatmap = local_noise_inconsistency(grey, params["window"], params["saturation"], reporter)
        reporter.update(0.9, "Scoring", force=True)
        score = float(heatmap.mean())
        return Analysis(heatmap=heatmap, score=score)
