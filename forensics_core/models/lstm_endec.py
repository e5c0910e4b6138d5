"""LSTM-EnDec: resampling features through an LSTM, fused with a convolutional encoder-decoder.

Bappy, Simons, Nataraj, Manjunath, Roy-Chowdhury, "Hybrid LSTM and Encoder-Decoder Architecture
for Detection of Image Forgeries", IEEE Trans. Image Processing 28(7):3286-3300, 2019
(:DOI:`10.1109/TIP.2019.2895466`), Sec. III and Fig. 2.

Stages of a Bx3x256x256 image in [0, 1] (names as in :meth:`LSTMEnDec.forward_stages`):

``features``   the residual sqrt|3x3 Laplacian| averaged over the colour channels, cut into the
               8x8 grid of 32x32 patches, 240 resampling values each (10 Radon
               angles, 24 FFT magnitudes normalised by their mean over angles, minus 1), in grid
               order -> Bx64x240. This is the shared code of
               :mod:`forensics_core.features.resampling`, run on the model's device in float32
               outside autocast, without gradient (the features have no parameters);
``sequence``   the 64 feature vectors in third-order Hilbert-curve order
               (:mod:`forensics_core.hilbert`), so that consecutive steps are adjacent patches;
``lstm``       2 stacked LSTM layers, Nh = 128 (paper) -> Bx64x128;
``lstm_map``   each step projected to Nf = 64 (paper), put back in grid order -> Bx64x8x8;
``encoder1-4`` four stages, each a residual unit (3x3 conv, BN, ReLU, 3x3 conv, BN, identity or
               1x1-projection shortcut, ReLU) with 32, 64, 128, 256 maps followed by 2x max-pooling,
               after a 3x3 stem convolution with 32 maps + BN + ReLU -> Bx256x16x16;
``fused``      THE FUSION POINT, at 16x16: the LSTM map goes through BN + ReLU and bilinear 2x
               upsampling (8x8 -> 16x16, as in the released code), the encoder output through a
               1x1 convolution to 64 maps + BN + ReLU; the two are concatenated -> Bx128x16x16;
``decoder1-2`` the paper's two decoder units, each bilinear 4x upsampling, 3x3 convolution,
               batch norm (+ ReLU), with 64 then 16 maps -> Bx64x64x64 -> Bx16x256x256;
``logits``     1x1 convolution to the 2 classes (softmax in the loss and at inference)
               -> Bx2x256x256.

Where the paper and the authors' released TF1 code (https://github.com/jawadbappy/forgery_localization_HLED)
differ, the paper is
followed: LSTM hidden size 128 and Nf = 64 (code: 64 and a 64->32 projection), decoder units with
64 and 16 maps (code: bilinear x4, 1x1 conv to 2, bilinear x4). From the code: the stem, the
BN + ReLU + bilinear x2 of the LSTM map, merging by concatenation after a 1x1 convolution of the
encoder output (64 maps here, to balance the 64 LSTM maps; code: 32), and the encoder input
scaling x/127 of 8-bit values (``rgb01 * 255 / 127`` here).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from forensics_core.features.resampling import ENDEC_SPEC, endec_features, laplacian_residual_batch
from forensics_core.hilbert import hilbert_order
from forensics_core.models.sizes import LSTM_ENDEC_INPUT

#: The network's input side; whole images are resized (or tiled) to it.
INPUT_SIZE = LSTM_ENDEC_INPUT
#: Patch grid of the resampling branch: 8x8 patches of 32x32 pixels, a third-order Hilbert curve.
GRID = 8
PATCH = ENDEC_SPEC.patch_size
HILBERT_ORDER = 3
LSTM_HIDDEN = 128
LSTM_LAYERS = 2
LSTM_MAPS = 64
ENCODER_MAPS = (32, 64, 128, 256)
DECODER_MAPS = (64, 16)
#: Encoder input scaling of the released code (x / 127 on 8-bit values).
INPUT_SCALE = 255.0 / 127.0


def resampling_features(images: torch.Tensor) -> torch.Tensor:
    """The 240 LSTM-EnDec features of each 32x32 patch of Bx3x256x256 images, Bx64x240 grid order.

    Computed on the images' device in float32, outside autocast and without gradient.
    """
    batch = images.shape[0]
    with torch.no_grad(), torch.autocast(device_type=images.device.type, enabled=False):
        residual = laplacian_residual_batch(images.float())
        patches = residual.reshape(batch, GRID, PATCH, GRID, PATCH).permute(0, 1, 3, 2, 4)
        features = endec_features(patches.reshape(batch * GRID * GRID, PATCH, PATCH))
    return features.reshape(batch, GRID * GRID, ENDEC_SPEC.n_features).to(images.device)


class ResidualUnit(nn.Module):
    """He et al. (CVPR 2016) basic residual unit; a 1x1 projection when the width changes."""

    def __init__(self, in_maps: int, out_maps: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_maps, out_maps, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_maps)
        self.conv2 = nn.Conv2d(out_maps, out_maps, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_maps)
        self.shortcut = nn.Identity() if in_maps == out_maps else nn.Sequential(
            nn.Conv2d(in_maps, out_maps, 1, bias=False), nn.BatchNorm2d(out_maps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x))."""
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


