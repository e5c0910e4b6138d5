"""ManTra-Net: manipulation-trace features and a local anomaly detection network.

Reference: Y. Wu, W. AbdAlmageed and P. Natarajan, "ManTra-Net: Manipulation Tracing Network
for Detection and Localization of Image Forgeries With Anomalous Features", CVPR 2019.
Layer by layer this follows the authors' released Keras model "Ptrain4"
(https://github.com/ISICV/ManTraNet), so that their weights can be imported
(:mod:`forensics_core.models.mantranet_keras_import`):

* :class:`FeatureExtractor` ("Featex", IMC-VGG-W&D): a combined 5x5 first layer (4 plain
  filters, 9 fixed SRM filters, 3 Bayar-constrained filters, no bias, ReLU), then 3x3
  convolutions with bias and ReLU (32; 64, 64; 128 x3; 256 x3; 256 x2), a 3x3 "transform"
  convolution without activation and L2 normalisation over channels. Every convolution pads
  symmetrically (numpy/TF ``'symmetric'``: the mirror includes the edge pixel). No down-sampling.
* :class:`AnomalyDetector` (the local anomaly detection network, LADN): 1x1 convolution
  256->64 without bias (unit-norm kernels), batch norm without scale and centre (epsilon 1e-3),
  :class:`ZPool2D` deviations for windows 7, 15, 31 and the whole image (the paper's Eq. 5)
  stacked as four time steps in the released model's order 7, 15, 31, global, a
  :class:`ConvLSTM2D` (8 filters, 7x7, Keras ``hard_sigmoid``, gates i, f, c, o) and a 7x7
  convolution to one logit per pixel.

The model takes RGB in [0, 1] (scaled to [-1, 1] inside, as the released model expects) and
returns logits; the heatmap is their sigmoid. Parameters: 3,805,078 counted as Keras counts them
(batch-norm moving statistics included), 3,675,181 of them in the feature extractor.

Choices the paper and the release leave open, made here for training from scratch: ReLU
convolutions start from He-normal weights, Bayar kernels from positive uniform values before
projection (a random kernel whose weights sum to almost zero would explode when projected), the
ConvLSTM forget-gate bias from 1 (Keras's ``unit_forget_bias``), the global-std floor's learnable
part from 1e-5, and batch norm uses PyTorch's momentum 0.1 (our runs are short).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from forensics_core.models.sizes import MANTRANET_FEATEX_LAYERS, MANTRANET_FEATURE_RADIUS

#: Width of the plain 3x3 convolutions after the first layer, with the released model's names.
FEATEX_LAYERS = MANTRANET_FEATEX_LAYERS
FEATURE_CHANNELS = 256
ANOMALY_CHANNELS = 64
ZPOOL_WINDOWS: tuple[int, ...] = (7, 15, 31)
LSTM_FILTERS = 8
LSTM_KERNEL = 7
BAYAR_EPSILON = 1e-7  # Keras K.epsilon(), used by the authors' Bayar constraint
STD_FLOOR = 1e-6  # the released GlobalStd2D: max(std, 1e-5 / 10) + learnable value


# ---- building blocks -----------------------------------------------------------------------

def symmetric_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Pad the last two axes by ``pad``, mirroring with the edge pixel (numpy ``'symmetric'``).

    One pixel of symmetric padding repeats the edge pixel, which is PyTorch's ``'replicate'``
    mode (one native kernel); wider pads gather rows and columns by the index that
    ``np.pad(np.arange(n), pad, mode='symmetric')`` gives, which is exact for any size.
    """
    if pad == 0:
        return x
    if pad == 1:
        return F.pad(x, (1, 1, 1, 1), mode="replicate")
    height, width = x.shape[-2:]
    rows = torch.from_numpy(np.pad(np.arange(height), pad, mode="symmetric")).to(x.device)
    cols = torch.from_numpy(np.pad(np.arange(width), pad, mode="symmetric")).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def srm_kernels(in_channels: int = 3) -> torch.Tensor:
    """The 9 fixed SRM filters of the first layer, shape (9, in_channels, 5, 5).

    Kernel 1 (3x3 second order, /4, centred), kernel 2 (5x5 "KV", /12) and kernel 3 (horizontal
    [1, -2, 1]/2), each applied to R, G and B alone, in that order (seed notes).
    """
    k1 = np.zeros((5, 5), np.float32)
    k1[1:-1, 1:-1] = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4.0
    k2 = np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2],
                   [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]], np.float32) / 12.0
    k3 = np.zeros((5, 5), np.float32)
    k3[2, 1:-1] = np.array([1, -2, 1], np.float32) / 2.0
    kernels = np.zeros((9, in_channels, 5, 5), np.float32)
    for index, kernel in enumerate((k1, k2, k3)):
        for channel in range(3):
            kernels[3 * index + channel, channel] = kernel
    return torch.from_numpy(kernels)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras's ``hard_sigmoid``: clip(0.2 x + 0.5, 0, 1) (PyTorch's Hardsigmoid uses x/6)."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def l2_normalise(x: torch.Tensor) -> torch.Tensor:
    """TF's ``l2_normalize`` over channels: x / sqrt(max(sum x^2, 1e-12))."""
    return x * torch.rsqrt(torch.clamp((x * x).sum(dim=1, keepdim=True), min=1e-12))


