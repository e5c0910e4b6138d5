"""Camera-like test images: a raw Bayer mosaic with sensor noise, demosaiced by OpenCV.

The pristine picture is made as a camera makes it: a continuous scene is sampled through an RGGB
colour filter array (one colour per photosite), sensor noise is added to the raw values, the
mosaic is quantised to 8 bits and demosaiced by OpenCV's bilinear interpolation. A forgery pastes
a region from a picture of the same scene that went through a different pipeline, so that only
the processing, not the content, betrays it:

- ``noise``: the same camera pipeline with three times the sensor noise;
- ``demosaic``: demosaiced by OpenCV's VNG algorithm on a CFA shifted by one photosite;
- ``resampled``: demosaiced as the host, then resampled by a factor of 1.5 (no CFA lattice left).

Everything is deterministic for a seed, so tests know the answer exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

#: How the pasted region was processed, by name (see the module notes).
SPLICE_KINDS = ("noise", "demosaic", "resampled")

#: Sensor noise of the host camera (standard deviation of the raw values on the 0..255 scale).
HOST_RAW_NOISE = 2.0


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


def bayer_mosaic(rgb: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Sample an HxWx3 image through an RGGB filter array shifted by ``offset`` (rows, columns)."""
    height, width, _ = rgb.shape
    rows = (np.arange(height)[:, None] + offset[0]) % 2
    cols = (np.arange(width)[None, :] + offset[1]) % 2
    channel = np.where((rows == 0) & (cols == 0), 0, np.where((rows == 1) & (cols == 1), 2, 1))
    return np.take_along_axis(rgb, channel[..., None], axis=2)[..., 0]


def camera_picture(height: int, width: int, seed: int, raw_noise: float = HOST_RAW_NOISE,
                   vng: bool = False, cfa_offset: tuple[int, int] = (0, 0), noise_seed: int | None = None
                   ) -> np.ndarray:
    """A camera-like uint8 RGB picture of the random scene ``seed`` (see the module notes)."""
    raw = bayer_mosaic(scene(height, width, np.random.default_rng(seed)), cfa_offset) * 255.0
    noise_rng = np.random.default_rng(seed + 1 if noise_seed is None else noise_seed)
    raw = raw + noise_rng.normal(0.0, raw_noise, raw.shape)
    mosaic = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
    # OpenCV names the pattern by the second row's first two photosites, shifted by the offset.
    patterns = {(0, 0): "BG", (0, 1): "GB", (1, 0): "GR", (1, 1): "RG"}
    name = f"COLOR_Bayer{patterns[(cfa_offset[0] % 2, cfa_offset[1] % 2)]}2RGB" + ("_VNG" if vng else "")
    return cv2.cvtColor(mosaic, getattr(cv2, name))


def region_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A filled ellipse covering roughly 8-15 % of the frame, away from the borders."""
    mask = np.zeros((height, width), np.uint8)
    centre = (int(rng.uniform(0.35, 0.65) * width), int(rng.uniform(0.35, 0.65) * height))
    axes = (int(rng.uniform(0.17, 0.22) * width), int(rng.uniform(0.17, 0.22) * height))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask.astype(bool)


def donor_picture(kind: str, height: int, width: int, seed: int) -> np.ndarray:
    """Scene ``seed`` processed differently (``kind`` in :data:`SPLICE_KINDS`), with its own noise."""
    noise_seed = seed + 7919
    if kind == "noise":
        return camera_picture(height, width, seed, raw_noise=3 * HOST_RAW_NOISE, noise_seed=noise_seed)
    if kind == "demosaic":
        return camera_picture(height, width, seed, vng=True, cfa_offset=(0, 1), noise_seed=noise_seed)
    if kind == "resampled":
        picture = camera_picture(height, width, seed, noise_seed=noise_seed)
        top, left = height // 6, width // 6
        return cv2.resize(picture, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)[top:top + height,
                                                                                             left:left + width]
    raise ValueError(f"unknown splice kind {kind!r}; expected one of {SPLICE_KINDS}")


def camera_splice(kind: str, height: int = 256, width: int = 320, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A camera-like picture with a region pasted from a ``kind`` donor: (uint8 RGB, bool mask)."""
    host = camera_picture(height, width, seed)
    donor = donor_picture(kind, height, width, seed)
    mask = region_mask(height, width, np.random.default_rng(seed + 2000))
    forged = host.copy()
    forged[mask] = donor[mask]
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
