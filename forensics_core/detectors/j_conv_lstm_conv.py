"""J-Conv-LSTM-Conv detector: joint patch classification and segmentation over a sliding window.

Reference: Bappy, Roy-Chowdhury, Bunk, Nataraj & Manjunath, "Exploiting Spatial Structure for
Localizing Manipulated Image Regions", ICCV 2017. The network
(:mod:`forensics_core.models.j_conv_lstm_conv`) labels a 64x64 patch and segments it. As in the
paper, the image is scanned by 64x64 windows (every ``stride`` pixels, the last row and column
flush with the border); each window's pixel map is smoothed by a Gaussian (``sigma``) and
multiplied by the window's probability of being manipulated, and overlapping windows are
averaged (:func:`~forensics_core.models.j_conv_lstm_conv.sliding_window_heatmap`). The image score
is the heatmap's 99th percentile, the default threshold 0.5. Without weights the detector refuses
to run: random weights are never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Parameter, ProgressReporter, SingleModelDetector
from forensics_core.evidence import Evidence
from forensics_core.models.sizes import J_CONV_LSTM_CONV_PATCH as PATCH_SIZE

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

#: Manifest key of the weights trained by the ``j-conv-lstm-conv`` recipe.
WEIGHTS_KEY = "j-conv-lstm-conv/model"
#: Percentile of the heatmap used as the image score.
SCORE_PERCENTILE = 99.0
#: Windows per batch: small on the CPU so that progress and cancel come well within a second.
BATCH_SIZE = {"cuda": 1024, "cpu": 8}


@register_detector
class JConvLSTMConvDetector(SingleModelDetector):
    """J-Conv-LSTM-Conv (Bappy et al., ICCV 2017) over a sliding window of 64x64 patches."""

    id = "j-conv-lstm-conv"
    weights_keys = (WEIGHTS_KEY,)
    display_name = "J-Conv-LSTM-Conv"
    reference = ("Bappy, Roy-Chowdhury, Bunk, Nataraj & Manjunath, Exploiting Spatial Structure for "
                 "Localizing Manipulated Image Regions, ICCV 2017")
    version = "1.0"
    description = (
        "Convolutions and a 3-layer LSTM over the 8x8 blocks of each 64x64 patch learn the boundary "
        "between manipulated and authentic pixels; the patch label times the smoothed patch mask, "
        "averaged over a sliding window, is the heatmap."
    )
    limitations = (
        "It sees 64x64 windows one at a time: a region larger than a window is found only through its "
        "boundary, and its interior can stay dark.",
        "It learned manipulation boundaries from synthetic forgeries; a carefully blended or feathered "
        "edge, or content unlike its training (text, graphics), may not be recognised.",
        "Recompressing or resizing the whole picture after the edit weakens the traces it relies on.",
        "Weights trained here come from a short run on synthetic forgeries (measured accuracy in "
        "benchmarks/RESULTS.md); without them it refuses to run.",
        "Its image score (the heatmap's 99th percentile) did not separate forged from authentic camera "
        "photographs in our tests (NoSo image AUC 0.44): read the map, not the score; strong edges and "
        "textures also light up.",
    )
    parameters = (
        Parameter("stride", int, 32, "Stride (px)",
                  "Distance between 64x64 windows; smaller is finer and slower (time ~ 1/stride^2).",
                  8, PATCH_SIZE),
        Parameter("sigma", float, 3.0, "Smoothing sigma (px)",
                  "Gaussian smoothing of each window's mask before it is weighted by the patch label "
                  "(0 = none).", 0.0, 16.0),
    )

    @property
    def model_class(self) -> type:
        """The network (imported on use: PyTorch loads when a run starts, not at listing)."""
        from forensics_core.models.j_conv_lstm_conv import JConvLSTMConv

        return JConvLSTMConv

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Sliding-window heatmap at full resolution; score = its 99th percentile."""
        import torch

        from forensics_core.models.j_conv_lstm_conv import sliding_window_heatmap

        model, hashes = self.load_model()
        model = model.to(device).eval()
        reporter.update(0.02, "Loaded J-Conv-LSTM-Conv", force=True)
        image = torch.from_numpy(evidence.rgb_float()).to(device).permute(2, 0, 1)

        def on_batch(fraction: float) -> None:
            reporter.update(0.02 + 0.98 * fraction, "Scanning 64x64 windows")

        heatmap = sliding_window_heatmap(model, image, params["stride"], params["sigma"],
                                         BATCH_SIZE.get(device.type, BATCH_SIZE["cpu"]), on_batch)
        heatmap_np = heatmap.cpu().numpy().astype(np.float32, copy=False)
        score = float(np.percentile(heatmap_np, SCORE_PERCENTILE))
        return Analysis(heatmap=heatmap_np, score=score, threshold=0.5,
                        extra={"stride": params["stride"], "sigma": params["sigma"],
                               "score_percentile": SCORE_PERCENTILE},
                        weights_sha256=hashes)
