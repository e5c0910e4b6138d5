"""Measured peak memory per pixel of every trained detector, against its memory estimate.

Each detector runs, in a fresh process, on a 512x384 and a 1536x1152 JPEG; the slope of the
process's peak memory growth between the two sizes is its working set per pixel. The table says
whether :meth:`Detector.estimate_peak_bytes` (what the memory budget checks) covers the measured
peak at 20 megapixels, extrapolated from the slope. Run from the repository root::

    python benchmarks/bench_memory_budget.py [--detectors ID ...]
    python benchmarks/bench_memory_budget.py --detectors copy-move --megapixels 0.5 2 6 20

With ``--megapixels`` each detector runs at each of those sizes instead (4:3 pictures), and the
table compares the measured peak growth with the estimate at every size (for detectors whose
working set is not proportional to the picture, such as copy-move, which downscales).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = ((384, 512), (1152, 1536))
PROJECTED_PIXELS = 20_000_000


def _image(folder: Path, height: int, width: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1).astype(np.float32)
    rgb = np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)
    path = folder / f"{width}x{height}.jpg"
    Image.fromarray(rgb).save(path, "JPEG", quality=92)
    return path


def _child(detector_id: str, image: str, params: list[str]) -> None:
    from bench_resampling import measure_peak_memory

    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence

    detector = get_detector(detector_id)
    evidence = load_evidence(image)
    values = detector.validate_params(dict(pair.split("=", 1) for pair in params))  # as --param NAME=VALUE
    _, figures = measure_peak_memory(detector, evidence, values)
    figures["estimate"] = detector.estimate_peak_bytes(evidence, values)
    print(json.dumps(figures))


def _measure(detector_id: str, image: Path, params: list[str] = ()) -> dict | None:
    """Peak memory figures of one run in a fresh process (None when the run failed)."""
    child = subprocess.run([sys.executable, __file__, "--child", detector_id, str(image), *params],
                           capture_output=True, text=True)
    if child.returncode != 0:
        print(f"| {detector_id} | {image.name}: failed: "
              f"{(child.stderr.strip().splitlines() or ['?'])[-1][:80]} | | | |", flush=True)
        return None
    return json.loads(child.stdout.strip().splitlines()[-1])


def per_size_table(detectors: list, megapixels: list[float], params: list[str] = ()) -> None:
    """Measured peak growth against the estimate at each picture size."""
    print("| detector | picture | peak growth | estimate | estimate / measured |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in megapixels:
            width = int((size * 1e6 * 4 / 3) ** 0.5)
            image = _image(Path(tmp), width * 3 // 4, width)
            for detector in detectors:
                run = _measure(detector.id, image, params)
                if run is None:
                    continue
                growth = (run["peak_kib"] - run["before_kib"]) * 1024
                print(f"| {detector.id} | {run['width']}x{run['height']} ({run['width'] * run['height'] / 1e6:.1f} MP) "
                      f"| {growth / 2**20:.0f} MB | {run['estimate'] / 2**20:.0f} MB "
                      f"| {run['estimate'] / max(growth, 1):.2f} |", flush=True)
            image.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="*")
    parser.add_argument("--megapixels", nargs="*", type=float,
                        help="measure at these sizes and compare with the estimate at each")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="detector parameter for --megapixels runs (repeatable)")
    parser.add_argument("--child", nargs="+", metavar="DETECTOR IMAGE [NAME=VALUE ...]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.child[2:])
        return 0
    from forensics_core.detectors import list_detectors

    detectors = [d for d in list_detectors() if d.is_trained() and (not args.detectors or d.id in args.detectors)]
    if args.megapixels:
        if args.param:
            print(f"Parameters: {', '.join(args.param)}")
        per_size_table(detectors, args.megapixels, args.param)
        return 0
    print("| detector | peak growth 0.2 MP | peak growth 1.8 MP | measured bytes/pixel | declared bytes/pixel "
          f"| estimate covers {PROJECTED_PIXELS / 1e6:.0f} MP |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        images = [_image(Path(tmp), h, w) for h, w in SIZES]
        for detector in detectors:
            runs = []
            for image in images:
                child = subprocess.run([sys.executable, __file__, "--child", detector.id, str(image)],
                                       capture_output=True, text=True)
                if child.returncode != 0:
                    runs = None
                    print(f"| {detector.id} | failed: {(child.stderr.strip().splitlines() or ['?'])[-1][:80]} "
                          "| | | | |")
                    break
                runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
            if not runs:
                continue
            growth = [(r["peak_kib"] - r["before_kib"]) * 1024 for r in runs]
            pixels = [r["height"] * r["width"] for r in runs]
            slope = max((growth[1] - growth[0]) / (pixels[1] - pixels[0]), 0.0)
            projected = growth[1] + slope * (PROJECTED_PIXELS - pixels[1])
            declared = (runs[1]["estimate"] - detector.working_bytes_fixed) / pixels[1]
            estimate = declared * PROJECTED_PIXELS + detector.working_bytes_fixed
            covered = "yes" if estimate >= projected else f"NO ({projected / 2**30:.1f} GB > {estimate / 2**30:.1f} GB)"
            print(f"| {detector.id} | {growth[0] / 2**20:.0f} MB | {growth[1] / 2**20:.0f} MB | {slope:.0f} "
                  f"| {declared:.0f} | {covered} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
