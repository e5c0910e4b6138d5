"""Benchmark of saving a case's maps (issue: a 12 MP resampling result made a 550 MB case file).

For a 12-megapixel (4000 x 3000) result shaped like the resampling detector's (a heatmap and six
per-class maps computed on a 16-pixel grid and interpolated to full size, float64 per-class maps
as the detector returns them), and for a worst case with full-resolution noise in every map,
prints the bytes and seconds of:

* the earlier case format (heatmap float32, mask bool, per-class maps as given, ``savez_compressed``);
* :func:`forensics_core.case.maps.encode_maps` with the per-class maps (8-bit with scale);
* the same without the per-class maps (``include_extra=False``);

and the largest heatmap error after reading the compact form back. Asserts nothing.
Run: ``python benchmarks/bench_case_save.py``. Timings depend on the machine's load.
"""

from __future__ import annotations

import io
import time

import cv2
import numpy as np

from forensics_core.case.maps import decode_maps, encode_maps

HEIGHT, WIDTH, CLASSES = 3000, 4000, 6


def grid_map(rng: np.random.Generator, dtype: type) -> np.ndarray:
    """A map computed on a 16-pixel grid and interpolated to full size (like the resampling maps)."""
    coarse = rng.random((HEIGHT // 16, WIDTH // 16)).astype(np.float32)
    return cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR).astype(dtype)


def noise_map(rng: np.random.Generator, dtype: type) -> np.ndarray:
    """Full-resolution noise: the worst case for compression."""
    return rng.random((HEIGHT, WIDTH)).astype(dtype)


def earlier_format(heatmap: np.ndarray, mask: np.ndarray, extra: dict[str, np.ndarray]) -> bytes:
    """What the single-image case file stored before compact maps."""
    arrays = {"r0_heatmap": heatmap.astype(np.float32), "r0_mask": mask.astype(bool)}
    arrays.update({f"r0_extra{i}": values for i, values in enumerate(extra.values())})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    for label, make in (("grid-like maps (resampling)", grid_map), ("full-resolution noise (worst case)", noise_map)):
        heatmap = make(rng, np.float32)
        extra = {f"class {i}": make(rng, np.float64) for i in range(CLASSES)}
        mask = heatmap > 0.6
        old, old_s = timed(earlier_format, heatmap, mask, extra)
        (new, scales), new_s = timed(encode_maps, heatmap, mask, extra, True)
        (lean, lean_scales), lean_s = timed(encode_maps, heatmap, mask, extra, False)
        back = decode_maps(lean, HEIGHT, WIDTH, lean_scales)
        error = float(np.abs(back.heatmap - heatmap).max())
        print(f"{label}, {HEIGHT}x{WIDTH} px, {CLASSES} per-class maps:")
        print(f"  earlier format (float32 + float64 maps):  {len(old) / 1e6:8.1f} MB  {old_s:6.1f} s")
        print(f"  compact, with per-class maps (8-bit):     {len(new) / 1e6:8.1f} MB  {new_s:6.1f} s")
        print(f"  compact, heatmap and mask only:           {len(lean) / 1e6:8.1f} MB  {lean_s:6.1f} s")
        print(f"  largest heatmap error after reading back: {error:.2e} (float16)")


if __name__ == "__main__":
    main()
