"""Record or compare the resampling detector's segmentation path, bit for bit, with stand-in classifiers.

The shipped classifiers keep no class as bimodal on the images ``snapshot_detector_outputs.py``
uses, so the Random Walker, the per-class confidences and the mask are not exercised there. Here
six deterministic stand-ins (probability rising with a patch's residual energy, a different gain
each) make every map bimodal on a picture with a planted noisier region; three parameter sets are
run and their heatmaps, masks, scores, extra maps and per-class figures stored or compared::

    PYTHONPATH=/tmp/old python scripts/compare_resampling_segmentation.py record /tmp/seg   # old code
    python scripts/compare_resampling_segmentation.py compare /tmp/seg                      # new code

(``git archive <commit> forensics_core | tar -x -C /tmp/old`` gives the old code; ``tests`` are
taken from this checkout.) Exits 1 when anything differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests.planted, whichever forensics_core runs

from forensics_core.detectors.resampling import ResamplingDetector  # noqa: E402
from forensics_core.evidence import load_evidence  # noqa: E402
from forensics_core.features.resampling import BUNK_SPEC, iter_feature_strips, laplacian_residual  # noqa: E402
from tests.planted import noisy_image_with_planted_region, write_png  # noqa: E402

CLASSES = ("jpeg_quality", "upsampling", "downsampling", "rotation_cw", "rotation_ccw", "shearing")
RUNS = {"random-walker": {}, "otsu-maximum": {"use_random_walker": False, "heatmap": "maximum"},
        "deviation-stride16": {"heatmap": "deviation", "stride": 16}}


class ResidualEnergy(nn.Module):
    """Stand-in classifier: log-odds ``gain * (log mean of the last 46 features - centre)``."""

    def __init__(self, centre: float, gain: float) -> None:
        super().__init__()
        self.centre, self.gain = centre, gain

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        level = features[:, -46:].mean(dim=1, keepdim=True).log()
        return torch.cat([torch.zeros_like(level), self.gain * (level - self.centre)], dim=1)


def outputs(folder: Path) -> dict[str, np.ndarray]:
    rgb, _ = noisy_image_with_planted_region(height=192, width=256)
    evidence = load_evidence(write_png(folder / "planted.png", rgb))
    residual = laplacian_residual(evidence.luminance())
    levels = torch.cat([f for _, _, f in iter_feature_strips(residual, BUNK_SPEC, 8)])[:, -46:].mean(dim=1).log()
    centre = float(levels.median() + levels.max()) / 2
    models = {name: ResidualEnergy(centre, 4.0 + index) for index, name in enumerate(CLASSES)}
    arrays: dict[str, np.ndarray] = {}
    for label, params in RUNS.items():
        result = ResamplingDetector(models).run(evidence, params, device="cpu")
        arrays.update({f"{label}/heatmap": result.heatmap, f"{label}/mask": result.mask,
                       f"{label}/score": np.float64(result.score)})
        arrays.update({f"{label}/{name}": values for name, values in result.extra_maps.items()})
        typed = getattr(result, "per_class", None)  # before issue 16 the figures lived in extra["per_class"]
        per_class = {n: s.to_json() for n, s in typed.items()} if typed else result.extra["per_class"]
        per_class = {n: {k: v for k, v in e.items() if k != "map"} for n, e in per_class.items()}
        arrays[f"{label}/per_class"] = np.array(json.dumps(per_class, sort_keys=True))
        print(f"{label}: score {result.score:.6f}, kept {[n for n, e in per_class.items() if e['kept']]}")
    return arrays


def main() -> int:
    action, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    arrays = outputs(folder)
    if action == "record":
        np.savez(folder / "recorded.npz", **arrays)
        return 0
    with np.load(folder / "recorded.npz") as stored:
        before = {key: stored[key] for key in stored.files}
    different = [key for key in sorted(set(before) | set(arrays)) if key not in before or key not in arrays
                 or before[key].dtype != np.asarray(arrays[key]).dtype
                 or not np.array_equal(before[key], np.asarray(arrays[key]))]
    verdict = "DIFFERENT " + ", ".join(different) if different else "all bit-identical"
    print(f"compared {len(arrays)} entries: {verdict}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
