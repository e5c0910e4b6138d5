"""ManTra-Net detector: pixel-wise anomaly of learned manipulation-trace features.

Reference: Y. Wu, W. AbdAlmageed and P. Natarajan, "ManTra-Net: Manipulation Tracing Network
for Detection and Localization of Image Forgeries With Anomalous Features", CVPR 2019. The
architecture (:mod:`forensics_core.models.mantranet`) follows the authors' released Keras model
(https://github.com/ISICV/ManTraNet).

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

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from forensics_core.detectors import register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter, WeightsSet
from forensics_core.evidence import Evidence
from forensics_core.models.sizes import MANTRANET_AUTHORS_KEY as AUTHORS_KEY
from forensics_core.models.sizes import MANTRANET_FEATURE_RADIUS
from forensics_core.weights import WeightsProblem

#: Manifest key of the weights trained here (``tamper-workbench train mantranet``).
SHIPPED_KEY = "mantranet/ptrain-ours"
#: Percentile of the heatmap used as the image score.
SCORE_PERCENTILE = 99.0
#: Autocast type of each GPU precision choice, by the name of its ``torch`` dtype (None: fp32).
AUTOCAST_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": None}

if TYPE_CHECKING:  # pragma: no cover (the listing of detectors must not load PyTorch)
    import torch

    from forensics_core.models.mantranet import ManTraNet


#: The two weights sets: trained here (shipped) and the authors' file imported by the user.
SHIPPED = WeightsSet("shipped", (SHIPPED_KEY,))
AUTHORS = WeightsSet("authors", (AUTHORS_KEY,), user=True)


def autocast_dtype(precision: str) -> "torch.dtype | None":
    """The torch dtype of a precision choice (None for fp32)."""
    import torch

    name = AUTOCAST_DTYPES[precision]
    return getattr(torch, name) if name else None


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
    limitations = (
        "Its heatmap marks traces that are anomalous with respect to the rest of the picture: a "
        "manipulation that covers most of the frame becomes the norm and is not marked.",
        "Heavy recompression, resizing or noise added to the whole picture after the edit hides the "
        "manipulation traces it compares.",
        "Weights trained here learned from synthetic forgeries only, with far less training than the "
        "authors' (measured accuracy in benchmarks/RESULTS.md); the authors' own file must be imported "
        "by the user.",
        "Saturated, very dark or flat areas have few traces and can be marked as anomalous.",
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
                  f"({MANTRANET_FEATURE_RADIUS} px), so tiling changes nothing.",
                  MANTRANET_FEATURE_RADIUS, 256),
        Parameter("precision", str, "bf16", "GPU precision",
                  "Autocast type of the feature extractor on CUDA (the CPU always uses fp32).",
                  choices=tuple(AUTOCAST_DTYPES)),
    )

    def weights_sets(self) -> tuple[WeightsSet, ...]:
        """The weights trained here, and the authors' when the user imported them."""
        return (SHIPPED, AUTHORS)

    def choose_weights(self, params: Mapping[str, Any]) -> WeightsSet:
        """The set named by the ``weights`` parameter; ``auto``: the authors' when the user imported
        them (broken imported weights are reported, not silently replaced by the shipped ones)."""
        choice = params.get("weights", "auto")
        if choice == "auto":
            problem = AUTHORS.problem()
            return AUTHORS if problem is None or not problem.untrained else SHIPPED
        return AUTHORS if choice == "authors" else SHIPPED

    def build_model(self, states: Mapping[str, dict[str, torch.Tensor]]) -> ManTraNet:
        """ManTra-Net loaded (strictly) from the chosen set's only file."""
        (state,) = states.values()
        from forensics_core.models.mantranet import ManTraNet  # PyTorch loads when a run starts

        model = ManTraNet()
        model.load_state_dict(state)
        return model

    def _refusal(self, problem: WeightsProblem) -> str:
        """The base refusal, plus how to get the authors' weights."""
        return (f"{super()._refusal(problem)} The authors' ManTraNet_Ptrain4.h5 can be imported with "
                "'tamper-workbench weights import-mantranet FILE' (then weights=authors).")

    def analyse(self, evidence: Evidence, params: Mapping[str, Any], reporter: ProgressReporter,
                device: torch.device) -> Analysis:
        """Tiled heatmap (sigmoid output) at full resolution; score = its 99th percentile."""
        model, hashes = self.load_model(params)
        source = "test model" if not hashes else self.choose_weights(params).name
        reporter.update(0.02, f"Loaded ManTra-Net weights ({source})", force=True)
        # channels_last: faster on the CPU (benchmarks/bench_mantranet.py measures it).
        import torch

        from forensics_core.models.mantranet import predict_tiled

        model = model.to(device=device, memory_format=torch.channels_last).eval()

        def on_tile(done: int, total: int) -> None:  # the last tile always shown, however fast the run
            reporter.update(0.02 + 0.98 * done / total, f"Tile {done}/{total}", force=done == total)

        heatmap = predict_tiled(model, evidence.rgb_float(), device, tile=params["tile"],
                                overlap=params["overlap"], autocast_dtype=autocast_dtype(params["precision"]),
                                on_tile=on_tile)
        score = float(np.percentile(heatmap, SCORE_PERCENTILE))
        return Analysis(heatmap=heatmap, score=score, threshold=0.5,
                        extra={"weights": source, "score_percentile": SCORE_PERCENTILE},
                        weights_sha256=hashes)
