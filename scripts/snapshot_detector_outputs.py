"""Record every trained detector's output on fixed images, or check it against a recording.

A refactor that must not change any result is checked with it: record before, compare after::

    python scripts/snapshot_detector_outputs.py record /tmp/before IMAGE...
    python scripts/snapshot_detector_outputs.py compare /tmp/before IMAGE...

For each image and each trained detector (with its default parameters, plus the variants listed
in :data:`VARIANTS`) it stores the heatmap, mask, extra maps, score, threshold and the JSON
``extra`` and ``weights_sha256`` provenance in ``<folder>/<image stem>__<run>.npz``. ``compare``
reruns the same detectors and reports, for each run, whether every array is bit-identical
(``numpy.array_equal`` on the same dtype) and every figure equal; it exits 1 on any difference.
Detectors without weights are skipped and listed; to cover them, point ``TAMPER_WEIGHTS_DIR`` at
a copy of ``weights/`` with seeded random weights added (see the report of issue 16).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from forensics_core.detectors import list_detectors
from forensics_core.evidence import load_evidence

#: Non-default parameter sets also recorded, {detector id: [params, ...]}.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "resampling": [{"heatmap": "deviation"}, {"heatmap": "maximum", "use_random_walker": False}],
    "lstm-endec": [{"mode": "tiled"}],
}


def _runs(only: list[str]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(run name, detector, params) for every trained detector (of ``only`` when given) and variant."""
    runs = []
    for detector in list_detectors():
        if only and detector.id not in only:
            continue
        if not detector.is_trained():
            print(f"skipped (not trained): {detector.id}")
            continue
        for index, params in enumerate([{}] + VARIANTS.get(detector.id, [])):
            runs.append((detector.id if not index else f"{detector.id}-{index}", detector, params))
    return runs


def _snapshot(detector: Any, params: dict[str, Any], image: Path) -> dict[str, np.ndarray]:
    """The arrays and JSON figures of one run, as a flat dict for ``np.savez``."""
    result = detector.run(load_evidence(image), params, device="cpu")
    arrays = {"heatmap": result.heatmap, "mask": result.mask,
              "score": np.float64(result.score), "threshold": np.float64(result.threshold)}
    for name, values in result.extra_maps.items():
        arrays[f"extra_map/{name}"] = values
    summary = result.summary()
    figures = {"extra": summary["extra"], "per_class": summary.get("per_class", {}),
               "weights_sha256": result.provenance["weights_sha256"]}
    arrays["json"] = np.array(json.dumps(figures, sort_keys=True))
    return arrays


def _normalised_figures(text: str) -> str:
    """The recorded JSON figures in one layout, wherever the per-class summary was kept.

    Before issue 16 the resampling detector's per-class summary lived in ``extra`` (``classes``,
    ``kept_classes``, ``per_class``); since then it is ``Result.per_class`` (its entries also name
    their map). Both are brought to: ``extra`` without those keys, the class names in order, the
    kept ones, and each class's figures.
    """
    figures = json.loads(text)
    extra = dict(figures["extra"])
    per_class = figures.get("per_class") or extra.get("per_class") or {}
    for key in ("classes", "kept_classes", "per_class"):
        extra.pop(key, None)
    entries = {name: {k: v for k, v in entry.items() if k != "map"} for name, entry in per_class.items()}
    return json.dumps({"extra": extra, "classes": list(per_class),
                       "kept_classes": [name for name, entry in per_class.items() if entry["kept"]],
                       "per_class": entries, "weights_sha256": figures["weights_sha256"]}, sort_keys=True)


def _differences(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> list[str]:
    """Names of the entries that differ (missing, other dtype or shape, other values)."""
    differences = []
    for name in sorted(set(before) | set(after)):
        if name == "json" and name in before and name in after:
            if _normalised_figures(str(before[name])) != _normalised_figures(str(after[name])):
                differences.append("JSON figures differ")
        elif name not in before or name not in after:
            differences.append(f"{name}: only {'after' if name in after else 'before'}")
        elif before[name].dtype != after[name].dtype or not np.array_equal(before[name], after[name]):
            differences.append(f"{name}: differs")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("images", type=Path, nargs="+")
    parser.add_argument("--only", action="append", default=[], metavar="DETECTOR",
                        help="record or compare only this detector (repeatable)")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    failures = 0
    for name, detector, params in _runs(args.only):
        for image in args.images:
            path = args.folder / f"{image.stem}__{name}.npz"
            if args.action == "compare" and not path.exists():
                print(f"not recorded (skipped): {path.name}")
                continue
            arrays = _snapshot(detector, params, image)
            if args.action == "record":
                np.savez_compressed(path, **arrays)
                print(f"recorded {path.name}: score {float(arrays['score']):.6f}")
                continue
            with np.load(path) as stored:
                before = {key: stored[key] for key in stored.files}
            differences = _differences(before, {key: np.asarray(value) for key, value in arrays.items()})
            failures += bool(differences)
            print(f"{'DIFFERENT' if differences else 'identical'} {path.name}"
                  + (": " + "; ".join(differences) if differences else f" ({len(arrays)} entries)"))
    if args.action == "compare":
        print("all bit-identical" if not failures else f"{failures} runs differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
