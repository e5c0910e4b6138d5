"""LSTM-EnDec detector: resampling features + LSTM fused with an encoder-decoder, per pixel.

Reference: Bappy et al., "Hybrid LSTM and Encoder-Decoder Architecture for Detection of Image
Forgeries", IEEE TIP 28(7), 2019. The network (:mod:`forensics_core.models.lstm_endec`) sees a
256x256 image. Two ways to apply it to a photograph of any size (parameter ``mode``):

* ``resize`` (the paper): the whole image is resized to 256x256 (area averaging when shrinking,
  bilinear when enlarging), and the manipulated-class probability is resized back to full
  resolution (bilinear). Fast (one network run), but shrinking a 1024x768 photo 4x
  averages away the periodic resampling traces the LSTM branch is built to see.
* ``tiled``: 256x256 windows of the full-resolution image every ``tile_stride`` pixels (the last
  row and column flush with the border; images smaller than a window are mirrored up to its
  size); the probabilities of overlapping windows are averaged. Resampling traces are kept, at
  about (H / stride) x (W / stride) network runs.

The heatmap is the softmax probability of "manipulated", the default threshold its decision
point 0.5, and the image score the heatmap's 99th percentile. Without weights the detector
refuses to run: random weights are never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import cv2
import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Parameter, ProgressReporter, SingleModelDetector
from forensics_core.evidence import Evidence
from forensics_core.models.sizes import LSTM_ENDEC_INPUT as INPUT_SIZE

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

    from forensics_core.models.lstm_endec import LSTMEnDec

#: Manifest key of the weights trained by the ``lstm-endec`` recipe.
WEIGHTS_KEY = "lstm-endec/model"
#: Percentile of the heatmap used as the image score.
SCORE_PERCENTILE = 99.0


def _prepare(model: LSTMEnDec, device: torch.device) -> LSTMEnDec:
    """The model on ``device`` in eval mode, channels-last (a faster memory layout for its convolutions)."""
    import torch

    return model.to(device=device, memory_format=torch.channels_last).eval()


def predict_windows(model: LSTMEnDec, windows: np.ndarray, device: torch.device,
                    tick: Callable[[], object] | None = None) -> np.ndarray:
    """Probability of "manipulated" (Nx256x256) of N 256x256x3 float32 windows in [0, 1]; ``tick()``
    before and after every layer (a forward pass takes over a second on the CPU)."""
    import torch

    from forensics_core.models.layer_ticks import tick_after_every_layer

    with torch.inference_mode(), tick_after_every_layer(model, tick):
        batch = torch.from_numpy(np.ascontiguousarray(windows)).to(device).permute(0, 3, 1, 2)
        logits = model(batch.contiguous(memory_format=torch.channels_last))
        return torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()


def predict_resized(model: LSTMEnDec, rgb: np.ndarray, device: torch.device,
                    tick: Callable[[], object] | None = None) -> np.ndarray:
    """The paper's inference: whole image resized to 256x256, probability resized back (HxW)."""
    height, width = rgb.shape[:2]
    shrink = height >= INPUT_SIZE and width >= INPUT_SIZE
    small = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    probability = predict_windows(model, small[None], device, tick)[0]
    return cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)


def predict_tiled(model: LSTMEnDec, rgb: np.ndarray, device: torch.device, stride: int, batch_size: int,
                  on_batch: Callable[[float], None] | None = None) -> np.ndarray:
    """Full-resolution inference: mean probability of the 256x256 windows covering each pixel."""
    from forensics_core.models.j_conv_lstm_conv import window_starts

    height, width = rgb.shape[:2]
    pad_h, pad_w = max(INPUT_SIZE - height, 0), max(INPUT_SIZE - width, 0)
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    full_h, full_w = rgb.shape[:2]
    positions = [(y, x) for y in window_starts(full_h, INPUT_SIZE, stride)
                 for x in window_starts(full_w, INPUT_SIZE, stride)]
    total = np.zeros((full_h, full_w), np.float32)
    count = np.zeros((full_h, full_w), np.float32)
    for first in range(0, len(positions), batch_size):
        chunk = positions[first:first + batch_size]
        windows = np.stack([rgb[y:y + INPUT_SIZE, x:x + INPUT_SIZE] for y, x in chunk])
        for (y, x), probability in zip(chunk, predict_windows(model, windows, device)):
            total[y:y + INPUT_SIZE, x:x + INPUT_SIZE] += probability
            count[y:y + INPUT_SIZE, x:x + INPUT_SIZE] += 1.0
        if on_batch is not None:
            on_batch((first + len(chunk)) / len(positions))
    return (total / count)[:height, :width]