class DecoderUnit(nn.Module):
    """Bilinear 4x upsampling, 3x3 convolution, batch norm, ReLU (paper, Sec. III-C)."""

    def __init__(self, in_maps: int, out_maps: int, factor: int = 4) -> None:
        super().__init__()
        self.factor = factor
        self.conv = nn.Conv2d(in_maps, out_maps, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_maps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample, convolve, normalise."""
        x = F.interpolate(x, scale_factor=self.factor, mode="bilinear", align_corners=False)
        return F.relu(self.bn(self.conv(x)))


class LSTMEnDec(nn.Module):
    """The TIP 2019 network; ``forward`` maps Bx3x256x256 in [0, 1] to Bx2x256x256 logits."""

    def __init__(self, lstm_hidden: int = LSTM_HIDDEN, lstm_maps: int = LSTM_MAPS,
                 encoder_maps: tuple[int, ...] = ENCODER_MAPS, decoder_maps: tuple[int, int] = DECODER_MAPS) -> None:
        """The defaults are the paper's widths; smaller ones give tiny models for tests."""
        super().__init__()
        if len(encoder_maps) != 4:
            raise ValueError("the encoder has four stages (256 -> 16 pixels)")
        order = torch.from_numpy(hilbert_order(HILBERT_ORDER))
        self.register_buffer("hilbert", order, persistent=False)
        self.register_buffer("grid_from_hilbert", torch.argsort(order), persistent=False)
        self.lstm_maps = lstm_maps
        self.lstm = nn.LSTM(ENDEC_SPEC.n_features, lstm_hidden, num_layers=LSTM_LAYERS, batch_first=True)
        self.lstm_project = nn.Linear(lstm_hidden, lstm_maps)
        self.lstm_bn = nn.BatchNorm2d(lstm_maps)
        self.stem = nn.Sequential(nn.Conv2d(3, encoder_maps[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(encoder_maps[0]), nn.ReLU(inplace=True))
        widths = (encoder_maps[0],) + tuple(encoder_maps)
        self.encoder = nn.ModuleList(ResidualUnit(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.encoder_project = nn.Sequential(nn.Conv2d(encoder_maps[-1], lstm_maps, 1, bias=False),
                                             nn.BatchNorm2d(lstm_maps), nn.ReLU(inplace=True))
        self.decoder1 = DecoderUnit(2 * lstm_maps, decoder_maps[0])
        self.decoder2 = DecoderUnit(decoder_maps[0], decoder_maps[1])
        self.classifier = nn.Conv2d(decoder_maps[1], 2, 1)

    def forward_stages(self, images: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Every intermediate result, keyed by the stage names of the module docstring."""
        if images.shape[-3:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"expected Bx3x{INPUT_SIZE}x{INPUT_SIZE} images, got {tuple(images.shape)}")
        stages: OrderedDict[str, torch.Tensor] = OrderedDict()
        batch = images.shape[0]
        stages["features"] = resampling_features(images)
        stages["sequence"] = stages["features"][:, self.hilbert]
        stages["lstm"], _ = self.lstm(stages["sequence"])
        projected = self.lstm_project(stages["lstm"])[:, self.grid_from_hilbert]
        stages["lstm_map"] = projected.transpose(1, 2).reshape(batch, self.lstm_maps, GRID, GRID)
        x = self.stem(images * INPUT_SCALE)
        for index, unit in enumerate(self.encoder, start=1):
            x = F.max_pool2d(unit(x), 2)
            stages[f"encoder{index}"] = x
        lstm_up = F.interpolate(F.relu(self.lstm_bn(stages["lstm_map"])), size=x.shape[-2:],
                                mode="bilinear", align_corners=False)
        stages["fused"] = torch.cat((lstm_up, self.encoder_project(x)), dim=1)
        stages["decoder1"] = self.decoder1(stages["fused"])
        stages["decoder2"] = self.decoder2(stages["decoder1"])
        stages["logits"] = self.classifier(stages["decoder2"])
        return stages

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Bx2x256x256 class logits (index 1 = manipulated) of Bx3x256x256 images in [0, 1]."""
        return self.forward_stages(images)["logits"]
