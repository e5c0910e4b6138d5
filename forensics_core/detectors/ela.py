"""Error Level Analysis: how much each pixel changes when the picture is saved once more as a JPEG.

Method (N. Krawetz, "A picture's worth: digital image analysis and forensics", Black Hat
Briefings, 2007): the questioned image is re-saved as a JPEG at a known quality and the
absolute difference between the image and its re-saved copy is displayed, amplified. Once a
picture has been saved at some quality, saving it again at that quality changes it little
(its 8x8 blocks already sit near the quantisation lattice); a region pasted in afterwards, or
retouched, has not converged and shows a higher error level than comparable content around it.

Here the re-save quality defaults to the evidence's own estimated JPEG quality when it is a
JPEG (the setting that best separates converged from unconverged blocks), else 90; the per-pixel
error level is the mean absolute difference over the three colour channels, multiplied by
``scale`` and divided by 255 (``scale`` 20 maps a difference of about 13 grey levels to 1).

ELA is a visual aid, not a test: it has no model of what an untouched image looks like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import cv2
import numpy as np

from forensics_core.blocking_calls import call_while_checking
from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.evidence import Evidence
from forensics_core.features.jpeg import as_uint8_rgb, block_means, recompress

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Re-save quality used when the evidence is not a JPEG (or its quality cannot be estimated).
FALLBACK_QUALITY = 90


def resave_quality(evidence: Evidence, requested: int) -> int:
    """``requested`` when it is 1..100; for 0 ("auto") the evidence's estimated quality, else 90."""
    if requested > 0:
        return requested
    if evidence.jpeg is not None and evidence.jpeg.quality is not None:
        return int(round(evidence.jpeg.quality))
    return FALLBACK_QUALITY


def error_levels(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Mean absolute difference (grey levels, float32 HxW) between ``rgb`` and its JPEG re-save at ``quality``."""
    difference = cv2.absdiff(rgb, recompress(rgb, quality))
    return cv2.transform(difference.astype(np.float32), np.full((1, 3), 1.0 / 3.0, np.float32))


def error_level_contrast(levels: np.ndarray, block: int = 16) -> float:
    """How unevenly the error level is spread: ``(p99 - median) / (p99 + median + 1)`` of its 16-px block means.

    Error levels are in grey levels; the 1 keeps a picture whose typical block does not change at
    all on re-saving (median 0) from saturating at 1. 0 when every block has the same error level,
    towards 1 when a few blocks stand far above the rest. Edges and texture raise it as well, so it
    ranks images for a look, nothing more.
    """
    means = block_means(levels, block)
    high, typical = float(np.percentile(means, 99)), float(np.median(means))
    return (high - typical) / (high + typical + 1.0)


@register_detector
class ErrorLevelAnalysis(Detector):
    """Error Level Analysis (Krawetz 2007): amplified difference to a JPEG re-save."""

    id = "ela"
    display_name = "Error Level Analysis (ELA)"
    reference = "N. Krawetz, \"A picture's worth: digital image analysis and forensics\", Black Hat Briefings 2007"
    version = "1.0"
    description = (
        "What it shows: how much each pixel changes when the picture is re-saved as a JPEG "
        "(bright = changes more). A region pasted or retouched after the last save can stay "
        "brighter than similar content around it. A visual aid, not a test: compare like with like.")
    limitations = (
        "Edges, fine texture and saturated colours always show high error levels, whatever the picture's history.",
        "A picture re-saved as a whole after the edit (or saved at a lower quality than before) levels every "
        "region and becomes uninformative.",
        "A pasted region that was itself saved at the same quality and on the same 8x8 grid looks like the rest.",
        "The image score only says how uneven the error levels are; it does not separate forgeries from "
        "textured untouched photographs.",
    )
    needs_weights = False
    parameters = (
        Parameter("quality", int, 0, "Re-save quality",
                  "JPEG quality of the re-save; 0 = the evidence's estimated quality (90 if not a JPEG).", 0, 100),
        Parameter("scale", float, 20.0, "Amplification",
                  "The difference (grey levels) is multiplied by this and divided by 255.", 1.0, 255.0),
    )

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Re-save at the chosen quality and map the amplified absolute difference."""
        quality = resave_quality(evidence, params["quality"])
        reporter.update(0.1, f"Re-saving as JPEG at quality {quality}", force=True)
        rgb = as_uint8_rgb(evidence.pixels)
        levels = call_while_checking(  # one re-save and comparison: over a second at 20 MP
            lambda: error_levels(rgb, quality), lambda: reporter.update(0.1, f"Re-saving as JPEG at quality {quality}"))
        reporter.update(0.8, "Scaling the error levels", force=True)
        heatmap = np.clip(levels * np.float32(params["scale"] / 255.0), 0.0, 1.0)
        reporter.update(0.9, "Measuring how unevenly the error levels are spread")
        return Analysis(heatmap=heatmap, score=error_level_contrast(levels),
                        extra={"resave_quality": quality, "mean_error_level": float(levels.mean())})
