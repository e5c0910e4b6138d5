"""Resampling features: Laplacian residual, Radon projections, FFT magnitudes, for all patches at once.

Shared by the resampling detector of Bunk et al. [Bunk2017]_ (64-pixel patches, 18 angles) and by
LSTM-EnDec [Bappy2019]_ (32-pixel patches, 10 angles). Resampling (scaling, rotation, shearing,
JPEG re-quantisation) leaves periodic correlations between neighbouring pixels; the residual of a
linear predictor exposes them, and the Radon transform [Radon1917]_ turns a 2-D periodic pattern
into a 1-D periodicity along each projection, which shows up as peaks in the magnitude of the
projection's Fourier transform [Mahdian2008]_, [Kirchner2008]_.

Pipeline, one function per step:

1. :func:`laplacian_residual` (NumPy, whole image) / :func:`laplacian_residual_batch` (torch,
   batches): ``sqrt(|L * x|)`` with the 4-neighbour Laplacian :data:`LAPLACIAN_KERNEL`,
   mirrored borders; colour input gives the average over channels of the per-channel residual.
2. :func:`extract_patches`: a strided view of every ``size`` x ``size`` patch of the residual on a
   ``stride`` grid, padded by mirroring so that grid cell ``(i, j)`` (the pixels
   ``[i*stride, (i+1)*stride) x [j*stride, (j+1)*stride)``) is the centre of patch ``(i, j)``
   and the grid covers the whole frame.
3. :class:`RadonProjector`: ``skimage.transform.radon(patch, theta, circle=False)`` as one sparse
   linear operator, applied to all patches with one sparse-dense product (dense on CUDA).
4. :func:`bunk_features` / :func:`endec_features`: FFT magnitudes of the projections, normalised.

:func:`reorient_features` gives, from a patch's features, those of the same patch mirrored,
rotated by 90 degrees or transposed (a permutation of the angles), without recomputing them.

:func:`iter_feature_strips` runs steps 2-4 over an image strip by strip, so that the memory held
at once stays bounded (a few hundred megabytes) whatever the image size.

References
----------
.. [Bunk2017] J. Bunk et al., "Detection and localization of image forgeries using resampling
   features and deep learning", CVPR Workshops 2017. :DOI:`10.1109/CVPRW.2017.235`
.. [Bappy2019] J. H. Bappy et al., "Hybrid LSTM and encoder-decoder architecture for detection of
   image forgeries", IEEE Trans. Image Processing 28(7):3286-3300, 2019.
   :DOI:`10.1109/TIP.2019.2895466`
.. [Radon1917] J. Radon, "Über die Bestimmung von Funktionen durch ihre Integralwerte längs
   gewisser Mannigfaltigkeiten", Ber. Verh. Sächs. Akad. Wiss. Leipzig 69:262-277, 1917.
.. [Kak1988] A. C. Kak and M. Slaney, "Principles of Computerized Tomographic Imaging", IEEE
   Press, 1988 (the discrete rotate-and-sum projection used by scikit-image).
.. [Mahdian2008] B. Mahdian and S. Saic, "Blind authentication using periodic properties of
   interpolation", IEEE Trans. Information Forensics and Security 3(3):529-538, 2008.
.. [Kirchner2008] M. Kirchner, "Fast and reliable resampling detection by spectral analysis of
   fixed linear predictor residue", ACM MM&Sec 2008. :DOI:`10.1145/1411328.1411333`
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F

from forensics_core.device import single_threaded_cpu

__all__ = [
    "BT601",
    "BUNK_SPEC",
    "ENDEC_SPEC",
    "LAPLACIAN_KERNEL",
    "ORIENTATIONS",
    "FeatureSpec",
    "RadonProjector",
    "bunk_features",
    "endec_features",
    "extract_patches",
    "grid_shape",
    "iter_feature_strips",
    "laplacian_residual",
    "laplacian_residual_batch",
    "luminance_batch",
    "radon_geometry",
    "radon_projector",
    "reorient_features",
    "spectral_features",
]

#: The 3x3 4-neighbour Laplacian (``cv2.Laplacian`` with ``ksize=1``). Its response to any
#: linear ramp is 0, so the residual keeps only what a linear predictor cannot explain.
LAPLACIAN_KERNEL = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=np.float32)

#: ITU-R BT.601 luma weights (the same as :meth:`forensics_core.evidence.Evidence.luminance`).
BT601 = (0.299, 0.587, 0.114)

#: Patches per sparse-dense product on the CPU: the dense operand (4 MB for 64-pixel patches)
#: then stays in the cache, which makes the product about twice as fast as one big product.
_CPU_CHUNK = 256

#: Floor of the per-frequency average magnitude, so that a flat (all-zero) patch gives zeros.
_MAGNITUDE_FLOOR = 1e-8


@dataclass(frozen=True)
class FeatureSpec:
    """Patch size and number of Radon angles of one feature variant."""

    patch_size: int
    n_angles: int
    #: ``"bunk"`` (normalised spectra plus their average) or ``"endec"`` (normalised minus 1).
    kind: str

    @property
    def n_bins(self) -> int:
        """Length of each projection (the side of scikit-image's zero-padded square)."""
        return radon_geometry(self.patch_size)[0]

    @property
    def n_frequencies(self) -> int:
        """Number of real-FFT coefficients of one projection."""
        return self.n_bins // 2 + 1

    @property
    def n_features(self) -> int:
        """Length of the feature vector of one patch."""
        rows = self.n_angles + 1 if self.kind == "bunk" else self.n_angles
        return rows * self.n_frequencies


#: Bunk et al. 2017: 64-pixel patches, 18 angles, 91-bin projections, 19 x 46 = 874 values.
BUNK_SPEC = FeatureSpec(patch_size=64, n_angles=18, kind="bunk")
#: LSTM-EnDec: 32-pixel patches, 10 angles, 46-bin projections, 10 x 24 = 240 values.
ENDEC_SPEC = FeatureSpec(patch_size=32, n_angles=10, kind="endec")


# ---- residual -------------------------------------------------------------------------------
def laplacian_residual(image: np.ndarray, on_step: Callable[[], object] | None = None) -> np.ndarray:
    """``sqrt(|L * x|)`` of an HxW or HxWxC image, averaged over channels; HxW float32.

    ``L`` is :data:`LAPLACIAN_KERNEL`; borders are mirrored without repeating the edge pixel
    (OpenCV ``BORDER_REFLECT_101``, NumPy ``reflect``). Bunk et al. [Bunk2017]_ take the
    absolute residual of the luminance and its square root (their improvement over the plain
    residual: it compresses the large responses at edges); LSTM-EnDec averages the per-channel
    square-rooted residuals over the colour channels. ``on_step`` is called between the
    whole-image steps (to report progress and check cancel on large pictures).
    """
    step = on_step if on_step is not None else (lambda: None)
    data = np.asarray(image, dtype=np.float32)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {data.shape}")
    total = np.zeros(data.shape[:2], dtype=np.float32)
    for channel in range(data.shape[2]):
        response = cv2.filter2D(np.ascontiguousarray(data[:, :, channel]), cv2.CV_32F, LAPLACIAN_KERNEL,
                                borderType=cv2.BORDER_REFLECT_101)
        step()
        total += np.sqrt(np.abs(response))
        step()
    if data.shape[2] > 1:
        total /= np.float32(data.shape[2])
    return total


def luminance_batch(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of a (B, 3, H, W) batch in [0, 1], as (B, 1, H, W)."""
    weights = torch.tensor(BT601, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def laplacian_residual_batch(images: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`laplacian_residual` for a (B, C, H, W) batch; returns (B, H, W).

    Same kernel, same mirrored borders (torch ``reflect`` = OpenCV ``BORDER_REFLECT_101``).
    """
    if images.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) batch, got shape {tuple(images.shape)}")
    batch, channels, height, width = images.shape
    kernel = torch.from_numpy(LAPLACIAN_KERNEL).to(images.device, images.dtype).view(1, 1, 3, 3)
    flat = images.reshape(batch * channels, 1, height, width)
    response = F.conv2d(F.pad(flat, (1, 1, 1, 1), mode="reflect"), kernel)
    return response.abs().sqrt().view(batch, channels, height, width).mean(dim=1)


# ---- patch grid -----------------------------------------------------------------------------
def grid_shape(height: int, width: int, stride: int) -> tuple[int, int]:
    """Rows and columns of the patch grid: one cell per ``stride`` x ``stride`` block, covering all."""
    return -(-height // stride), -(-width // stride)


def _grid_padding(height: int, width: int, size: int, stride: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) mirror padding that centres patch (i, j) on cell (i, j)."""
    if size % 2 or stride % 2:
        raise ValueError(f"patch size ({size}) and stride ({stride}) must be even")
    before = size // 2 - stride // 2
    rows, cols = grid_shape(height, width, stride)
    bottom = (rows - 1) * stride + size - before - height
    right = (cols - 1) * stride + size - before - width
    return before, max(bottom, 0), before, max(right, 0)


def extract_patches(residual: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Every ``size`` x ``size`` patch of ``residual`` on a ``stride`` grid, as a read-only view.

    Returns a (rows, cols, size, size) strided view (no copy of the patches) of the residual
    padded by mirroring (``reflect``). ``rows, cols = ceil(H / stride), ceil(W / stride)``; patch
    ``(i, j)`` covers image rows ``i*stride + stride/2 - size/2`` to ``i*stride + stride/2 +
    size/2 - 1`` (and the same for columns), so it is centred on cell ``(i, j)`` (image pixels
    ``[i*stride, (i+1)*stride)``) and a heatmap cell maps to the patch centred on it.
    """
    data = np.ascontiguousarray(residual, dtype=np.float32)
    height, width = data.shape
    top, bottom, left, right = _grid_padding(height, width, size, stride)
    padded = np.pad(data, ((top, bottom), (left, right)), mode="reflect")
    rows, cols = grid_shape(height, width, stride)
    step_row, step_col = padded.strides
    return np.lib.stride_tricks.as_strided(
        padded, shape=(rows, cols, size, size),
        strides=(stride * step_row, stride * step_col, step_row, step_col), writeable=False)


# ---- Radon operator -------------------------------------------------------------------------
@functools.cache
def radon_geometry(size: int) -> tuple[int, int]:
    """(padded side, padding before) of ``skimage.transform.radon(..., circle=False)`` for a square.

    scikit-image pads the image with zeros to ``ceil(sqrt(2) * size)`` so that no rotation cuts it,
    keeping its centre pixel ``size // 2`` on the padded centre ``padded // 2``.
    """
    pad = int(np.ceil(np.sqrt(2) * size - size))
    padded = size + pad
    return padded, padded // 2 - size // 2


def _radon_matrix(size: int, n_angles: int) -> scipy.sparse.csr_matrix:
    """The (n_angles * n_bins, size * size) matrix of ``skimage.transform.radon`` on one patch.

    Replicates scikit-image 0.19+ exactly: for angle ``a`` the zero-padded image is warped by the
    inverse map ``x_src = cos a * c + sin a * r - centre (cos a + sin a - 1)``, ``y_src = -sin a * c
    + cos a * r - centre (cos a - sin a - 1)`` (output row ``r``, column ``c``) with bilinear
    interpolation and zeros outside (``warp(order=1, mode='constant', cval=0)``), and bin ``c`` of
    the projection is the sum of the warped image's column ``c``. Every warped pixel is a weighted
    sum of at most four source pixels, so the transform is linear in the patch; only the weights
    that land on the unpadded patch are kept (the padding is zero). Row ``a * n_bins + c`` of the
    matrix is bin ``c`` at angle ``a``; column ``y * size + x`` is patch pixel ``(y, x)``.
    """
    padded, before = radon_geometry(size)
    centre = padded // 2
    out_r, out_c = np.mgrid[:padded, :padded].astype(np.float64)
    rows, cols, values = [], [], []
    for index, angle in enumerate(np.deg2rad(np.linspace(0.0, 180.0, n_angles, endpoint=False))):
        cos_a, sin_a = np.cos(angle), np.sin(angle)
        src_x = cos_a * out_c + sin_a * out_r + (-centre * (cos_a + sin_a - 1))
        src_y = -sin_a * out_c + cos_a * out_r + (-centre * (cos_a - sin_a - 1))
        floor_x, floor_y = np.floor(src_x), np.floor(src_y)
        frac_x, frac_y = src_x - floor_x, src_y - floor_y
        for d_y, d_x, weight in ((0, 0, (1 - frac_y) * (1 - frac_x)), (0, 1, (1 - frac_y) * frac_x),
                                 (1, 0, frac_y * (1 - frac_x)), (1, 1, frac_y * frac_x)):
            pix_y = floor_y.astype(np.int64) + d_y - before
            pix_x = floor_x.astype(np.int64) + d_x - before
            keep = (pix_y >= 0) & (pix_y < size) & (pix_x >= 0) & (pix_x < size) & (weight != 0)
            rows.append(index * padded + out_c[keep].astype(np.int64))
            cols.append(pix_y[keep] * size + pix_x[keep])
            values.append(weight[keep])
    matrix = scipy.sparse.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_angles * padded, size * size)).tocsr()
    matrix.sum_duplicates()
    return matrix


