"""SRM-CNN: residual co-occurrence descriptor recast as a CNN, run as a sliding-window classifier.

Cozzolino, Poggi and Verdoliva, "Recasting residual-based local descriptors as convolutional neural
networks: an application to image forgery detection", ACM IH&MMSec 2017. The network
(:class:`~forensics_core.models.srm_cnn.SRMNet`, weights ``srm-cnn/general`` trained by the
``srm-cnn`` recipe) classifies square windows of the green channel as manipulated or pristine. It
runs fully convolutionally at full resolution: every residual tuple is quantised once and the
window scores are box filters of the per-tuple classifier contributions. The map of window
probabilities, one per window centre, is interpolated bilinearly to every pixel (edge values held
outside the outermost centres).

On the CPU the network runs on one intra-op thread: its many small operations (a few thousand per
image) each open a parallel region, and when the cores are busy with other work every region
waits for a descheduled thread, which made a heatmap many times slower on a busy two-core machine
(``benchmarks/bench_srm_cnn.py`` times it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.device import single_threaded_cpu
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.features.srm import MIN_SIDE
from forensics_core.features.windows import upsample_window_map

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from forensics_core.models.srm_cnn import SRMNet

#: Weights of the general manipulated-vs-pristine model.
WEIGHTS_KEY = "srm-cnn/general"
#: Percentile of the window probabilities reported as the image score.
SCORE_PERCENTILE = 99.0


@register_detector
class SRMCNNDetector(Detector):
    """Sliding-window SRM-CNN classifier of manipulated vs pristine windows."""

    id = "srm-cnn"
    weights_keys = (WEIGHTS_KEY,)
    #: Measured 76 to 111 bytes a pixel (benchmarks/bench_memory_budget.py); declared with a margin.
    working_bytes_per_pixel = 160.0
    display_name = "SRM-CNN (residual co-occurrences)"
    reference = ("D. Cozzolino, G. Poggi and L. Verdoliva, \"Recasting residual-based local descriptors as "
                 "convolutional neural networks: an application to image forgery detection\", ACM IH&MMSec 2017")
    version = "1.0"
    description = (
        "Co-occurrences of quantised high-pass residuals of the green channel, computed by a CNN that "
        "was initialised with the hand-crafted descriptor and fine-tuned; windows that look processed "
        "(filtered, resampled, recompressed, noised) score high."
    )
    limitations = (
        "It classifies whole windows (128 px by default, one value every 16 px), so outlines are coarse "
        "and a region much smaller than a window is diluted.",
        "It responds to any processing of the residual noise (filtering, added noise, resampling, "
        "recompression): a picture processed as a whole scores high everywhere and cannot point at a "
        "region.",
        "It reads only the green channel's high-pass residuals; a splice from a camera with similar "
        "noise and processing is invisible to it.",
        "Smooth, saturated or very dark areas have weak residuals and are known false positives.",
    )
    parameters = (
        Parameter("window", int, 128, "Window (px)", "Side of the square window classified at once.", 16, 512),
        Parameter("stride", int, 16, "Stride (px)", "Step between windows; smaller is finer and slower.", 4, 128),
    )

    def build_model(self, states: Mapping[str, dict[str, torch.Tensor]]) -> SRMNet:
        """The general model, loaded from ``srm-cnn/general``."""
        from forensics_core.models.srm_cnn import SRMNet  # torch: imported when a run starts, not at start-up

        model = SRMNet()
        model.load_state_dict(states[WEIGHTS_KEY])
        return model

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Window probabilities of the green channel, interpolated to a full-resolution heatmap."""
        import torch

        if min(evidence.height, evidence.width) < MIN_SIDE:
            raise ForensicsError(f"SRM-CNN needs an image of at least {MIN_SIDE}x{MIN_SIDE} pixels.")
        reporter.update(0.02, "Loading SRM-CNN", force=True)
        model, hashes = self.load_model(params)
        model = model.to(device).eval()
        window = min(params["window"], evidence.height, evidence.width)
        stride = params["stride"]
        green = torch.from_numpy(evidence.channel_float(1)).to(device)
        with torch.no_grad(), single_threaded_cpu(device):
            logits = model.window_logits(green[None, None], window, stride,
                                         progress=lambda f: reporter.update(0.05 + 0.85 * f, "Classifying windows"))
        scores = torch.sigmoid(logits).cpu().numpy()
        reporter.update(0.92, "Interpolating the heatmap", force=True)
        heatmap = upsample_window_map(scores, window, stride, evidence.height, evidence.width)
        return Analysis(
            heatmap=heatmap,
            score=float(np.percentile(scores, SCORE_PERCENTILE)),
            threshold=0.5,
            extra={"window": window, "stride": stride, "windows": int(scores.size),
                   "max_window_probability": float(scores.max())},
            weights_sha256=hashes,
        )