@register_detector
class LSTMEnDecDetector(SingleModelDetector):
    """LSTM-EnDec (Bappy et al., TIP 2019), whole-image (resize) or full-resolution (tiled)."""

    id = "lstm-endec"
    weights_keys = (WEIGHTS_KEY,)
    display_name = "LSTM-EnDec"
    reference = ("Bappy, Simons, Nataraj, Manjunath & Roy-Chowdhury, Hybrid LSTM and Encoder-Decoder "
                 "Architecture for Detection of Image Forgeries, IEEE TIP 28(7), 2019")
    version = "1.0"
    description = (
        "Resampling features of 32x32 patches read along a Hilbert curve by an LSTM, fused with a "
        "convolutional encoder-decoder; segments manipulated regions of a 256x256 view of the image "
        "(resize) or of full-resolution 256x256 windows (tiled, keeps resampling traces)."
    )
    limitations = (
        "In the default 'resize' mode the whole picture is shrunk to 256x256: the resampling traces its "
        "LSTM branch looks for are averaged away, and regions smaller than a few percent of the frame "
        "are lost.",
        "It learned what manipulation looks like from the synthetic splices, copy-moves, removals and "
        "enhancements it was trained on; content unlike that training (text, graphics, screenshots, very "
        "dark or saturated areas) gives unpredictable answers.",
        "Recompressing or resizing the whole picture after the edit weakens the traces it relies on.",
        "The shipped weights come from a short CPU training run; their measured accuracy is in "
        "benchmarks/RESULTS.md.",
    )
    parameters = (
        Parameter("mode", str, "resize", "Mode",
                  "resize: whole image to 256x256 as in the paper (fast, loses resampling traces); "
                  "tiled: overlapping 256x256 windows at full resolution.", choices=("resize", "tiled")),
        Parameter("tile_stride", int, 192, "Tile stride (px)",
                  "Tiled mode: distance between windows (256 = no overlap).", 32, INPUT_SIZE),
    )

    @property
    def model_class(self) -> type:
        """The network (imported on use: PyTorch loads when a run starts, not at listing)."""
        from forensics_core.models.lstm_endec import LSTMEnDec

        return LSTMEnDec

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Heatmap = probability of "manipulated" at full resolution; score = its 99th percentile."""
        model, hashes = self.load_model()
        model = _prepare(model, device)
        reporter.update(0.05, "Loaded LSTM-EnDec", force=True)
        rgb = evidence.rgb_float()
        if params["mode"] == "resize":
            reporter.update(0.1, "Running LSTM-EnDec on the image resized to 256x256", force=True)
            heatmap = predict_resized(model, rgb, device, lambda: reporter.update(
                0.5, "Running LSTM-EnDec on the image resized to 256x256"))
        else:
            def on_batch(fraction: float) -> None:
                reporter.update(0.05 + 0.95 * fraction, "Running LSTM-EnDec on 256x256 windows")

            # One window per CPU batch keeps progress (and cancel) under a second between updates.
            batch_size = 32 if device.type == "cuda" else 1
            heatmap = predict_tiled(model, rgb, device, params["tile_stride"], batch_size, on_batch)
        reporter.update(0.97, "Scoring the probability map")
        extra: dict[str, Any] = {"mode": params["mode"], "score_percentile": SCORE_PERCENTILE}
        if params["mode"] == "resize":
            extra["downscale_factors"] = [evidence.height / INPUT_SIZE, evidence.width / INPUT_SIZE]
        score = float(np.percentile(heatmap, SCORE_PERCENTILE))
        return Analysis(heatmap=heatmap.astype(np.float32, copy=False), score=score, threshold=0.5,
                        extra=extra, weights_sha256=hashes)
