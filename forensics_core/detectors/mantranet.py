"""ManTra-Net detector: pixel-wise anomaly of learned manipulation-trace features.

Reference: Y. Wu, W. AbdAlmageed and P. Natarajan, "ManTra-Net: Manipulation Tracing Network
for Detection and Localization of Image Forgeries With Anomalous Features", CVPR 2019. The
architecture (:mod:`forensics_core.models.mantranet`) follows the authors' released model as
described in ``shared/notes/seed-facts.md``.

Two sets of weights can drive it: ``shipped`` (``weights/mantranet/ptrain-ours``, trained here
on synthetic forgeries by the ``mantranet`` recipe) and ``authors`` (the authors' Ptrain4 file,
converted by ``tamper-workbench weights import-mantranet FILE`` into the user's weights folder;
academic / non-commercial licence). ``auto`` prefers the authors' weights when a user imported
them. Without weights the detector refuses to run: random weights are never used.

Full-resolution tiled inference (:func:`~forensics_core.models.mantranet.predict_tiled`): the
feature extractor runs on overlapping tiles (overlap at least its 14-pixel receptive radius), the
anomaly network's global mean and standard deviation are taken over the whole image's adapted
features, and the anomaly network then runs on tiles with a 30-pixel margin, so tiled and untiled
heatmaps agree to float rounding. Progress is reported and cancel checked after every tile.
The heatmap is the network's sigmoid output, the default mask threshold its decision point 0.5,
and the image score the heatmap's 99th percentile.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.models.mantranet import FeatureExtractor, ManTraNet, predict_tiled
from forensics_core.models.mantranet_keras_import import AUTHORS_KEY
from forensics_core.weights import has_weights, load_weights, user_weights_dir

#: Manifest key of the weights trained here (``tamper-workbench train mantranet``).
SHIPPED_KEY = "mantranet/ptrain-ours"
#: Percentile of the heatmap used as the image score.
SCORE_PERCENTILE = 99.0
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def _available(choice: str) -> bool:
    if choice == "shipped":
        return has_weights(SHIPPED_KEY)
    return has_weights(AUTHORS_KEY, user_weights_dir())


@register_detector
class ManTraNetDetector(Detector):
    """ManTra-Net (Wu et al., CVPR 2019) with tiled full-resolution inference."""

    id = "mantranet"
    weights_keys = (SHIPPED_KEY,)
    display_name = "ManTra-Net"
    reference = ("Wu, AbdAlmageed & Natarajan, ManTra-Net: Manipulation Tracing Network for Detection "
                 "and Localization of Image Forgeries With Anomalous Features, CVPR 2019")
    version = "1.0"
    description = (
        "Learned manipulation-trace features (SRM, Bayar and plain filters, VGG-style) compared with "
        "their local and global means by a ConvLSTM; highlights regions whose traces are anomalous."
    )
    parameters = (
        Parameter("weights", str, "auto", "Weights",
                  "shipped: trained here on synthetic forgeries; authors: the authors' Ptrain4 file "
                  "imported with 'weights import-mantranet'; auto: the authors' when imported.",
                  choices=("auto", "shipped", "authors")),
        Parameter("tile", int, 1024, "Tile (px)", "Side of the tiles processed at once (memory vs speed).",
                  64, 4096),
        Parameter("overlap", int, 16, "Overlap (px)",
                  f"Extra context on each tile side; at least the receptive radius "
                  f"({FeatureExtractor.receptive_radius} px), so tiling changes nothing.",
                  FeatureExtractor.receptive_radius, 256),
        Parameter("precision", str, "bf16", "GPU precision",
                  "Autocast type of the feature extractor on CUDA (the CPU always uses fp32).",
                  choices=tuple(AUTOCAST_DTYPES)),
    )

    def __init__(self, model: ManTraNet | None = None) -> None:
        """``model`` replaces the stored weights, for tests only."""
        self._model = model

    def is_trained(self) -> bool:
        """True when the shipped or the imported weights are present."""
        return self._model is not None or _available("shipped") or _available("authors")

    def training_status(self) -> str:
        """Which weights are available."""
        found = [name for name in ("shipped", "authors") if _available(name)]
        if self._model is not None or found:
            return "trained" + (f" (weights: {', '.join(found)})" if found else "")
        return ("NOT TRAINED: no weights in weights/ (train with 'tamper-workbench train mantranet') "
                "and none imported ('tamper-workbench weights import-mantranet FILE')")

    def _load(self, choice: str) -> tuple[ManTraNet, str, dict[str, str]]:
        """The model for weights ``choice``, the choice resolved, and the weights' SHA-256."""
        if self._model is not None:
            return self._model, "test model", {}
        if choice == "auto":
            choice = "authors" if _available("authors") else "shipped"
        if not _available(choice):
            if choice == "shipped":
                raise ForensicsError(
                    f"ManTra-Net is not trained: no weights '{SHIPPED_KEY}' in the weights manifest. "
                    "Train it with 'tamper-workbench train mantranet', or import the authors' file with "
                    "'tamper-workbench weights import-mantranet FILE' and choose weights=authors.")
            raise ForensicsError(
                f"No imported ManTra-Net weights in {user_weights_dir()}: convert the authors' "
                "ManTraNet_Ptrain4.h5 with 'tamper-workbench weights import-mantranet FILE'.")
        key, folder = (SHIPPED_KEY, None) if choice == "shipped" else (AUTHORS_KEY, user_weights_dir())
        state, sha256 = load_weights(key, folder)
        model = ManTraNet()
        model.load_state_dict(state)
        return model, choice, {key: sha256}

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Tiled heatmap (sigmoid output) at full resolution; score = its 99th percentile."""
        model, source, hashes = self._load(params["weights"])
        reporter.update(0.02, f"Loaded ManTra-Net weights ({source})", force=True)
        # channels_last: about 9 % faster on this project's CPU (benchmarks/bench_mantranet.py).
        model = model.to(device=device, memory_format=torch.channels_last).eval()

        def on_tile(done: int, total: int) -> None:
            reporter.update(0.02 + 0.98 * done / total, f"Tile {done}/{total}")

        heatmap = predict_tiled(model, evidence.rgb_float(), device, tile=params["tile"],
                                overlap=params["overlap"], autocast_dtype=AUTOCAST_DTYPES[params["precision"]],
                                on_tile=on_tile)
        score = float(np.percentile(heatmap, SCORE_PERCENTILE))
        return Analysis(heatmap=heatmap, score=score, threshold=0.5,
                        extra={"weights": source, "score_percentile": SCORE_PERCENTILE},
                        weights_sha256=hashes)
