"""J-Conv-LSTM-Conv: joint patch classification and pixel segmentation of 64x64 patches.

Bappy, Roy-Chowdhury, Bunk, Nataraj, Manjunath, "Exploiting Spatial Structure for Localizing
Manipulated Image Regions", ICCV 2017, Sec. 3 and Fig. 2. No code was released with the paper;
where it gives no number, the choice made here is marked "(ours)".

Pipeline of one 64x64 RGB patch (stages named as in :meth:`JConvLSTMConv.forward_stages`):

``conv``    two 5x5 convolutions, 16 maps then 1 map, same padding (ReLU after the first only,
            (ours): a ReLU on the single map would let the whole network die), then batch norm
            (ours: it standardises the LSTM input; without it the LSTM hardly learns) -> 1x64x64;
``blocks``  the map cut into an 8x8 grid of 8x8 blocks, each flattened to 64 values and fed
            in raster order (the ICCV paper has no Hilbert ordering; that came with LSTM-EnDec)
            -> 64 steps x 64;
``lstm``    3 stacked LSTM layers with one cell per block ("64 cells per layer"); each cell emits
            a 256-d output -> 64 x 256;
``label``   patch label: a linear layer + softmax on the mean of the 64 cell outputs (ours: the
            paper does not say which outputs feed the classifier; see below) -> 2;
``lstm_map`` each 256-d output reshaped to a 16x16 block, blocks put back on the 8x8 grid
            -> 1x128x128;
``pixels``  batch norm of the map (ours, for the same reason), then three 3x3 convolutions,
            8, 8 and 2 maps (map counts ours: these convolutions on the 128x128 map are most of
            the network's arithmetic, and 8 maps cost a quarter of 16), ReLU between them,
            2x max-pooling only after the third, so no upsampling is needed to return to the
            patch size -> 2x64x64 logits (softmax over the two classes).

Why the mean of the cell outputs labels the patch: both heads then read the same per-block
outputs, the patch label is the evidence of all blocks pooled (the quantity the pixel map
spreads out), and the patch-label gradient reaches every cell directly instead of through the
64-step recurrence to the last one. (What stalled the pixel branch in training was the size of
the two losses' gradients, not this readout: see ``PATCH_LOSS_WEIGHT`` in
:mod:`forensics_core.training.recipes.j_conv_lstm_conv`.)

The input is scaled from [0, 1] to [-1, 1] (ours). Residual front end (ours, a departure from
the paper, which initialises nothing in particular): maps 0-8 of conv1 start from the SRM
high-pass residual filters (Fridrich & Kodovsky, "Rich models for steganalysis of digital
images", IEEE TIFS 7(3), 2012; the same nine filters ManTra-Net fixes in its first layer) and stay
trainable (:func:`init_residual_filters`); the other layers keep PyTorch's default
initialisation. Why: manipulation traces are weak in raw pixels, and a 2-layer 5x5 front end
trained briefly learns content instead; later work starts from high-pass residuals for this reason
(SRM filters, or Bayar & Stamm's constrained first layer, "A deep learning approach to universal
image manipulation detection using a new convolutional layer", ACM IH&MMSec 2016). Measured with
``benchmarks/jconv_collapse.py`` on the easy planted task (issue 24): from PyTorch's
initialisation the joint loss stayed at the class prior (1.1 ln 2) for 125 steps with conv1
gradient norms of about 3e-2; from the residual filters the pixel loss fell to 0.41 within 100
steps (conv1 gradient norms about 9) and held-out pixel AUC reached 0.94. ``bottleneck_maps``
(default 1, the paper's single map) widens the map the LSTM reads (ours, an option). Training minimises the
sum of the patch and the pixel cross-entropies (the paper's joint loss); see
:mod:`forensics_core.training.recipes.j_conv_lstm_conv`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from forensics_core.models.sizes import J_CONV_LSTM_CONV_PATCH

#: Side of the patches the network classifies and segments.
PATCH_SIZE = J_CONV_LSTM_CONV_PATCH
#: Blocks per patch side (8x8 blocks of 8x8 pixels).
GRID = 8
#: Output size of each LSTM cell; reshaped to a ``LSTM_BLOCK x LSTM_BLOCK`` block.
LSTM_OUTPUT = 256
LSTM_BLOCK = 16
LSTM_LAYERS = 3
#: Scale of the residual filters conv1 starts from (:func:`init_residual_filters`; ours).
RESIDUAL_INIT_GAIN = 4.0


class JConvLSTMConv(nn.Module):
    """The ICCV 2017 network; ``forward`` maps Bx3x64x64 in [0, 1] to (patch, pixel) logits."""

    def __init__(self, conv_maps: int = 16, pixel_maps: int = 8, bottleneck_maps: int = 1,
                 residual_init: bool = True) -> None:
        """The defaults are the widths documented above; smaller ones give tiny models for tests.

        ``bottleneck_maps`` maps leave the convolutions (each block then feeds the LSTM
        ``64 x bottleneck_maps`` values); ``residual_init`` starts conv1 from the high-pass
        residual filters (:func:`init_residual_filters`).
        """
        super().__init__()
        self.conv1 = nn.Conv2d(3, conv_maps, 5, padding=2)
        self.conv2 = nn.Conv2d(conv_maps, bottleneck_maps, 5, padding=2)
        self.conv_bn = nn.BatchNorm2d(bottleneck_maps)
        if residual_init:
            init_residual_filters(self.conv1)
        block = PATCH_SIZE // GRID
        self.lstm = nn.LSTM(block * block * bottleneck_maps, LSTM_OUTPUT, num_layers=LSTM_LAYERS,
                            batch_first=True)
        self.classifier = nn.Linear(LSTM_OUTPUT, 2)
        self.pixel_bn = nn.BatchNorm2d(1)
        self.pixel_conv1 = nn.Conv2d(1, pixel_maps, 3, padding=1)
        self.pixel_conv2 = nn.Conv2d(pixel_maps, pixel_maps, 3, padding=1)
        self.pixel_conv3 = nn.Conv2d(pixel_maps, 2, 3, padding=1)

    def forward_stages(self, patches: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Every intermediate result, keyed by the stage names of the module docstring."""
        if patches.shape[-3:] != (3, PATCH_SIZE, PATCH_SIZE):
            raise ValueError(f"expected Bx3x{PATCH_SIZE}x{PATCH_SIZE} patches, got {tuple(patches.shape)}")
        stages: OrderedDict[str, torch.Tensor] = OrderedDict()
        batch = patches.shape[0]
        block = PATCH_SIZE // GRID
        x = self.conv_bn(self.conv2(F.relu(self.conv1(patches * 2.0 - 1.0))))
        stages["conv"] = x
        # (B, C, 8, 8, 8, 8) -> (B, 8 block rows, 8 block cols, C, 8, 8) -> (B, 64 steps, 64 C values)
        maps = x.shape[1]
        blocks = x.reshape(batch, maps, GRID, block, GRID, block).permute(0, 2, 4, 1, 3, 5)
        stages["blocks"] = blocks.reshape(batch, GRID * GRID, maps * block * block)
        outputs, _ = self.lstm(stages["blocks"])
        stages["lstm"] = outputs
        stages["label"] = self.classifier(outputs.mean(dim=1))
        side = GRID * LSTM_BLOCK
        grid = outputs.reshape(batch, GRID, GRID, LSTM_BLOCK, LSTM_BLOCK).permute(0, 1, 3, 2, 4)
        stages["lstm_map"] = grid.reshape(batch, 1, side, side)
        y = F.relu(self.pixel_conv1(self.pixel_bn(stages["lstm_map"])))
        y = F.relu(self.pixel_conv2(y))
        stages["pixels"] = F.max_pool2d(self.pixel_conv3(y), 2)
        return stages

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch logits (Bx2) and pixel logits (Bx2x64x64) of Bx3x64x64 patches in [0, 1]."""
        stages = self.forward_stages(patches)
        return stages["label"], stages["pixels"]


def init_residual_filters(conv: nn.Conv2d) -> None:
    """Start the first output maps of a 5x5 RGB convolution from the SRM high-pass filters.

    The 9 fixed first-layer filters of ManTra-Net (:func:`forensics_core.models.mantranet.srm_kernels`:
    second-order, "KV" and horizontal residuals of R, G and B; Fridrich & Kodovsky, IEEE TIFS 7(3),
    2012) become the initial weights of maps 0-8 (bias 0), scaled by 4 so that residuals of the
    [-1, 1] input reach the size of the random maps' outputs; they stay trainable. The other maps
    keep PyTorch's initialisation.
    """
    from forensics_core.models.mantranet import srm_kernels

    kernels = srm_kernels(conv.in_channels)[: conv.out_channels]
    with torch.no_grad():
        conv.weight[: len(kernels)] = RESIDUAL_INIT_GAIN * kernels
        conv.bias[: len(kernels)] = 0.0


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Window offsets covering ``0..length`` with ``stride``, the last one flush with the end."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    """A normalised 1-D Gaussian of radius ``ceil(3 sigma)``."""
    radius = max(int(round(3.0 * sigma)), 1)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of Bx1xHxW maps (reflected borders); identity for sigma <= 0."""
    if sigma <= 0:
        return maps
    kernel = gaussian_kernel(sigma, maps.device).to(maps.dtype)
    radius = kernel.numel() // 2
    x = F.pad(maps, (radius, radius, 0, 0), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(x, kernel.view(1, 1, -1, 1))


@torch.no_grad()
def patch_maps(model: JConvLSTMConv, patches: torch.Tensor, sigma: float) -> torch.Tensor:
    """The paper's per-patch localisation: Gaussian-smoothed pixel map x patch probability.

    ``patches`` is Bx3x64x64 in [0, 1]; returns Bx1x64x64 in [0, 1].
    """
    label_logits, pixel_logits = model(patches)
    pixel_prob = torch.softmax(pixel_logits.float(), dim=1)[:, 1:2]
    patch_prob = torch.softmax(label_logits.float(), dim=1)[:, 1]
    return smooth(pixel_prob, sigma) * patch_prob.view(-1, 1, 1, 1)


@torch.no_grad()
def sliding_window_heatmap(model: JConvLSTMConv, image: torch.Tensor, stride: int, sigma: float,
                           batch_size: int = 256,
                           on_batch: Callable[[float], None] | None = None) -> torch.Tensor:
    """Heatmap (HxW in [0, 1]) of a 3xHxW image in [0, 1] from overlapping 64x64 windows.

    Windows are taken every ``stride`` pixels (the last row and column flush with the border;
    images smaller than a patch are padded by edge replication); each window's
    :func:`patch_maps` is added where it lies and every pixel is divided by the number of
    windows covering it. ``on_batch(fraction_done)`` is called after every batch of windows
    (for progress and cancellation).
    """
    _, height, width = image.shape
    pad_h, pad_w = max(PATCH_SIZE - height, 0), max(PATCH_SIZE - width, 0)
    if pad_h or pad_w:
        image = F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate")[0]
    full_h, full_w = image.shape[1:]
    positions = [(y, x) for y in window_starts(full_h, PATCH_SIZE, stride)
                 for x in window_starts(full_w, PATCH_SIZE, stride)]
    total = torch.zeros(full_h, full_w, device=image.device)
    count = torch.zeros(full_h, full_w, device=image.device)
    for first in range(0, len(positions), batch_size):
        chunk = positions[first:first + batch_size]
        patches = torch.stack([image[:, y:y + PATCH_SIZE, x:x + PATCH_SIZE] for y, x in chunk])
        maps = patch_maps(model, patches, sigma)[:, 0]
        for (y, x), patch_map in zip(chunk, maps):
            total[y:y + PATCH_SIZE, x:x + PATCH_SIZE] += patch_map
            count[y:y + PATCH_SIZE, x:x + PATCH_SIZE] += 1.0
        if on_batch is not None:
            on_batch((first + len(chunk)) / len(positions))
    return (total / count)[:height, :width]
