"""Geometric and signal operations on uint8 RGB images, shared by the manipulations, the global
post-processing and the resampling patch generator.

Every function takes and returns HxWx3 uint8 RGB arrays (values are rounded and clipped) and never
modifies its input. Interpolation is named by a string, so that it can be recorded in JSON labels:
``"nearest"``, ``"bilinear"``, ``"bicubic"`` or ``"area"``.
"""

from __future__ import annotations

import cv2
import numpy as np

INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}


def affine_resample(img: np.ndarray, matrix: np.ndarray, out_shape: tuple[int, int],
                    interpolation: str = "bilinear") -> np.ndarray:
    """Resample ``img`` under an affine map.

    Parameters
    ----------
    img : ndarray
        Source image (HxW or HxWxC).
    matrix : ndarray, shape (2, 3)
        Forward map from source pixel coordinates ``(x, y)`` to output pixel coordinates, as in
        :func:`cv2.warpAffine` (pixel centres at integer coordinates).
    out_shape : tuple of int
        ``(height, width)`` of the output.
    interpolation : str, optional
        One of :data:`INTERPOLATIONS` except ``"area"``.

    Returns
    -------
    out : ndarray
        Same dtype as ``img``. Output pixels that map outside the source take mirrored values
        (``BORDER_REFLECT_101``), so no black corners appear.
    """
    height, width = out_shape
    return cv2.warpAffine(img, np.asarray(matrix, dtype=np.float64), (width, height),
                          flags=INTERPOLATIONS[interpolation], borderMode=cv2.BORDER_REFLECT_101)


