"""SRM-CNN: the residual co-occurrence descriptor recast as a convolutional network.

Cozzolino, Poggi and Verdoliva, "Recasting residual-based local descriptors as convolutional neural
networks: an application to image forgery detection", ACM IH&MMSec 2017 (their schemes 3 and 4).
The layers map one to one onto the steps of :mod:`forensics_core.features.srm`:

1. **Shifted residual filters** (no bias). ``residual_along`` holds four 1x7 kernels, kernel ``m``
   being ``[1, -3, 3, -1]`` shifted by ``m`` columns, so its four output channels are the four
   neighbouring row residuals of a co-occurrence *along* the filter direction; ``residual_across``
   holds four 4x4 kernels, kernel ``m`` having the filter in row ``m`` (neighbours *across*). The
   column residuals ("image and transpose") use the transposed kernels: the same parameters.
   Every kernel is multiplied by the fixed gain ``255 / 4.5`` (:data:`RESIDUAL_GAIN`), so that the
   learnable taps keep the hand-crafted scale (-3..3) and, on a green channel in [0, 1], the
   outputs are residuals in units of the quantisation step.
2. **Product vector quantiser**: a 1x1 convolution with K = 81 filters and biases per co-occurrence
   geometry (along, across). Hard-wired, filter ``k`` is the codeword ``c_k`` in {-1, 0, 1}^4 (bin
   ``k`` of the hand-crafted histogram) with bias ``-|c_k|^2 / 2``, so the largest output is the
   nearest codeword: for a product codebook that is the per-component rounding and truncation.
   Hard-max (one-hot) at inference; soft-max with a large learnable ``alpha`` while training.
3. **Average pooling** of the assignments over the patch: the normalised histograms, rows and
   columns averaged, ``[along (81), across (81)]``.
4. **Classifier**: a fixed standardisation (``feature_mean``, ``feature_scale``, buffers set from
   training data) and one fully connected layer giving the logit of "manipulated".

Because the classifier is linear, a sliding window needs no per-window histogram:
:meth:`SRMNet.window_logits` maps every residual tuple to its classifier weight once and box-filters
those per-pixel contributions with integral images, which is exactly equal to classifying every
window (overlapping residuals are never recomputed).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from forensics_core.blocking_calls import call_while_checking
from forensics_core.features.srm import MIN_SIDE, N_CODES, N_FEATURES, ORDER, QUANT_STEP, RESIDUAL_FILTER, TRUNCATION

#: Fixed gain of the residual layer: [0, 1] input to 0..255, divided by the quantisation step.
RESIDUAL_GAIN = 255.0 / QUANT_STEP
#: Support (height, width) of the row-residual kernels of each co-occurrence geometry.
_SUPPORT = {"along": (1, len(RESIDUAL_FILTER) + ORDER - 1), "across": (ORDER, len(RESIDUAL_FILTER))}


def codebook() -> torch.Tensor:
    """The 81x4 codewords in bin order: row ``k`` is the tuple whose bin index is ``k``."""
    levels = 2 * TRUNCATION + 1
    digits = [[(k // levels ** (ORDER - 1 - m)) % levels - TRUNCATION for m in range(ORDER)]
              for k in range(N_CODES)]
    return torch.tensor(digits, dtype=torch.float64)


class SRMNet(nn.Module):
    """The SRM descriptor and a linear classifier as one network on the green channel in [0, 1].

    Input ``(N, 1, H, W)``; :meth:`forward` returns ``(N,)`` logits of "manipulated". Freshly
    constructed, the weights are random; :func:`hand_crafted_srm_net` wires in the descriptor.
    The quantiser (a 1x1 convolution) is evaluated as a matrix product on ``chunk`` residual
    tuples at a time (``accelerator_chunk`` on a GPU), so that its 81 outputs per tuple stay in
    cache and are never all stored.
    """

    def __init__(self, alpha: float = 40.0, chunk: int = 4096, accelerator_chunk: int = 1 << 20) -> None:
        super().__init__()
        self.chunk, self.accelerator_chunk = chunk, accelerator_chunk
        self.residual_along = nn.Parameter(torch.randn(ORDER, 1, *_SUPPORT["along"]))
        self.residual_across = nn.Parameter(torch.randn(ORDER, 1, *_SUPPORT["across"]))
        self.quantiser_along = nn.Conv2d(ORDER, N_CODES, 1)
        self.quantiser_across = nn.Conv2d(ORDER, N_CODES, 1)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha)))
        self.register_buffer("feature_mean", torch.zeros(N_FEATURES))
        self.register_buffer("feature_scale", torch.ones(N_FEATURES))
        self.classifier = nn.Linear(N_FEATURES, 1)

    # ---- layers 1 and 2 --------------------------------------------------------------------
    def residual_tuples(self, x: torch.Tensor, geometry: str, transposed: bool) -> torch.Tensor:
        """Layer 1 for one geometry on rows (or, ``transposed``, columns): ``(N, 4, h, w)``."""
        kernels = self.residual_along if geometry == "along" else self.residual_across
        return F.conv2d(x, (kernels.transpose(2, 3) if transposed else kernels) * RESIDUAL_GAIN)

    def quantiser(self, geometry: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer 2 for one geometry as ``(weight 4x81, bias 81)``: scores are ``tuples @ weight + bias``."""
        conv = self.quantiser_along if geometry == "along" else self.quantiser_across
        return conv.weight.view(N_CODES, ORDER).t(), conv.bias

    def streams(self, x: torch.Tensor) -> list[tuple[str, bool]]:
        """The four (geometry, transposed) streams, checking that ``x`` is large enough."""
        if min(x.shape[-2:]) < MIN_SIDE:
            raise ValueError(f"SRMNet needs inputs of at least {MIN_SIDE}x{MIN_SIDE}, got {tuple(x.shape[-2:])}")
        return [(geometry, transposed) for geometry in ("along", "across") for transposed in (False, True)]

    def chunk_for(self, x: torch.Tensor) -> int:
        """Tuples quantised at once for an input on ``x.device``."""
        return self.chunk if x.device.type == "cpu" else self.accelerator_chunk

    # ---- layer 3: histograms ------------------------------------------------------------------
    def histogram(self, x: torch.Tensor, hard: bool | None = None) -> torch.Tensor:
        """The ``(N, 162)`` descriptor ``[along, across]``; ``hard`` defaults to ``not self.training``.

        Hard: the normalised counts of the arg-max codes. Soft: the mean soft-max assignment with
        temperature ``1 / alpha``. Row and column histograms are averaged.
        """
        hard = not self.training if hard is None else hard
        means: dict[str, torch.Tensor] = {}
        for geometry, transposed in self.streams(x):
            residuals = self.residual_tuples(x, geometry, transposed)
            tuples = residuals.flatten(2).transpose(1, 2).contiguous()
            weight, bias = self.quantiser(geometry)
            if hard:
                mean = _hard_histogram(tuples, weight, bias, self.chunk_for(x))
            else:
                mean = SoftHistogram.apply(tuples, weight, bias, self.log_alpha.exp(), self.chunk_for(x))
            means[geometry] = means[geometry] + mean if geometry in means else mean
        return torch.cat([means["along"], means["across"]], dim=1) / 2.0

    # ---- layer 4: classifier ------------------------------------------------------------------
    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N,)`` of descriptors ``(N, 162)``."""
        return self.classifier((features - self.feature_mean) / self.feature_scale).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N,)`` of "manipulated" for patches ``(N, 1, H, W)``."""
        return self.classify(self.histogram(x))

    # ---- sliding window ---------------------------------------------------------------------
    def window_logits(self, x: torch.Tensor, window: int, stride: int,
                      progress: Callable[[float], None] | None = None) -> torch.Tensor:
        """Logits of every ``window x window`` patch of ``x`` (``(1, 1, H, W)``) at ``stride``.

        Returns a ``(ny, nx)`` float64 tensor, ``ny = (H - window) // stride + 1`` (likewise
        ``nx``); entry ``(i, j)`` equals ``self(x[..., i*stride:i*stride+window,
        j*stride:j*stride+window])`` (hard-max in eval mode, soft-max in training mode). Each
        residual tuple is quantised once: its contribution to the logit (the classifier weight of
        its bin divided by the feature scale, halved for the row/column average) is box-filtered
        over its own valid region with an integral image, which equals pooling the histogram of
        every window and applying the linear classifier. ``progress(fraction)`` is called after
        every chunk of tuples and between the whole-image steps of each stream.
        """
        height, width = x.shape[-2:]
        if not MIN_SIDE <= window <= min(height, width):
            raise ValueError(f"window {window} must lie in {MIN_SIDE}..{min(height, width)} "
                             f"for a {height}x{width} input")
        weight = self.classifier.weight[0] / self.feature_scale
        bias = self.classifier.bias[0] - (weight * self.feature_mean).sum()
        halves = {"along": weight[:N_CODES] / 2.0, "across": weight[N_CODES:] / 2.0}
        ny, nx = (height - window) // stride + 1, (width - window) // stride + 1
        total = torch.zeros(ny, nx, dtype=torch.float64, device=x.device)
        streams = self.streams(x)
        for i, (geometry, transposed) in enumerate(streams):
            stream_progress = None if progress is None else (lambda f, i=i: progress((i + f) / len(streams)))
            values = self._contribution_map(x, geometry, transposed, halves[geometry], stream_progress)
            # A window holds the tuples whose whole support lies inside it.
            box_h, box_w = window - (height - values.shape[0]), window - (width - values.shape[1])
            total += _window_means(values, box_h, box_w, stride, ny, nx, stream_progress)
        return total + bias.double()

    def _residuals_without_grad(self, x: torch.Tensor, geometry: str, transposed: bool) -> torch.Tensor:
        """``residual_tuples(...)[0]`` outside autograd (the grad mode is per thread)."""
        with torch.no_grad():
            return self.residual_tuples(x, geometry, transposed)[0]

    def _contribution_map(self, x: torch.Tensor, geometry: str, transposed: bool, values: torch.Tensor,
                          progress: Callable[[float], None] | None) -> torch.Tensor:
        """Per-tuple logit contribution ``values[bin]`` (or its soft-max expectation), as a map."""
        if progress is None or torch.is_grad_enabled():
            residuals = self.residual_tuples(x, geometry, transposed)[0]
        else:  # inference: one convolution of seconds on 20 MP, waited for while progress (and cancel) runs
            residuals = call_while_checking(lambda: self._residuals_without_grad(x, geometry, transposed),
                                            lambda: progress(0.0))
        if progress is not None:
            progress(0.0)
        height, width = residuals.shape[-2:]
        tuples = residuals.reshape(ORDER, -1).t().contiguous()
        if progress is not None:
            progress(0.0)
        weight, bias = self.quantiser(geometry)
        out = torch.empty(tuples.shape[0], dtype=x.dtype, device=x.device)
        chunk = self.chunk_for(x)
        for start in range(0, tuples.shape[0], chunk):
            scores = torch.addmm(bias, tuples[start:start + chunk], weight)
            if self.training:
                out[start:start + chunk] = torch.softmax(self.log_alpha.exp() * scores, dim=1) @ values
            else:
                out[start:start + chunk] = values[scores.argmax(dim=1)]
            if progress is not None:
                progress(min(start + chunk, tuples.shape[0]) / tuples.shape[0])
        return out.view(height, width)