class RadonProjector:
    """``skimage.transform.radon(patch, theta=linspace(0, 180, n_angles, endpoint=False),
    circle=False)`` of many patches at once, as one sparse linear operator.

    The operator (:func:`_radon_matrix`) is built once per (size, angles), in about 0.1 s, by
    replicating scikit-image's zero padding and bilinear ``warp`` geometry; it agrees with
    scikit-image to float64 rounding (about 1e-15 relative). About 2 % of its entries are
    nonzero: on the CPU it is applied as a SciPy CSR matrix to patches stored as columns (one
    sparse-dense product per strip of a few hundred patches, which fits the cache), on other
    devices as a dense torch matrix. Obtain instances through :func:`radon_projector`, which
    caches them.
    """

    def __init__(self, size: int, n_angles: int) -> None:
        self.size = size
        self.n_angles = n_angles
        self.n_bins, _ = radon_geometry(size)
        self.theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
        self.matrix = _radon_matrix(size, n_angles)
        self._cpu: dict[np.dtype, scipy.sparse.csr_matrix] = {}
        self._dense: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def _cpu_matrix(self, dtype: np.dtype) -> scipy.sparse.csr_matrix:
        if dtype not in self._cpu:
            self._cpu[dtype] = self.matrix.astype(dtype)
        return self._cpu[dtype]

    def _dense_matrix(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (str(device), dtype)
        if key not in self._dense:
            self._dense[key] = torch.from_numpy(self.matrix.toarray()).to(device=device, dtype=dtype)
        return self._dense[key]

    def project_columns(self, columns: torch.Tensor) -> torch.Tensor:
        """Projections of patches stored as columns: (size*size, N) -> (n_angles, n_bins, N).

        Float32 or float64, on the columns' device; no gradient flows through.
        """
        if columns.device.type == "cpu":
            data = columns.detach().numpy()
            matrix = self._cpu_matrix(data.dtype)
            product_array = np.empty((matrix.shape[0], data.shape[1]), dtype=data.dtype)
            for start in range(0, data.shape[1], _CPU_CHUNK):
                stop = start + _CPU_CHUNK
                product_array[:, start:stop] = matrix @ np.ascontiguousarray(data[:, start:stop])
            product = torch.from_numpy(product_array)
        else:
            product = self._dense_matrix(columns.device, columns.dtype) @ columns.detach()
        return product.view(self.n_angles, self.n_bins, columns.shape[1])

    def project(self, patches: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Projections of (N, size, size) patches as (N, n_angles, n_bins).

        ``project(p)[n].T`` equals ``skimage.transform.radon(p[n], self.theta, circle=False)``.
        """
        tensor = torch.as_tensor(patches)
        columns = tensor.reshape(tensor.shape[0], self.size * self.size).T.contiguous()
        return self.project_columns(columns).permute(2, 0, 1)


@functools.cache
def radon_projector(size: int, n_angles: int) -> RadonProjector:
    """The cached :class:`RadonProjector` for ``size`` x ``size`` patches and ``n_angles`` angles."""
    return RadonProjector(size, n_angles)


# ---- spectral features ----------------------------------------------------------------------
@functools.cache
def _real_dft_matrix(n_bins: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(2 * n_frequencies, n_bins): the cosine rows then the negated sine rows of the real DFT."""
    frequencies = np.arange(n_bins // 2 + 1)[:, None]
    phase = 2.0 * np.pi * ((frequencies * np.arange(n_bins)[None, :]) % n_bins) / n_bins
    matrix = np.concatenate((np.cos(phase), -np.sin(phase)), axis=0)
    return torch.from_numpy(matrix).to(device=device, dtype=dtype)


def spectral_features(projections: torch.Tensor, kind: str) -> torch.Tensor:
    """Resampling features from projections laid out (n_angles, n_bins, N); returns (N, n_features).

    ``|F_a|`` is the magnitude of the real discrete Fourier transform of the projection at angle
    ``a`` (``numpy.fft.rfft``; computed as one small matrix product over all patches, which for
    46- or 91-point projections is faster than a batched FFT) and ``m = mean_a |F_a|`` the
    per-frequency average over angles (floored at 1e-8):

    * ``bunk`` [Bunk2017]_: ``|F_a| / m`` for every angle, followed by ``m`` itself
      ((n_angles + 1) x n_frequencies values; 19 x 46 = 874 for 18 angles of 91 bins);
    * ``endec`` [Bappy2019]_: ``|F_a| / m - 1`` (n_angles x n_frequencies; 10 x 24 = 240).

    Values are angle-major (all frequencies of angle 0 first). Computed in the projections'
    precision, float32 or float64, never under autocast (reduced precision would blur the
    periodic peaks).
    """
    n_bins, count = projections.shape[1:]
    with torch.autocast(device_type=projections.device.type, enabled=False):
        dft = _real_dft_matrix(n_bins, projections.device, projections.dtype)
        spectrum = torch.matmul(dft, projections)
        half = dft.shape[0] // 2
        magnitude = torch.hypot(spectrum[:, :half], spectrum[:, half:])
        average = magnitude.mean(dim=0).clamp_min(_MAGNITUDE_FLOOR)
        normalised = magnitude / average
        if kind == "bunk":
            stacked = torch.cat((normalised, average.unsqueeze(0)), dim=0)
        elif kind == "endec":
            stacked = normalised - 1.0
        else:
            raise ValueError(f"unknown feature kind {kind!r}")
        return stacked.permute(2, 0, 1).reshape(count, -1)


def _features(patches: torch.Tensor | np.ndarray, spec: FeatureSpec) -> torch.Tensor:
    tensor = torch.as_tensor(patches)
    if tensor.ndim != 3 or tensor.shape[1:] != (spec.patch_size, spec.patch_size):
        raise ValueError(f"expected (N, {spec.patch_size}, {spec.patch_size}) patches, got {tuple(tensor.shape)}")
    if tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.float()
    projector = radon_projector(spec.patch_size, spec.n_angles)
    columns = tensor.reshape(tensor.shape[0], -1).T.contiguous()
    return spectral_features(projector.project_columns(columns), spec.kind)


def bunk_features(patches: torch.Tensor | np.ndarray) -> torch.Tensor:
    """874 resampling features per 64x64 residual patch [Bunk2017]_: (N, 64, 64) -> (N, 874).

    18 Radon angles over [0, 180), ``circle=False`` (91-bin projections), real FFT (46
    coefficients), see :func:`spectral_features` (``bunk``). Runs on the patches' device.
    """
    return _features(patches, BUNK_SPEC)


def endec_features(patches: torch.Tensor | np.ndarray) -> torch.Tensor:
    """240 resampling features per 32x32 residual patch [Bappy2019]_: (N, 32, 32) -> (N, 240).

    10 Radon angles over [0, 180), ``circle=False`` (46-bin projections), real FFT (24
    coefficients), see :func:`spectral_features` (``endec``). Runs on the patches' device.
    """
    return _features(patches, ENDEC_SPEC)


#: Orientations of a patch whose features are a permutation of the patch's own
#: (:func:`reorient_features`): the dihedral symmetries of the square, up to the half turn, which
#: only reverses every projection and leaves the Fourier magnitudes unchanged.
ORIENTATIONS = ("identity", "mirror", "rotate90", "transpose")


def _orientation_permutation(n_angles: int, orientation: str) -> np.ndarray:
    """Angle ``k`` of the reoriented patch is angle ``permutation[k]`` of the patch itself.

    With ``n_angles`` angles ``180 k / n_angles`` degrees, a mirror maps the projection at
    ``theta`` to the one at ``-theta``, a quarter turn to ``theta + 90`` and a transposition to
    ``90 - theta`` (each up to the reversal of the projection), all modulo 180 degrees.
    """
    if n_angles % 2:
        raise ValueError(f"reorienting needs an even number of angles (90 degrees on the grid), got {n_angles}")
    angles, quarter = np.arange(n_angles), n_angles // 2
    permutations = {"identity": angles, "mirror": -angles, "rotate90": angles + quarter,
                    "transpose": quarter - angles}
    if orientation not in permutations:
        raise ValueError(f"unknown orientation {orientation!r}; expected one of {ORIENTATIONS}")
    return permutations[orientation] % n_angles


def reorient_features(features: torch.Tensor, spec: FeatureSpec, orientation: str) -> torch.Tensor:
    """Features of the patches seen in another ``orientation``, from their own ``features`` (N, n_features).

    The per-angle rows of spectra are permuted (:func:`_orientation_permutation`); the
    angle-averaged row of ``bunk`` features is unchanged. For the 64-pixel ``bunk`` features,
    exact for ``"transpose"``; for the others equal to recomputing the features of the flipped or
    turned patch up to the interpolation of the discrete Radon transform, whose rotation centre
    is not the centre of an even-sized patch (about 2 % of the features' norm; tested). Smaller
    patches agree less closely. Returns a new (N, n_features) tensor.
    """
    rows = features.reshape(features.shape[0], -1, spec.n_frequencies)
    permutation = torch.as_tensor(_orientation_permutation(spec.n_angles, orientation), device=features.device)
    return torch.cat((rows[:, permutation], rows[:, spec.n_angles:]), dim=1).reshape(features.shape)


def iter_feature_strips(
    residual: np.ndarray,
    spec: FeatureSpec,
    stride: int,
    device: torch.device | str = "cpu",
    strip_patches: int | None = None,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Features of every grid patch of ``residual``, one strip of grid rows at a time.

    Yields ``(row_start, row_stop, features)`` where ``features`` is a float32
    ((row_stop - row_start) * cols, n_features) tensor on ``device`` in raster order of the
    grid of :func:`extract_patches`. A strip holds about ``strip_patches`` patches (default
    1024 on the CPU, 16384 on CUDA; at least one grid row), so about ``strip_patches * (size**2
    + 4 * (n_angles + 1) * n_bins) * 4`` bytes of patches, projections and spectra exist at once
    (about 50 MB for 1024 patches of 64 pixels), whatever the image size. On the CPU each strip
    is computed on one torch thread (see :func:`forensics_core.device.single_threaded_cpu`).
    """
    device = torch.device(device)
    size = spec.patch_size
    patches = extract_patches(residual, size, stride)
    rows, cols = patches.shape[:2]
    if strip_patches is None:
        strip_patches = 1024 if device.type == "cpu" else 16384
    rows_per_strip = max(1, strip_patches // cols)
    projector = radon_projector(size, spec.n_angles)
    for start in range(0, rows, rows_per_strip):
        stop = min(start + rows_per_strip, rows)
        with single_threaded_cpu(device):
            # (strip rows, cols, size, size) -> (size*size, strip rows * cols): one patch per column.
            block = np.ascontiguousarray(patches[start:stop].transpose(2, 3, 0, 1)).reshape(size * size, -1)
            columns = torch.from_numpy(block).to(device, non_blocking=False)
            features = spectral_features(projector.project_columns(columns), spec.kind)
        yield start, stop, features
