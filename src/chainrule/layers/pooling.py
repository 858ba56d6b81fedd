"""Pooling: MaxPool2d, AvgPool2d (windows of kh x kw moved by a stride) and GlobalAvgPool2d.

For a window size k, stride s (default k, as PyTorch) and no padding, output pixel (i, j) of
channel c pools the window x[n, c, i s + u, j s + v], 0 <= u < kh, 0 <= v < kw, and
H_out = floor((H - kh) / s) + 1 (PyTorch's floor mode).

- max:     y = max_{u,v} x[.., i s + u, j s + v];  dy/dx = 1 at the window's first maximum (in
           row-major order, as PyTorch), 0 elsewhere. A maximum shared by several entries sends
           the gradient to the first only: a subgradient, the one PyTorch picks.
- average: y = 1/(kh kw) sum_{u,v} x[.., i s + u, j s + v];  dy/dx = 1/(kh kw) on the window.
- global:  y[n, c] = 1/(H W) sum_{i,j} x[n, c, i, j];  dy/dx = 1/(H W) everywhere.

Where windows overlap (s < k) an input gets the sum of its windows' gradients. The kernels work
on the channels-last view (N, H, W, C) and visit the kh kw offsets of a window as strided views,
so no Python loop runs over pixels. A ``MaxPool2d`` built with the compiled kernels enabled (numba)
runs as one compiled loop on contiguous channels-last arrays (``_compiled/images.py``: the same
bits, about 5 x faster).
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import float_input
from ..core.module import Module
from .. import _compiled
from .._compiled import images as loops
from . import _images as im
from ._draw import WIDE, distinct_images, images


def _tiles(out_hw, kernel, stride, in_hw) -> bool:
    """True when the windows neither overlap nor leave gaps: every input is in exactly one window."""
    return (tuple(stride) == tuple(kernel) and out_hw[0] * kernel[0] == in_hw[0]
            and out_hw[1] * kernel[1] == in_hw[1])


# ---- kernels -------------------------------------------------------------------------------------
def maxpool2d_forward(x, kernel, stride):
    """y[n, c, i, j] = max of the window; the cache holds which offset (row-major) won."""
    out_hw = im.output_size("maxpool2d_forward", x.shape, kernel, stride)
    xh = im.channels_last(x)
    itype = np.min_scalar_type(kernel[0] * kernel[1] - 1)
    views = im.windows(xh, kernel, stride, out_hw)
    _, first = next(views)
    best = np.array(first, order="C")
    arg = np.zeros(best.shape, dtype=itype)
    take = np.empty(best.shape, dtype=bool)
    for k, v in views:
        np.greater(v, best, out=take)        # strictly greater: a tie keeps the earlier offset
        np.maximum(best, v, out=best)        # np.maximum propagates NaN, as PyTorch does
        # arg = k where taken; offsets come in increasing order, so that is max(arg, k take)
        # (a masked copy is 10 x slower)
        np.maximum(arg, take.view(np.uint8) * itype.type(k), out=arg)
    return im.channels_first(best), (arg, x.shape, tuple(kernel), tuple(stride))


def maxpool2d_backward(g, cache):
    """dL/dx: each output's gradient goes to its window's winning input (summed where windows overlap)."""
    arg, x_shape, kernel, stride = cache
    N, C, H, W = x_shape
    gh = im.channels_last(g)
    out_hw = arg.shape[1:3]
    tiles = _tiles(out_hw, kernel, stride, (H, W))
    dxh = (np.empty if tiles else np.zeros)((N, H, W, C), dtype=g.dtype)
    hit = np.empty(arg.shape, dtype=bool)
    for k, view in im.windows(dxh, kernel, stride, out_hw):
        np.equal(arg, k, out=hit)
        if tiles:
            np.multiply(gh, hit, out=view)
        else:
            view += gh * hit
    return im.channels_first(dxh)


def maxpool2d_forward_compiled(x, kernel, stride):
    """``maxpool2d_forward`` as one compiled pass (``_compiled/images.py``): the same values and
    offsets; on arrays the loop cannot index it is ``maxpool2d_forward``."""
    xh = im.channels_last(x)
    if not loops.usable(xh):
        return maxpool2d_forward(x, kernel, stride)
    out_hw = im.output_size("maxpool2d_forward", x.shape, kernel, stride)
    itype = np.min_scalar_type(kernel[0] * kernel[1] - 1)
    best, arg = loops.maxpool_forward(xh, kernel, stride, out_hw, itype)
    return im.channels_first(best), (arg, x.shape, tuple(kernel), tuple(stride))


def maxpool2d_backward_compiled(g, cache):
    """``maxpool2d_backward`` as one compiled pass: the same bits (the same order of additions)."""
    arg, (N, C, H, W), kernel, stride = cache
    gh = im.channels_last(g)
    if not (loops.usable(gh) and arg.flags.c_contiguous):
        return maxpool2d_backward(g, cache)
    tiles = _tiles(arg.shape[1:3], kernel, stride, (H, W))
    return im.channels_first(loops.maxpool_backward(gh, arg, kernel, stride, tiles,
                                                    np.empty((N, H, W, C), dtype=g.dtype)))


def avgpool2d_forward(x, kernel, stride):
    """y[n, c, i, j] = mean of the window."""
    out_hw = im.output_size("avgpool2d_forward", x.shape, kernel, stride)
    views = im.windows(im.channels_last(x), kernel, stride, out_hw)
    _, first = next(views)
    acc = np.array(first, order="C")
    for _, v in views:
        acc += v
    acc *= acc.dtype.type(1.0 / (kernel[0] * kernel[1]))
    return im.channels_first(acc), (x.shape, tuple(kernel), tuple(stride))


def avgpool2d_backward(g, cache):
    """dL/dx = 1/(kh kw) times the gradient of every window the input belongs to."""
    x_shape, kernel, stride = cache
    N, C, H, W = x_shape
    gh = im.channels_last(g) * g.dtype.type(1.0 / (kernel[0] * kernel[1]))
    out_hw = gh.shape[1:3]
    tiles = _tiles(out_hw, kernel, stride, (H, W))
    dxh = (np.empty if tiles else np.zeros)((N, H, W, C), dtype=g.dtype)
    for _, view in im.windows(dxh, kernel, stride, out_hw):
        if tiles:
            view[...] = gh
        else:
            view += gh
    return im.channels_first(dxh)


def global_avgpool2d_forward(x):
    """y[n, c] = 1/(H W) sum_{i, j} x[n, c, i, j]: (N, C, H, W) -> (N, C)."""
    return im.channels_last(x).mean(axis=(1, 2)), x.shape


def global_avgpool2d_backward(g, x_shape):
    """dL/dx[n, c, i, j] = g[n, c] / (H W), in channels-last memory."""
    N, C, H, W = x_shape
    dxh = np.empty((N, H, W, C), dtype=g.dtype)
    dxh[...] = (g * g.dtype.type(1.0 / (H * W)))[:, None, None, :]
    return im.channels_first(dxh)


# ---- modules -------------------------------------------------------------------------------------
class _Pool2d(Module):
    """A window of ``kernel_size`` moved by ``stride`` (default: ``kernel_size``, as PyTorch)."""

    #: (forward, backward): the NumPy kernel pair, and the compiled one where there is one
    kernels = (maxpool2d_forward, maxpool2d_backward)
    compiled_kernels = (maxpool2d_forward_compiled, maxpool2d_backward_compiled)

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        # chosen once, when the module is built (``_compiled.enabled()``)
        self._forward, self._backward = (self.compiled_kernels if self.compiled_kernels and _compiled.enabled()
                                         else self.kernels)
        name = type(self).__name__
        self.kernel_size = im.size_pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else im.size_pair(name, "stride", stride)

    def _name(self) -> str:
        stride = "" if self.stride == self.kernel_size else f", stride={im.shown(self.stride)}"
        return f"{type(self).__name__}(kernel_size={im.shown(self.kernel_size)}{stride})"

    def forward(self, x):
        x = float_input(im.images(x, self._name(), None))
        im.output_size(self._name(), x.shape, self.kernel_size, self.stride)
        y, cache = self._forward(x, self.kernel_size, self.stride)
        self._cache = (cache, y.shape, y.dtype)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        cache, shape, dtype = self._cached()
        if not need_input_grad:
            return None
        return self._backward(xp.as_grad(grad_output, shape, dtype), cache)

    def output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self._name()} expected input of shape (N, C, H, W); got shape {tuple(input_shape)}")
        return tuple(input_shape[:2]) + im.output_size(self._name(), input_shape, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={im.shown(self.kernel_size)}, stride={im.shown(self.stride)}"

    def get_config(self):
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}

    @classmethod
    def onnx_nodes(cls, g, config, state, prefix, x):
        """One ``onnx_op`` node: windows ``kernel_size`` moved by ``stride``, no padding, floor mode
        (H_out = floor((H - kh) / s) + 1), as chainrule's and PyTorch's pooling.

        Parameters
        ----------
        g : chainrule.io.export.graph.Graph
            The graph being built.
        config : dict
            What ``get_config()`` returned.
        state : dict
            The network's ``state_dict()`` (pooling has no tensors).
        prefix : str
            The module's name in the network, with a trailing dot.
        x : str
            The input tensor.

        Returns
        -------
        str
            The output tensor.
        """
        kernel = [int(v) for v in config["kernel_size"]]
        stride = [int(v) for v in config.get("stride") or kernel]
        return g.node(cls.onnx_op, [x], f"{prefix}{cls.onnx_op.lower()}", kernel_shape=kernel, strides=stride,
                      pads=[0, 0, 0, 0], ceil_mode=0)

    @classmethod
    def torch_modules(cls, config):
        """``torch.nn.MaxPool2d`` or ``AvgPool2d`` with the same window and stride.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.

        Returns
        -------
        list of tuple
            ``(name, args, kwargs)`` of the ``torch.nn`` call.
        """
        return [(cls.__name__, (tuple(map(int, config["kernel_size"])),), {"stride": tuple(map(int, config["stride"]))})]


class MaxPool2d(_Pool2d):
    """The largest value of each window (PyTorch's ``nn.MaxPool2d(kernel_size, stride=None)``, no
    padding, floor mode).

    y[n, c, i, j] = max over u < k_h, v < k_w of x[n, c, i s_h + u, j s_w + v]; backward sends each
    output's gradient to its window's first maximum (dy/dx = 1 there, 0 elsewhere).

    Parameters
    ----------
    kernel_size : int or (int, int)
        (k_h, k_w), the window's height and width.
    stride : int, (int, int) or None, default None
        (s_h, s_w), the step between two windows; None is ``kernel_size`` (windows side by side).
    """

    onnx_op = "MaxPool"
    grad_cases = (("MaxPool2d", lambda d, r: MaxPool2d(2), distinct_images(6)),
                  ("MaxPool2d(overlapping)", lambda d, r: MaxPool2d(3, stride=2), distinct_images(7)),
                  ("MaxPool2d(many channels)", lambda d, r: MaxPool2d((2, 3), stride=(1, 2)),
                   distinct_images(5, extra_channels=WIDE)))

    def _fused_spec(self):
        # For the compiled engine: a max pooling (fused after Conv2d + ReLU when 2 x 2, stride 2).
        return {"op": "maxpool2d", "kernel_size": self.kernel_size, "stride": self.stride}


class AvgPool2d(_Pool2d):
    """The mean of each window (PyTorch's ``nn.AvgPool2d(kernel_size, stride=None)``, no padding,
    floor mode).

    y[n, c, i, j] = (1 / (k_h k_w)) sum over u < k_h, v < k_w of x[n, c, i s_h + u, j s_w + v];
    backward gives each input its windows' gradients divided by k_h k_w.

    Parameters
    ----------
    kernel_size : int or (int, int)
        (k_h, k_w), the window's height and width.
    stride : int, (int, int) or None, default None
        (s_h, s_w), the step between two windows; None is ``kernel_size`` (windows side by side).
    """

    kernels = (avgpool2d_forward, avgpool2d_backward)
    compiled_kernels = None
    onnx_op = "AveragePool"
    grad_cases = (("AvgPool2d", lambda d, r: AvgPool2d(2), images(size=5)),
                  ("AvgPool2d(overlapping)", lambda d, r: AvgPool2d(3, stride=1), images(size=5)))


class GlobalAvgPool2d(Module):
    """The mean of each channel over the whole image: (N, C, H, W) -> (N, C).

    PyTorch writes it ``nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())``; it has no state."""

    def forward(self, x):
        x = float_input(im.images(x, "GlobalAvgPool2d()", None))
        y, x_shape = global_avgpool2d_forward(x)
        self._cache = (x_shape, y.dtype)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        x_shape, dtype = self._cached()
        if not need_input_grad:
            return None
        return global_avgpool2d_backward(xp.as_grad(grad_output, x_shape[:2], dtype), x_shape)

    def output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"GlobalAvgPool2d() expected input of shape (N, C, H, W); got shape {tuple(input_shape)}")
        return tuple(input_shape[:2])

    grad_cases = (("GlobalAvgPool2d", lambda d, r: GlobalAvgPool2d(), images(size=4)),)

    def _fused_spec(self):
        # For the compiled engine: the mean of each channel.
        return {"op": "gap"}

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        # GlobalAveragePool gives (N, C, 1, 1), Flatten(axis=1) (N, C)
        pooled = g.node("GlobalAveragePool", [x], f"{prefix}global_avgpool")
        return g.node("Flatten", [pooled], f"{prefix}global_avgpool_flat", axis=1)

    @staticmethod
    def torch_modules(config):
        return [("AdaptiveAvgPool2d", (1,), {}), ("Flatten", (), {})]
