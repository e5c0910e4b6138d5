"""Camera-like pictures and splices that differ only in the camera's traces.

A camera samples the scene through a Bayer colour filter array (one colour per photosite), adds
sensor noise to the raw values, quantises them and interpolates the missing colours
(demosaicing). :func:`camera_pipeline` does the same to any continuous RGB picture, with OpenCV's
bilinear (or VNG) demosaicing. :func:`camera_splice` pastes into such a picture a region of the
*same* scene processed differently, so that only the processing betrays it:

- ``noise``: the same pipeline with three times the sensor noise;
- ``demosaic``: VNG demosaicing on a CFA shifted by one photosite;
- ``resampled``: the host's pipeline, then enlarged by 1.5 (no CFA lattice left).

:func:`write_camera_splice_benchmark` writes such splices of the validation photographs as a
benchmark folder (``images/``, ``masks/``, ``authentic/``) for ``tamper-workbench evaluate``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from forensics_core.atomic import write_png_atomic
from forensics_core.synth.data import load_photo, object_masks, photo_split
from forensics_core.synth.shapes import random_region

#: How the pasted region was processed, by name (see the module notes).
SPLICE_KINDS = ("noise", "demosaic", "resampled")
#: Sensor noise of the host camera: standard deviation of the raw values on the 0..255 scale.
HOST_RAW_NOISE = 2.0
#: Enlargement of the ``resampled`` donor.
RESAMPLING_FACTOR = 1.5
#: OpenCV's demosaicing codes by the CFA offset (rows, columns) of an RGGB layout.
_OPENCV_PATTERN = {(0, 0): "RGGB", (0, 1): "GRBG", (1, 0): "GBRG", (1, 1): "BGGR"}


def bayer_mosaic(rgb: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Sample an HxWx3 picture through an RGGB filter array shifted by ``offset`` (rows, columns)."""
    height, width, _ = rgb.shape
    rows = (np.arange(height)[:, None] + offset[0]) % 2
    cols = (np.arange(width)[None, :] + offset[1]) % 2
    channel = np.where((rows == 0) & (cols == 0), 0, np.where((rows == 1) & (cols == 1), 2, 1))
    return np.take_along_axis(rgb, channel[..., None], axis=2)[..., 0]


def camera_pipeline(scene: np.ndarray, rng: np.random.Generator, raw_noise: float = HOST_RAW_NOISE,
                    vng: bool = False, cfa_offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """A uint8 RGB picture of ``scene`` (HxWx3 float in [0, 1]) as a Bayer camera records it.

    Mosaic (RGGB shifted by ``cfa_offset``), Gaussian raw noise of standard deviation ``raw_noise``
    (0..255 scale), 8-bit quantisation, and OpenCV demosaicing (bilinear, or VNG when ``vng``).
    """
    raw = bayer_mosaic(scene, cfa_offset) * 255.0 + rng.normal(0.0, raw_noise, scene.shape[:2])
    mosaic = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
    name = _OPENCV_PATTERN[(cfa_offset[0] % 2, cfa_offset[1] % 2)]
    return cv2.cvtColor(mosaic, getattr(cv2, f"COLOR_Bayer{name}2RGB" + ("_VNG" if vng else "")))


def donor_picture(kind: str, scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``scene`` processed as the ``kind`` donor (see the module notes), with noise drawn from ``rng``."""
    if kind == "noise":
        return camera_pipeline(scene, rng, raw_noise=3 * HOST_RAW_NOISE)
    if kind == "demosaic":
        return camera_pipeline(scene, rng, vng=True, cfa_offset=(0, 1))
    if kind == "resampled":
        height, width = scene.shape[:2]
        enlarged = cv2.resize(camera_pipeline(scene, rng), None, fx=RESAMPLING_FACTOR, fy=RESAMPLING_FACTOR,
                              interpolation=cv2.INTER_LINEAR)
        top, left = (enlarged.shape[0] - height) // 2, (enlarged.shape[1] - width) // 2
        return np.ascontiguousarray(enlarged[top:top + height, left:left + width])
    raise ValueError(f"unknown splice kind {kind!r}; expected one of {SPLICE_KINDS}")


def camera_splice(scene: np.ndarray, kind: str, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The camera picture of ``scene`` with the ``mask`` region taken from a ``kind`` donor of it."""
    forged = camera_pipeline(scene, rng)
    donor = donor_picture(kind, scene, rng)
    forged[mask] = donor[mask]
    return forged


def write_camera_splice_benchmark(out_dir: Path, n_forged: int = 30, n_authentic: int = 15,
                                  size: tuple[int, int] = (384, 512), seed: int = 2015) -> Path:
    """Camera-like splices of the validation photographs, kinds in turn, and camera-like originals.

    Each photograph (a random ``size`` crop, or whole when smaller) is the scene; regions are
    :func:`~forensics_core.synth.shapes.random_region` shapes. Deterministic for a seed.
    """
    photos = photo_split(include_large=False).val
    masks = object_masks()
    rng = np.random.default_rng(seed)

    def scene() -> np.ndarray:
        photo = load_photo(photos[int(rng.integers(len(photos)))])
        height, width = min(size[0], photo.shape[0]), min(size[1], photo.shape[1])
        top = int(rng.integers(0, photo.shape[0] - height + 1))
        left = int(rng.integers(0, photo.shape[1] - width + 1))
        return photo[top:top + height, left:left + width].astype(np.float32) / 255.0

    for index in range(n_forged):
        kind = SPLICE_KINDS[index % len(SPLICE_KINDS)]
        picture = scene()
        mask = random_region(picture.shape[0], picture.shape[1], rng, masks)
        name = f"camera_{index:03d}_{kind}"
        write_png_atomic(out_dir / "images" / f"{name}.png", camera_splice(picture, kind, mask, rng))
        write_png_atomic(out_dir / "masks" / f"{name}.png", mask.astype(np.uint8) * 255)
    for index in range(n_authentic):
        write_png_atomic(out_dir / "authentic" / f"camera_{index:03d}.png", camera_pipeline(scene(), rng))
    return out_dir