def _box_sum(x: torch.Tensor, radius: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sums of ``x`` over ``[i - radius, i + radius]`` along ``dim`` clipped to the valid range,
    by one cumulative sum (cost independent of ``radius``), and the number of valid terms."""
    n = x.shape[dim]
    cumulative = torch.cumsum(x, dim)
    cumulative = torch.cat([torch.zeros_like(cumulative.narrow(dim, 0, 1)), cumulative], dim)
    index = torch.arange(n, device=x.device)
    high = torch.clamp(index + radius + 1, max=n)
    low = torch.clamp(index - radius, min=0)
    sums = cumulative.index_select(dim, high) - cumulative.index_select(dim, low)
    return sums, (high - low).to(x.dtype)


def window_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean of ``x`` (B, C, H, W) over a ``size`` x ``size`` window centred on every pixel,
    counting only pixels inside the image (as the released model's integral-image pooling and
    ``avg_pool2d(count_include_pad=False)`` do). Separable cumulative sums: the cost does not
    grow with ``size``."""
    radius = size // 2
    rows, row_counts = _box_sum(x, radius, -2)
    sums, col_counts = _box_sum(rows, radius, -1)
    return sums / (row_counts[:, None] * col_counts[None, :])


# ---- feature extractor ---------------------------------------------------------------------

class CombinedConv2D(nn.Module):
    """The 5x5 first layer: plain, fixed SRM and Bayar-constrained filters, no bias, ReLU.

    Output channels in the released order: ``regular`` plain filters, 9 SRM filters, 3 Bayar
    filters (16 with the default 4 plain ones). The SRM kernels are a non-persistent buffer:
    fixed, never trained, not in the weights file.
    """

    def __init__(self, in_channels: int = 3, regular: int = 4, bayar: int = 3, kernel_size: int = 5) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.regular_kernel = nn.Parameter(torch.empty(regular, in_channels, kernel_size, kernel_size))
        self.bayar_kernel = nn.Parameter(torch.empty(bayar, in_channels, kernel_size, kernel_size))
        self.register_buffer("srm_kernel", srm_kernels(in_channels), persistent=False)
        nn.init.kaiming_normal_(self.regular_kernel, nonlinearity="relu")
        nn.init.uniform_(self.bayar_kernel, 0.0, 1.0)
        self.project_bayar_()

    @property
    def out_channels(self) -> int:
        """Number of output channels (plain + SRM + Bayar)."""
        return self.regular_kernel.shape[0] + self.srm_kernel.shape[0] + self.bayar_kernel.shape[0]

    @torch.no_grad()
    def project_bayar_(self) -> None:
        """Re-project the Bayar kernels onto their constraint, in place (Bayar & Stamm 2016).

        As the authors' Keras constraint: per (output, input) pair, zero the centre, divide by
        the spatial sum (+1e-7), set the centre to -1; the other weights then sum to 1.
        """
        centre = self.kernel_size // 2
        kernel = self.bayar_kernel
        kernel[:, :, centre, centre] = 0.0
        kernel.div_(kernel.sum(dim=(2, 3), keepdim=True) + BAYAR_EPSILON)
        kernel[:, :, centre, centre] = -1.0

    def kernel(self) -> torch.Tensor:
        """The combined (out, in, k, k) kernel."""
        srm = self.srm_kernel.to(self.regular_kernel.dtype)
        return torch.cat([self.regular_kernel, srm, self.bayar_kernel], dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ReLU of the combined convolution of the symmetrically padded input."""
        return F.relu(F.conv2d(symmetric_pad(x, self.kernel_size // 2), self.kernel()), inplace=True)


class FeatureExtractor(nn.Module):
    """Manipulation-trace feature extractor (IMC-VGG-W&D), full resolution, 256 unit-length
    features per pixel. Takes RGB in [0, 1]."""

    #: Pixels on each side that influence one output pixel (2 for the 5x5 layer, 1 per 3x3).
    receptive_radius = MANTRANET_FEATURE_RADIUS

    def __init__(self) -> None:
        super().__init__()
        self.b1c1 = CombinedConv2D()
        channels = self.b1c1.out_channels
        self.layer_names = tuple(name for name, _ in FEATEX_LAYERS) + ("transform",)
        for name, width in FEATEX_LAYERS + (("transform", FEATURE_CHANNELS),):
            conv = nn.Conv2d(channels, width, 3)
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            setattr(self, name, conv)
            channels = width

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 256, H, W) float32 L2-normalised features."""
        x = self.b1c1(rgb * 2.0 - 1.0)
        for name in self.layer_names[:-1]:
            x = F.relu(getattr(self, name)(symmetric_pad(x, 1)), inplace=True)
        x = self.transform(symmetric_pad(x, 1))
        return l2_normalise(x.float())


# ---- local anomaly detection network -------------------------------------------------------

class ZPool2D(nn.Module):
    """Standardised deviations of each feature from its local and global means (paper Eq. 5).

    For windows 7, 15, 31 (means over valid pixels only) and then the whole image:
    ``|(mean - x) / sigma|``, stacked along a time axis in that order (the released model's).
    ``sigma`` is the per-channel population standard deviation over the image, floored at 1e-6,
    plus a learnable non-negative per-channel value (the released ``glbStd`` layer).
    """

    def __init__(self, channels: int = ANOMALY_CHANNELS, windows: Sequence[int] = ZPOOL_WINDOWS) -> None:
        super().__init__()
        self.windows = tuple(windows)
        self.min_std = nn.Parameter(torch.full((channels,), 1e-5))

    @property
    def receptive_radius(self) -> int:
        """Pixels on each side that influence one output pixel (besides the global statistics)."""
        return max(self.windows) // 2

    def forward(self, x: torch.Tensor, mean: torch.Tensor | None = None,
                std: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) -> (B, T, C, H, W) with T = windows + 1.

        ``mean`` and ``std`` (B, C, 1, 1) are the image's global statistics; they are computed
        from ``x`` when omitted and passed in when ``x`` is one tile of a larger image.
        """
        x = x.float()
        if mean is None:
            mean = x.mean(dim=(2, 3), keepdim=True)
        if std is None:
            std = x.std(dim=(2, 3), correction=0, keepdim=True)
        sigma = torch.clamp(std, min=STD_FLOOR) + self.min_std.view(1, -1, 1, 1)
        # The deviation from a mean is unchanged by subtracting the global mean first, which
        # keeps the cumulative sums small and so exact in float32.
        centred = x - mean
        steps = [window_mean(centred, size) - centred for size in self.windows] + [-centred]
        return torch.stack(steps, dim=1).div_(sigma.unsqueeze(1)).abs_()

    @torch.no_grad()
    def project_(self) -> None:
        """Keep the learnable floor non-negative (Keras ``non_neg`` constraint)."""
        self.min_std.clamp_(min=0.0)


class ConvLSTM2D(nn.Module):
    """Keras ConvLSTM2D (``return_sequences=False``): tanh activation, ``hard_sigmoid`` gates,
    zero padding, zero initial state, gate order i, f, c, o along the 4*filters channels.

    ``input_conv`` holds Keras's ``kernel`` and ``bias``, ``recurrent_conv`` its
    ``recurrent_kernel`` (no bias).
    """

    def __init__(self, in_channels: int = ANOMALY_CHANNELS, filters: int = LSTM_FILTERS,
                 kernel_size: int = LSTM_KERNEL) -> None:
        super().__init__()
        self.filters = filters
        self.kernel_size = kernel_size
        self.input_conv = nn.Conv2d(in_channels, 4 * filters, kernel_size, padding=kernel_size // 2)
        self.recurrent_conv = nn.Conv2d(filters, 4 * filters, kernel_size, padding=kernel_size // 2, bias=False)
        with torch.no_grad():
            self.input_conv.bias.zero_()
            self.input_conv.bias[filters:2 * filters] = 1.0  # unit forget bias

    def receptive_radius(self, steps: int) -> int:
        """Radius of the last hidden state over ``steps`` time steps."""
        return (self.kernel_size // 2) * steps

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> last hidden state (B, filters, H, W)."""
        batch, steps = sequence.shape[:2]
        inputs = self.input_conv(sequence.flatten(0, 1)).unflatten(0, (batch, steps))
        hidden: torch.Tensor | None = None
        cell: torch.Tensor | None = None
        for step in range(steps):
            z = inputs[:, step]
            if hidden is not None:
                z = z + self.recurrent_conv(hidden)
            z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
            candidate = hard_sigmoid(z_i) * torch.tanh(z_c)
            cell = candidate if cell is None else hard_sigmoid(z_f) * cell + candidate
            hidden = hard_sigmoid(z_o) * torch.tanh(cell)
        assert hidden is not None
        return hidden


class AnomalyDetector(nn.Module):
    """The local anomaly detection network on (B, 256, H, W) features; returns logits.

    Split in two for tiled inference: :meth:`adapt` (1x1 convolution and batch norm, pointwise)
    and :meth:`score` (Z-pool, ConvLSTM and prediction, which need a neighbourhood of
    :attr:`score_radius` pixels and the image's global statistics).
    """

    def __init__(self) -> None:
        super().__init__()
        self.outlier_trans = nn.Conv2d(FEATURE_CHANNELS, ANOMALY_CHANNELS, 1, bias=False)
        self.bnorm = nn.BatchNorm2d(ANOMALY_CHANNELS, eps=1e-3, affine=False)
        self.zpool = ZPool2D()
        self.clstm = ConvLSTM2D()
        self.pred = nn.Conv2d(LSTM_FILTERS, 1, LSTM_KERNEL, padding=LSTM_KERNEL // 2)
        self.project_()

    @property
    def score_radius(self) -> int:
        """Pixels on each side of the adapted features that influence one output pixel."""
        steps = len(self.zpool.windows) + 1
        return self.zpool.receptive_radius + self.clstm.receptive_radius(steps) + LSTM_KERNEL // 2

    def adapt(self, features: torch.Tensor) -> torch.Tensor:
        """1x1 adaptation to 64 channels and batch norm without scale and centre."""
        return self.bnorm(self.outlier_trans(features))

    def score(self, adapted: torch.Tensor, mean: torch.Tensor | None = None,
              std: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 1, H, W) from adapted features (global statistics as in :class:`ZPool2D`)."""
        return self.pred(self.clstm(self.zpool(adapted, mean, std)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (B, 1, H, W) of (B, 256, H, W) features."""
        return self.score(self.adapt(features))

    @torch.no_grad()
    def project_(self) -> None:
        """Re-apply the Keras constraints: unit-norm 1x1 kernels, non-negative std floor."""
        weight = self.outlier_trans.weight
        weight.div_(weight.norm(dim=1, keepdim=True) + BAYAR_EPSILON)
        self.zpool.project_()


class ManTraNet(nn.Module):
    """Feature extractor plus local anomaly detection network: RGB in [0, 1] -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.featex = FeatureExtractor()
        self.ladn = AnomalyDetector()

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) logits; the heatmap is their sigmoid."""
        return self.ladn(self.featex(rgb))

    def project_constraints_(self) -> None:
        """Re-project every constrained weight (call after each optimiser step)."""
        self.featex.b1c1.project_bayar_()
        self.ladn.project_()


def keras_parameter_count(module: nn.Module) -> int:
    """Parameters counted as Keras counts them: all weights plus batch-norm moving statistics."""
    count = sum(p.numel() for p in module.parameters())
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.running_mean is not None:
            count += sub.running_mean.numel() + sub.running_var.numel()
    return count


# ---- tiled inference -----------------------------------------------------------------------

#: Above this size the adapted 64-channel map of a whole image is kept in float16 (a
#: 24-megapixel photo then needs 3 GiB for it instead of 6).
FLOAT32_STORE_LIMIT_BYTES = 2 << 30


def _tiles(length: int, tile: int, margin: int) -> list[tuple[int, int, int, int]]:
    """(core start, core stop, extended start, extended stop) along one axis."""
    spans = []
    for start in range(0, length, tile):
        stop = min(start + tile, length)
        spans.append((start, stop, max(start - margin, 0), min(stop + margin, length)))
    return spans


@torch.inference_mode()
def predict_tiled(
    model: ManTraNet,
    rgb: np.ndarray,
    device: torch.device,
    tile: int = 1024,
    overlap: int = FeatureExtractor.receptive_radius,
    autocast_dtype: torch.dtype | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Heatmap (H, W) float32 in [0, 1] of an (H, W, 3) float RGB image in [0, 1].

    Pass 1 runs the feature extractor on ``tile`` x ``tile`` tiles extended by ``overlap``
    pixels on each side (at least its receptive radius, 14, so every kept pixel is exact) and
    keeps only the adapted 64-channel map of the whole image plus its per-channel sums, from
    which the global mean and population std are taken (float64). Pass 2 runs the Z-pool,
    ConvLSTM and prediction on tiles of that map extended by their own radius (30: 15 for the
    31 window, 15 for the ConvLSTM and the 7x7 prediction) with those global statistics. Tile
    borders that are image borders keep the image's padding and valid-pixel counts, so the
    result equals an untiled forward pass up to float rounding. ``on_tile(done, total)`` is
    called after every tile (it may raise to cancel). ``autocast_dtype`` applies to the feature
    extractor on CUDA; the anomaly network always runs in float32. The model must be in eval mode.
    """
    if overlap < FeatureExtractor.receptive_radius:
        raise ValueError(f"overlap must be at least {FeatureExtractor.receptive_radius} pixels")
    height, width = rgb.shape[:2]
    image = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    store_bytes = height * width * ANOMALY_CHANNELS * 4
    store_dtype = torch.float32 if store_bytes <= FLOAT32_STORE_LIMIT_BYTES else torch.float16
    adapted = torch.empty((1, ANOMALY_CHANNELS, height, width), dtype=store_dtype, device=device)
    sums = torch.zeros(ANOMALY_CHANNELS, dtype=torch.float64, device=device)
    squares = torch.zeros_like(sums)
    ladn_radius = model.ladn.score_radius
    first = [(r, c) for r in _tiles(height, tile, overlap) for c in _tiles(width, tile, overlap)]
    second = [(r, c) for r in _tiles(height, tile, ladn_radius) for c in _tiles(width, tile, ladn_radius)]
    total, done = len(first) + len(second), 0
    use_autocast = device.type == "cuda" and autocast_dtype is not None
    for (y0, y1, ey0, ey1), (x0, x1, ex0, ex1) in first:
        crop = image[:, :, ey0:ey1, ex0:ex1].to(device)
        with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16, enabled=use_autocast):
            features = model.featex(crop)
        core = model.ladn.adapt(features[:, :, y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0].float())
        sums += core.sum(dim=(0, 2, 3), dtype=torch.float64)
        squares += core.double().square().sum(dim=(0, 2, 3))
        adapted[:, :, y0:y1, x0:x1] = core.to(store_dtype)
        done += 1
        if on_tile is not None:
            on_tile(done, total)
    count = float(height * width)
    mean64 = sums / count
    std64 = torch.sqrt(torch.clamp(squares / count - mean64 * mean64, min=0.0))
    mean = mean64.float().view(1, -1, 1, 1)
    std = std64.float().view(1, -1, 1, 1)
    heatmap = np.empty((height, width), np.float32)
    for (y0, y1, ey0, ey1), (x0, x1, ex0, ex1) in second:
        logits = model.ladn.score(adapted[:, :, ey0:ey1, ex0:ex1].float(), mean, std)
        core = torch.sigmoid(logits[0, 0, y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0])
        heatmap[y0:y1, x0:x1] = core.float().cpu().numpy()
        done += 1
        if on_tile is not None:
            on_tile(done, total)
    return heatmap


__all__ = [
    "AnomalyDetector",
    "CombinedConv2D",
    "ConvLSTM2D",
    "FeatureExtractor",
    "ManTraNet",
    "ZPool2D",
    "hard_sigmoid",
    "keras_parameter_count",
    "predict_tiled",
    "symmetric_pad",
    "window_mean",
]