def _hard_histogram(tuples: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, chunk: int) -> torch.Tensor:
    """Normalised counts ``(N, 81)`` of the arg-max codes of ``tuples`` ``(N, P, 4)``."""
    count, positions = tuples.shape[:2]
    flat = tuples.reshape(-1, ORDER)
    codes = torch.cat([torch.addmm(bias, flat[s:s + chunk], weight).argmax(dim=1)
                       for s in range(0, flat.shape[0], chunk)])
    sample = torch.arange(count, device=tuples.device).repeat_interleave(positions)
    counts = torch.bincount(sample * N_CODES + codes, minlength=count * N_CODES).view(count, N_CODES)
    return counts.to(tuples.dtype) / positions


class SoftHistogram(torch.autograd.Function):
    """Mean soft-max assignment ``(N, 81)`` of ``tuples`` ``(N, P, 4)`` to the quantiser's codes.

    ``mean_p softmax(alpha * (tuples[n, p] @ weight + bias))``, computed ``chunk`` tuples at a
    time in the forward and again in the backward pass, so that no ``(N, P, 81)`` tensor is ever
    stored: several times faster and far smaller than the autograd graph of the same expression.
    """

    @staticmethod
    def forward(ctx, tuples: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,  # type: ignore[override]
                alpha: torch.Tensor, chunk: int) -> torch.Tensor:
        count, positions = tuples.shape[:2]
        flat = tuples.reshape(-1, ORDER)
        out = tuples.new_zeros(count, weight.shape[1])
        for start in range(0, flat.shape[0], chunk):
            rows = torch.arange(start, min(start + chunk, flat.shape[0]), device=tuples.device)
            probs = torch.softmax(alpha * torch.addmm(bias, flat[rows], weight), dim=1)
            out.index_add_(0, rows // positions, probs)
        ctx.save_for_backward(tuples, weight, bias, alpha)
        ctx.chunk = chunk
        return out / positions

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        tuples, weight, bias, alpha = ctx.saved_tensors
        positions = tuples.shape[1]
        flat = tuples.reshape(-1, ORDER)
        grad = grad / positions
        d_flat = torch.empty_like(flat)
        d_weight, d_bias, d_alpha = torch.zeros_like(weight), torch.zeros_like(bias), torch.zeros_like(alpha)
        for start in range(0, flat.shape[0], ctx.chunk):
            stop = min(start + ctx.chunk, flat.shape[0])
            rows = torch.arange(start, stop, device=tuples.device)
            block, upstream = flat[start:stop], grad[rows // positions]
            scores = torch.addmm(bias, block, weight)
            probs = torch.softmax(alpha * scores, dim=1)
            d_logits = probs * (upstream - (probs * upstream).sum(dim=1, keepdim=True))   # through the soft-max
            d_scores = alpha * d_logits
            d_flat[start:stop] = d_scores @ weight.t()
            d_weight.addmm_(block.t(), d_scores)
            d_bias += d_scores.sum(dim=0)
            d_alpha += (d_logits * scores).sum()
        return d_flat.view_as(tuples), d_weight, d_bias, d_alpha, None


#: Rows (or columns) of a map summed at a time for its integral image, between progress calls.
_INTEGRAL_BAND = 512


def _window_means(values: torch.Tensor, kh: int, kw: int, stride: int, ny: int, nx: int,
                  progress: Callable[[float], None] | None = None) -> torch.Tensor:
    """Means of ``values`` over ``kh x kw`` boxes at ``(i*stride, j*stride)``, by an integral image.

    The running sums go down columns, then along rows, a band of columns (then rows) at a time:
    each line is summed in the same order as in one call, and ``progress(1.0)`` runs between bands.
    """
    integral = F.pad(values.double(), (1, 0, 1, 0))
    body = integral[1:, 1:]
    for axis in (0, 1):
        for start in range(0, body.shape[1 - axis], _INTEGRAL_BAND):
            band = body[:, start:start + _INTEGRAL_BAND] if axis == 0 else body[start:start + _INTEGRAL_BAND]
            band.cumsum_(axis)
            if progress is not None:
                progress(1.0)
    rows = torch.arange(ny, device=values.device) * stride
    cols = torch.arange(nx, device=values.device) * stride
    top, bottom = rows[:, None], rows[:, None] + kh
    left, right = cols[None, :], cols[None, :] + kw
    sums = integral[bottom, right] - integral[top, right] - integral[bottom, left] + integral[top, left]
    return sums / (kh * kw)


def set_hand_crafted_weights(model: SRMNet) -> SRMNet:
    """Wire the SRM descriptor into layers 1 and 2 of ``model`` (in place) and return it.

    Residual taps ``[1, -3, 3, -1]`` at the four shifts; quantiser filters = the
    codewords, biases ``-|c|^2 / 2``. The classifier and the standardisation are left untouched.
    """
    dtype = model.residual_along.dtype
    taps = torch.tensor(RESIDUAL_FILTER, dtype=torch.float64)
    along = torch.zeros(ORDER, 1, *_SUPPORT["along"], dtype=torch.float64)
    across = torch.zeros(ORDER, 1, *_SUPPORT["across"], dtype=torch.float64)
    for m in range(ORDER):
        along[m, 0, 0, m:m + len(taps)] = taps
        across[m, 0, m, :] = taps
    words = codebook()
    with torch.no_grad():
        model.residual_along.copy_(along.to(dtype))
        model.residual_across.copy_(across.to(dtype))
        for quantiser in (model.quantiser_along, model.quantiser_across):
            quantiser.weight.copy_(words.view(N_CODES, ORDER, 1, 1).to(dtype))
            quantiser.bias.copy_((-0.5 * (words ** 2).sum(dim=1)).to(dtype))
    return model


def hand_crafted_srm_net(alpha: float = 40.0) -> SRMNet:
    """An :class:`SRMNet` whose histogram layers are the hand-crafted SRM descriptor."""
    return set_hand_crafted_weights(SRMNet(alpha=alpha))
