"""A browsable gallery of synthetic samples, for checking the forgery factory by eye.

``python -m forensics_core.synth.gallery OUT_DIR [--n-per-kind N] [--seed S] [--size PX]`` writes
``OUT_DIR/index.html`` and one PNG per sample: the sample on the left, and on the right the same
picture with the ground-truth mask tinted red and outlined.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from forensics_core.atomic import write_png_atomic, write_text_atomic
from forensics_core.render import outline
from forensics_core.synth.data import object_masks, photo_split
from forensics_core.synth.datasets import FORGERY_KINDS, ForgeryDataset

_TINT = np.array([255.0, 0.0, 0.0])
_TINT_OPACITY = 0.4
_GAP = 4


def write_gallery(out_dir: str | Path, n_per_kind: int = 4, seed: int = 0, size: int = 256) -> Path:
    """Write ``n_per_kind`` samples of every kind (pristine and each manipulation) with an index page.

    Samples come from :class:`~forensics_core.synth.datasets.ForgeryDataset` over the training
    photographs, with the same post-processing distribution as in training. Sample ``i`` of every
    kind starts from the same photograph, crop and post-processing, so the pristine row shows what
    the manipulated rows started from. Every file is written
    atomically (a temporary file, then :func:`os.replace`).

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into; created if missing. Existing files of the same names are replaced.
    n_per_kind : int, optional
        Samples per kind.
    seed : int, optional
        Dataset seed; item ``i`` of a kind is reproducible from it.
    size : int, optional
        Side of the samples in pixels.

    Returns
    -------
    index : Path
        The ``index.html`` written.

    Raises
    ------
    FileNotFoundError
        When the shared data cannot be found.
    """
    out = Path(out_dir)
    photos, masks = photo_split().train, object_masks()
    rows = []
    for kind in ("pristine",) + FORGERY_KINDS:
        dataset = ForgeryDataset(photos, masks, size=size, length=n_per_kind, seed=seed,
                                 pristine_fraction=1.0 if kind == "pristine" else 0.0,
                                 kinds=FORGERY_KINDS if kind == "pristine" else (kind,))
        for index in range(n_per_kind):
            image, mask, labels = dataset.sample(index)
            name = f"{kind}_{index:02d}.png"
            write_png_atomic(out / name, side_by_side(image, mask))
            rows.append(_row(name, kind, mask, labels))
    page = _PAGE.format(seed=seed, size=size, rows="\n".join(rows))
    return write_text_atomic(out / "index.html", page)


def side_by_side(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` and, to its right after a white gap, the image with ``mask`` tinted red and outlined."""
    tinted = image.astype(np.float64)
    tinted[mask] = (1.0 - _TINT_OPACITY) * tinted[mask] + _TINT_OPACITY * _TINT
    marked = outline(np.rint(tinted).astype(np.uint8), mask, colour=(255, 40, 40), thickness=1)
    gap = np.full((image.shape[0], _GAP, 3), 255, dtype=np.uint8)
    return np.concatenate([image, gap, marked], axis=1)


def _row(name: str, kind: str, mask: np.ndarray, labels: dict) -> str:
    summary = f"{kind}, {100.0 * mask.mean():.1f} % manipulated"
    return (f'<tr><td><img src="{html.escape(name)}" alt="{html.escape(name)}"></td>'
            f"<td><b>{html.escape(summary)}</b><pre>{html.escape(json.dumps(labels, indent=1))}</pre></td></tr>")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Synthetic forgeries (seed {seed})</title>
<style>
body{{font-family:sans-serif}} td{{vertical-align:top;padding:6px}}
pre{{font-size:11px;max-height:{size}px;overflow:auto}}
</style>
</head><body>
<h1>Synthetic forgeries, seed {seed}, {size}x{size}</h1>
<p>Left: the sample. Right: the ground-truth mask tinted red and outlined.</p>
<table>
{rows}
</table></body></html>
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m forensics_core.synth.gallery OUT_DIR``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m forensics_core.synth.gallery",
                                     description="Write a browsable gallery of synthetic forgeries.")
    parser.add_argument("out_dir", help="folder for index.html and the PNGs")
    parser.add_argument("--n-per-kind", type=int, default=4, help="samples per kind (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--size", type=int, default=256, help="sample side in pixels (default 256)")
    args = parser.parse_args(argv)
    try:
        index = write_gallery(args.out_dir, n_per_kind=args.n_per_kind, seed=args.seed, size=args.size)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"gallery written: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