def resize(img: np.ndarray, out_shape: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize to ``out_shape = (height, width)``.

    Bilinear and bicubic reduction do not low-pass first, as in most image editors' fast paths;
    use ``"area"`` for an anti-aliased reduction.
    """
    height, width = out_shape
    return cv2.resize(img, (width, height), interpolation=INTERPOLATIONS[interpolation])


def rescale(img: np.ndarray, factor: float, interpolation: str = "bilinear") -> np.ndarray:
    """Resize by ``factor``: the output is ``round(H * factor) x round(W * factor)``, at least 1x1."""
    height, width = img.shape[:2]
    return resize(img, (max(1, round(height * factor)), max(1, round(width * factor))), interpolation)


def rotation_matrix(degrees: float, centre: tuple[float, float]) -> np.ndarray:
    """2x3 rotation about ``centre = (x, y)``; positive ``degrees`` turn the picture
    counter-clockwise as displayed (OpenCV's convention, y axis pointing down)."""
    return cv2.getRotationMatrix2D(centre, degrees, 1.0)


def shear_matrix(s: float, centre: tuple[float, float], axis: str = "x") -> np.ndarray:
    """2x3 shear about ``centre = (x, y)``: ``x' = x + s (y - cy)`` for ``axis="x"``, ``y' = y +
    s (x - cx)`` for ``axis="y"``."""
    cx, cy = centre
    if axis == "x":
        return np.array([[1.0, s, -s * cy], [0.0, 1.0, 0.0]])
    return np.array([[1.0, 0.0, 0.0], [s, 1.0, -s * cx]])


def rotate(img: np.ndarray, degrees: float, interpolation: str = "bilinear") -> np.ndarray:
    """Rotate about the image centre, keeping the size (see :func:`rotation_matrix` for the sign)."""
    height, width = img.shape[:2]
    matrix = rotation_matrix(degrees, ((width - 1) / 2.0, (height - 1) / 2.0))
    return affine_resample(img, matrix, (height, width), interpolation)


def shear(img: np.ndarray, s: float, axis: str = "x", interpolation: str = "bilinear") -> np.ndarray:
    """Shear about the image centre, keeping the size (see :func:`shear_matrix`)."""
    height, width = img.shape[:2]
    matrix = shear_matrix(s, ((width - 1) / 2.0, (height - 1) / 2.0), axis)
    return affine_resample(img, matrix, (height, width), interpolation)


def jpeg_roundtrip(img: np.ndarray, quality: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Compress as baseline JPEG (4:2:0 chroma, OpenCV's libjpeg defaults) and decode.

    Parameters
    ----------
    img : ndarray
        HxWx3 uint8 RGB.
    quality : int
        JPEG quality factor, 1-100.
    offset : tuple of int, optional
        ``(dy, dx)`` in 0-7: the 8x8 block grid starts ``dy`` rows above and ``dx`` columns left of
        the image's top-left pixel, i.e. the grid is misaligned with the image. Implemented by
        compressing a copy padded with ``dy`` mirrored rows at the top and ``dx`` mirrored columns
        at the left and cropping the padding off after decoding, so every pixel is compressed and
        the size is unchanged.

    Returns
    -------
    out : ndarray
        The decoded image, same shape as ``img``.
    """
    dy, dx = offset
    padded = cv2.copyMakeBorder(img, dy, 0, dx, 0, cv2.BORDER_REFLECT_101) if dy or dx else img
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(padded, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return decoded[dy:, dx:]


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass with standard deviation ``sigma`` pixels (kernel of about 6 sigma)."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)


def median_blur(img: np.ndarray, ksize: int) -> np.ndarray:
    """Median filter over an odd ``ksize x ksize`` window, per channel."""
    return cv2.medianBlur(img, ksize)


def box_blur(img: np.ndarray, ksize: int) -> np.ndarray:
    """Mean filter over a ``ksize x ksize`` window."""
    return cv2.blur(img, (ksize, ksize), borderType=cv2.BORDER_REFLECT_101)


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add independent Gaussian noise of standard deviation ``sigma`` grey levels to every sample."""
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return _to_uint8(noisy)


def sharpen(img: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp masking: ``img + amount * (img - gaussian_blur(img, sigma))``."""
    blurred = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
    return _to_uint8(img.astype(np.float32) * (1.0 + amount) - blurred * amount)


def gamma_contrast(img: np.ndarray, gamma: float, contrast: float) -> np.ndarray:
    """Tone curve ``y = 0.5 + contrast * ((x / 255) ** gamma - 0.5)``, scaled back to 0-255."""
    x = np.arange(256, dtype=np.float64) / 255.0
    table = _to_uint8(255.0 * (0.5 + contrast * (x ** gamma - 0.5)))
    return cv2.LUT(img, table)


def match_colour(src: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None,
                 strength: float = 1.0) -> np.ndarray:
    """Give ``src`` the per-channel mean and standard deviation of ``ref`` in CIELAB.

    The colour transfer of Reinhard et al. [1]_, with the statistics taken over ``mask`` in both
    images and the gain limited to 0.5-2 so that a flat patch is not blown up into noise.

    Parameters
    ----------
    src, ref : ndarray
        HxWx3 uint8 RGB; the same height and width when ``mask`` is given.
    mask : ndarray of bool, optional
        Pixels whose statistics are matched; all pixels when omitted.
    strength : float, optional
        1 applies the full transfer, 0 returns ``src`` unchanged, values between interpolate.

    Returns
    -------
    out : ndarray
        ``src`` recoloured (every pixel, not only those under ``mask``).

    References
    ----------
    .. [1] E. Reinhard, M. Adhikhmin, B. Gooch and P. Shirley, "Color transfer between images",
           IEEE Computer Graphics and Applications 21(5), 2001. :DOI:`10.1109/38.946629`
    """
    src_lab = cv2.cvtColor(src.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    ref_lab = cv2.cvtColor(ref.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    stats_mask = mask.astype(np.uint8) if mask is not None else None
    src_mean, src_std = (v.ravel() for v in cv2.meanStdDev(src_lab, mask=stats_mask))
    ref_mean, ref_std = (v.ravel() for v in cv2.meanStdDev(ref_lab, mask=stats_mask))
    gain = np.clip(ref_std / np.maximum(src_std, 1e-3), 0.5, 2.0)
    gain = 1.0 + strength * (gain - 1.0)
    bias = src_mean + strength * (ref_mean - src_mean) - gain * src_mean
    out_lab = src_lab * gain.astype(np.float32) + bias.astype(np.float32)
    return _to_uint8(cv2.cvtColor(out_lab, cv2.COLOR_Lab2RGB) * 255.0)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
