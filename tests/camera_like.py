"""Camera-like test pictures of synthetic scenes (the camera itself is :mod:`forensics_core.synth.camera`).

The pristine picture is a continuous scene recorded as a Bayer camera records it: RGGB mosaic,
sensor noise, 8-bit raw values, OpenCV bilinear demosaicing. A forgery pastes a region of the same
scene processed differently (``noise``, ``demosaic`` or ``resampled``: see
:mod:`forensics_core.synth.camera`), so that only the processing, not the content, betrays it.
Everything is deterministic for a seed, so tests know the answer exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

from forensics_core.synth import camera
from forensics_core.synth.camera import HOST_RAW_NOISE, SPLICE_KINDS

__all__ = ["SPLICE_KINDS", "camera_picture", "camera_splice", "composite_forgery", "region_mask", "scene"]


def scene(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A continuous colour scene in [0, 1]: smooth shading, soft blobs, a few edges, fine texture."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    for channel in range(3):
        phase = rng.uniform(0, 2 * np.pi, 4)
        image[..., channel] = (0.45 + 0.15 * np.sin(xx / rng.uniform(30, 70) + phase[0])
                               + 0.12 * np.cos(yy / rng.uniform(25, 60) + phase[1]))
    for _ in range(8):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.05, 0.2) * min(height, width)
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2) < radius ** 2
        image[inside] = 0.6 * image[inside] + 0.4 * rng.uniform(0.1, 0.9, 3).astype(np.float32)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.2)
    image += 0.04 * texture[..., None]
    return np.clip(cv2.GaussianBlur(image, (0, 0), 0.7), 0.02, 0.98)


def camera_picture(height: int, width: int, seed: int, raw_noise: float = HOST_RAW_NOISE,
                   vng: bool = False, cfa_offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The camera-like uint8 RGB picture of the random scene ``seed``."""
    return camera.camera_pipeline(scene(height, width, np.random.default_rng(seed)), np.random.default_rng(seed + 1),
                                  raw_noise, vng, cfa_offset)


def region_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A filled ellipse covering roughly 8-15 % of the frame, away from the borders."""
    mask = np.zeros((height, width), np.uint8)
    centre = (int(rng.uniform(0.35, 0.65) * width), int(rng.uniform(0.35, 0.65) * height))
    axes = (int(rng.uniform(0.17, 0.22) * width), int(rng.uniform(0.17, 0.22) * height))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask.astype(bool)


def donor_picture(kind: str, height: int, width: int, seed: int) -> np.ndarray:
    """Scene ``seed`` processed as a ``kind`` donor, with noise of its own."""
    return camera.donor_picture(kind, scene(height, width, np.random.default_rng(seed)),
                                np.random.default_rng(seed + 7919))


def camera_splice(kind: str, height: int = 256, width: int = 320, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A camera-like picture with a region pasted from a ``kind`` donor: (uint8 RGB, bool mask)."""
    forged = camera_picture(height, width, seed)
    mask = region_mask(height, width, np.random.default_rng(seed + 2000))
    forged[mask] = donor_picture(kind, height, width, seed)[mask]
    return forged, mask


def jpeg_round_trip(rgb: np.ndarray, quality: int, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``rgb`` compressed as JPEG at ``quality`` on an 8x8 grid shifted by ``shift`` (rows, columns)
    and decoded again."""
    padded = np.pad(rgb, ((shift[0], 0), (shift[1], 0), (0, 0)), mode="edge")
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(padded, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(decoded[shift[0]:, shift[1]:])


def _copy_block(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with a square of a fifth of its height copied from its top-right to its bottom-left corner."""
    height, width = rgb.shape[:2]
    side, margin = height // 5, 10
    out = rgb.copy()
    out[height - side - margin:height - margin, margin:margin + side] = \
        rgb[margin:margin + side, width - side - margin:width - margin]
    return out


def composite_forgery(height: int = 256, width: int = 320, seed: int = 0, jpeg_host: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """A pristine picture and a forgery of it that differs in every trace at once.

    The pristine picture is camera-like (or, with ``jpeg_host``, that picture after a JPEG round
    trip at this quality, as a camera JPEG decoded to PNG). The forgery pastes a region whose donor
    was resampled (no CFA lattice), has twice the host's noise and went through JPEG at quality 60
    on a grid shifted by (3, 5); and it copies a square of the picture elsewhere (copy-move).
    Returns (pristine uint8 RGB, forged uint8 RGB).
    """
    pristine = camera_picture(height, width, seed)
    if jpeg_host is not None:
        pristine = jpeg_round_trip(pristine, jpeg_host)
    rng = np.random.default_rng(seed + 3000)
    donor = donor_picture("resampled", height, width, seed).astype(np.float64)
    donor = np.clip(np.rint(donor + rng.normal(0.0, 2 * HOST_RAW_NOISE, donor.shape)), 0, 255).astype(np.uint8)
    donor = jpeg_round_trip(donor, 60, (3, 5))
    mask = region_mask(height, width, np.random.default_rng(seed + 2000))
    forged = pristine.copy()
    forged[mask] = donor[mask]
    return pristine, _copy_block(forged)
