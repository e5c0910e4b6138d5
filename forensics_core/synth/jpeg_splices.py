"""Synthetic JPEG splices: a region pasted into a JPEG that is then saved as a JPEG again.

Made from the held-out validation photographs only (never JPEG-compressed before), so the only
compression traces are the ones planted here. Each forgery is built as an examiner's typical
case:

* the target photograph is compressed at quality ``q1`` (libjpeg, 4:2:0) and decoded;
* ``aligned``: the first compression's 8x8 grid coincides with the final one;
  ``nonaligned``: the target was compressed on a grid shifted by ``(dy, dx)`` (not both 0),
  as when a JPEG is cropped before editing (Bianchi & Piva, IEEE TIFS 7(3), 2012, call this
  non-aligned double compression);
* a region (object mask, polygon or blob) is copied from another, uncompressed, validation
  photograph to the same place;
* the result is saved at quality ``q2``. Both qualities are drawn uniformly from 60..98.

The region is therefore compressed once, the rest twice. Authentic images are the same
targets without the paste: half saved once at ``q2``, half compressed at ``q1`` and saved
again at ``q2`` (a double-compressed picture is not a forgery).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_json_atomic, write_png_atomic
from forensics_core.synth.benchmark import VALIDATION_SEED
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.shapes import random_region

#: Qualities are drawn uniformly from this closed range.
QUALITY_RANGE = (60, 98)
#: Seed offset so that this set never coincides with the other synthetic validation sets.
JPEG_SPLICE_SEED = VALIDATION_SEED + 90


@dataclass(frozen=True)
class JpegSample:
    """One JPEG file's bytes, its ground truth (None for authentic) and how it was made."""

    name: str
    jpeg: bytes
    mask: np.ndarray | None
    record: dict


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG bytes of uint8 RGB ``rgb`` at IJG ``quality`` (libjpeg through OpenCV, 4:2:0)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB array
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """uint8 RGB pixels of JPEG ``data``."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def compress_on_grid(rgb: np.ndarray, quality: int, shift: tuple[int, int]) -> np.ndarray:
    """``rgb`` compressed at ``quality`` on an 8x8 grid whose origin is at ``shift`` (rows, columns), decoded.

    The picture is padded by ``(8 - dy) % 8`` rows and ``(8 - dx) % 8`` columns on top and left
    (edge values), compressed, decoded and cropped back, so block boundaries fall on rows
    ``dy + 8 i`` and columns ``dx + 8 j``.
    """
    top, left = (8 - shift[0]) % 8, (8 - shift[1]) % 8
    padded = np.pad(rgb, ((top, 0), (left, 0), (0, 0)), mode="edge")
    return np.ascontiguousarray(decode_jpeg(encode_jpeg(padded, quality))[top:, left:])


def _crop(photo: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    height, width = min(size[0], photo.shape[0]), min(size[1], photo.shape[1])
    top = int(rng.integers(0, photo.shape[0] - height + 1))
    left = int(rng.integers(0, photo.shape[1] - width + 1))
    return np.ascontiguousarray(photo[top:top + height, left:left + width])


def jpeg_splices(count: int, n_authentic: int = 0, size: tuple[int, int] = (384, 384),
                 seed: int = JPEG_SPLICE_SEED, photos: Sequence[Path] | None = None) -> list[JpegSample]:
    """``count`` JPEG splices (alternately aligned and non-aligned) and ``n_authentic`` untouched JPEGs.

    Deterministic for a seed; regions cover 2 % to 40 % of the frame. ``photos`` are the
    photographs to draw from (default: the validation photographs; a training set passes the
    training photographs).
    """
    photos = tuple(photos) if photos is not None else photo_split(include_large=False).val
    masks = object_masks()
    rng = np.random.default_rng(seed)
    samples: list[JpegSample] = []
    for index in range(count + n_authentic):
        forged = index < count
        target_path, donor_path = rng.choice(len(photos), size=2, replace=False)
        target = _crop(load_photo(photos[int(target_path)]), size, rng)
        q1, q2 = (int(q) for q in rng.integers(QUALITY_RANGE[0], QUALITY_RANGE[1] + 1, size=2))
        kind = ("aligned" if index % 2 == 0 else "nonaligned") if forged else (
            "single" if index % 2 == 0 else "double")
        shift = (0, 0)
        if kind == "nonaligned":
            while shift == (0, 0):
                shift = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        record = {"kind": kind, "q1": q1, "q2": q2, "grid_shift": list(shift),
                  "target": photos[int(target_path)].name}
        if kind == "single":
            record["q1"] = None
            samples.append(JpegSample(f"single_{index:03d}", encode_jpeg(target, q2), None, record))
            continue
        first = compress_on_grid(target, q1, shift)
        if not forged:
            samples.append(JpegSample(f"double_{index:03d}", encode_jpeg(first, q2), None, record))
            continue
        donor = _crop(load_photo(photos[int(donor_path)]), target.shape[:2], rng)
        region = random_region(target.shape[0], target.shape[1], rng, masks, max_area=0.4) > 0.5
        image = first.copy()
        image[region] = donor[region]
        record.update({"donor": photos[int(donor_path)].name, "area": float(region.mean())})
        samples.append(JpegSample(f"splice_{index:03d}_{kind}", encode_jpeg(image, q2), region, record))
    return samples


def write_jpeg_splice_benchmark(out_dir: Path, count: int = 40, n_authentic: int = 20,
                                seed: int = JPEG_SPLICE_SEED) -> Path:
    """Write the set in the shared benchmark layout: ``images/*.jpg``, ``masks/*.png``, ``authentic/*.jpg``.

    ``records.json`` lists how each file was made (kind, q1, q2, grid shift, photographs).
    """
    records = {}
    for sample in jpeg_splices(count, n_authentic, seed=seed):
        folder = "images" if sample.mask is not None else "authentic"
        write_bytes_atomic(out_dir / folder / f"{sample.name}.jpg", sample.jpeg)
        if sample.mask is not None:
            write_png_atomic(out_dir / "masks" / f"{sample.name}.png", sample.mask.astype(np.uint8) * 255)
        records[sample.name] = sample.record
    write_json_atomic(out_dir / "records.json", records)
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m forensics_core.synth.jpeg_splices OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--forged", type=int, default=40)
    parser.add_argument("--authentic", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"JPEG splice benchmark written to {write_jpeg_splice_benchmark(Path(args.out), args.forged, args.authentic)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
