"""Sizes and names fixed by the architectures, importable without PyTorch.

The detectors declare parameter bounds and weights keys with them, and listing the detectors
(``tamper-workbench detectors``, the workbench's detector list) must not load PyTorch, which
takes seconds; the architecture modules build their layers from the same values.
"""

from __future__ import annotations

#: J-Conv-LSTM-Conv (Bappy et al., ICCV 2017): side of the patches the network classifies and segments.
J_CONV_LSTM_CONV_PATCH = 64
#: LSTM-EnDec (Bappy et al., IEEE TIP 2019): the network's input side; whole images are resized
#: (or tiled) to it.
LSTM_ENDEC_INPUT = 256
#: Resampling LSTM (Bunk et al., CVPR Workshops 2017): blocks per side of a patch (a third-order
#: Hilbert curve covers 8x8).
RESAMPLING_LSTM_GRID = 8
#: Bunk et al. 2017: the six resampling classes, one binary classifier each, in the order of the
#: detector's maps.
RESAMPLING_CLASSES = ("jpeg_quality", "upsampling", "downsampling", "rotation_cw", "rotation_ccw", "shearing")
#: ManTra-Net (Wu et al., CVPR 2019): the VGG-style 3x3 layers of the feature extractor after its
#: first (5x5) layer, as (name, output channels).
MANTRANET_FEATEX_LAYERS: tuple[tuple[str, int], ...] = (
    ("b1c2", 32),
    ("b2c1", 64), ("b2c2", 64),
    ("b3c1", 128), ("b3c2", 128), ("b3c3", 128),
    ("b4c1", 256), ("b4c2", 256), ("b4c3", 256),
    ("b5c1", 256), ("b5c2", 256),
)
#: Pixels on each side that influence one feature-extractor output (2 for the 5x5 layer, 1 per 3x3).
MANTRANET_FEATURE_RADIUS = 2 + len(MANTRANET_FEATEX_LAYERS) + 1
#: Manifest key of the authors' ManTra-Net weights once the user has imported them.
MANTRANET_AUTHORS_KEY = "mantranet/authors-ptrain4"
