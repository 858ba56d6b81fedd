"""2-D convolution (cross-correlation, as PyTorch): the kernel pair and the Conv2d module.

With input x (N, C, H, W), weight W (O, C, kh, kw), bias b (O,), stride s and zero padding p:

    y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] xp[n, c, i s_h + u, j s_w + v]

where xp is x padded with p zeros on each side, and H_out = floor((H + 2 p - kh) / s) + 1.

As one matrix product (im2col): each output pixel's patch is a row of X_col (rows (n, i, j),
columns (u, v, c)), the weight is the matrix W_col (columns (u, v, c) x O), and
Y = X_col W_col + 1 b^T. The derivatives are those of the Linear layer applied to the patches:

    dL/dW_col = X_col^T G                  (G = dL/dY, one row per output pixel)
    dL/db     = sum of the rows of G
    dL/dX_col = G W_col^T,  and dL/dx adds each patch entry back where it was read (col2im):
    dL/dx[n, c, i s_h + u - p_h, j s_w + v - p_w] += sum_o G[(n, i, j), o] W[o, c, u, v].

The input gradient is computed one kernel offset (u, v) at a time: G W[:, :, u, v] is an
(N, H_out, W_out, C) block added to a shifted (strided) window of dL/dx. That never builds the
N H_out W_out x kh kw C matrix dL/dX_col and adds long contiguous rows (measured 1.5 x faster
than G W_col^T followed by a scatter of short rows in NumPy). A ``Conv2d`` built with the compiled
kernels enabled (numba) takes ``conv2d_backward_compiled`` instead: one product dL/dX_col = G W_col^T
per chunk and a compiled col2im gather (``_compiled/images.py``).
How X_col is built, and why a few images at a time, is in ``_im2col.py``.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_dtype, check_int, resolve_rng
from ..core.module import Module
from ..core.parameter import Parameter
from . import _im2col as ic
from .. import _compiled
from .._compiled import images as loops
from . import _images as im
from ._draw import WIDE, images
from .linear import INITS, init_bias, init_weight


#: the compiled col2im input gradient is used from this many input channels (or with a stride):
#: measured on one thread, batch 128, backward ms NumPy -> compiled: 16 -> 16 channels at 32 x 32
#: 31.4 -> 35.6 (slower, short rows), 32 -> 32 at 16 x 16 22.9 -> 21.8, 32 -> 64 at 14 x 14
#: 29.2 -> 28.1, 64 -> 64 at 8 x 8 18.3 -> 17.6, 16 -> 32 with stride 2 18.9 -> 13.5.
GATHER_MIN_CHANNELS = 32


# ---- kernels -------------------------------------------------------------------------------------
def conv2d_forward(x, W, b, stride=(1, 1), padding=(0, 0)):
    """y = conv(x, W) + b for x (N, C, H, W) in any memory layout; returns ``(y, cache)``.

    y has shape (N, O, H_out, W_out) and is the channels-last array's view (see ``_images``).
    Y = X_col W_col is computed a chunk of images at a time (``_im2col``); the bias rides in the
    product as a column of ones in X_col and a row of W_col (one pass over y fewer). Each chunk is
    zero-padded on its own (in cache). The cache is the channels-last view of x, from which
    backward rebuilds the patches.
    """
    O, C, kh, kw = W.shape
    kernel, stride, padding = (kh, kw), tuple(stride), tuple(padding)
    out_hw = im.output_size("conv2d_forward", x.shape, kernel, stride, padding)
    N, rows = x.shape[0], out_hw[0] * out_hw[1]
    xh = im.channels_last(x)
    Wc = ic.weight_matrix(W, b)
    y = np.empty((N * rows, O), dtype=x.dtype)
    patches = ic.Patches(xh, kernel, stride, padding, out_hw, ones=b is not None)
    for s, e in patches.parts:
        np.matmul(patches.build(s, e), Wc, out=y[s * rows:e * rows])
    geometry = (x.shape, kernel, stride, padding, out_hw, b is not None)
    return im.channels_first(y.reshape(N, out_hw[0], out_hw[1], O)), (xh, geometry)


def conv2d_input_grad(G, Wt, geometry, out, tmp):
    """dL/dx into ``out`` (n, H, W, C) channels-last from G = dL/dY (n H_out W_out, O), one kernel
    offset at a time: out[:, i s_h + u - p_h, j s_w + v - p_w] += G[(., i, j)] W[:, :, u, v].

    ``Wt`` is the weight as (kh, kw, O, C). When stride 1 and padding (k - 1)/2 keep the size,
    the central offset covers every input once and its product is written straight into
    ``out``; otherwise ``out`` must start at zero. ``tmp`` is an (n H_out W_out, C) buffer."""
    (_, C, H, Wd), (kh, kw), (sh, sw), (ph, pw), (Ho, Wo), _ = geometry
    n = out.shape[0]
    first = (ph, pw) if (sh, sw) == (1, 1) and (Ho, Wo) == (H, Wd) else None
    if first is not None:
        np.matmul(G, Wt[ph, pw], out=out.reshape(-1, C))
    t4 = tmp.reshape(n, Ho, Wo, C)
    for u, ru in enumerate(ic.shifts(H, Ho, kh, sh, ph)):
        for v, rv in enumerate(ic.shifts(Wd, Wo, kw, sw, pw)):
            if ru is None or rv is None or (u, v) == first:
                continue
            (ilo, ihi, xi), (jlo, jhi, xj) = ru, rv
            np.matmul(G, Wt[u, v], out=tmp)
            rows_in = slice(xi, xi + sh * (ihi - ilo - 1) + 1, sh)
            cols_in = slice(xj, xj + sw * (jhi - jlo - 1) + 1, sw)
            out[:, rows_in, cols_in, :] += t4[:, ilo:ihi, jlo:jhi]
    return out


class _WeightGrad:
    """dW_col = sum over chunks of X_col^T G, accumulated chunk by chunk (backward's shared part)."""

    def __init__(self, g, cache, W):
        xh, geometry = cache
        (N, C, _, _), kernel, stride, padding, out_hw, has_bias = geometry
        self.O, self.C, self.kernel, self.has_bias = W.shape[0], C, kernel, has_bias
        self.rows, self.K = out_hw[0] * out_hw[1], kernel[0] * kernel[1] * C
        self.G = im.channels_last(g).reshape(N * self.rows, self.O)
        self.patches = ic.Patches(xh, kernel, stride, padding, out_hw, ones=has_bias)
        self.dWc, self.part = None, np.empty((self.K + has_bias, self.O), dtype=g.dtype)

    def add(self, s, e):
        """dW_col += X_col^T G for images s:e; returns that chunk's rows of G."""
        cols, Gc = self.patches.build(s, e), self.G[s * self.rows:e * self.rows]
        if self.dWc is None:
            self.dWc = cols.T @ Gc
        else:
            np.matmul(cols.T, Gc, out=self.part)
            self.dWc += self.part
        return Gc

    def result(self):
        """(dW (O, C, kh, kw), db (O,) or None)."""
        K, (kh, kw) = self.K, self.kernel
        dWc = self.dWc if self.dWc is not None else np.zeros((K + self.has_bias, self.O), dtype=self.G.dtype)
        dW = np.ascontiguousarray(dWc[:K].reshape(kh, kw, self.C, self.O).transpose(3, 2, 0, 1))
        return dW, (dWc[K].copy() if self.has_bias else None)


def conv2d_backward(g, cache, W, *, need_dx: bool = True):
    """Gradients of ``conv2d_forward`` given g = dL/dy (N, O, H_out, W_out): returns
    ``(dx, dW, db)`` with dx (N, C, H, W) in channels-last memory (None unless ``need_dx``),
    dW (O, C, kh, kw) and db (O,) (None without a bias). Chunk by chunk: the patches are rebuilt,
    dW_col += X_col^T G, and the chunk's dx is formed while its G is in cache."""
    geometry = cache[1]
    (N, C, H, Wd), _, stride, _, out_hw, _ = geometry
    acc = _WeightGrad(g, cache, W)
    dx = Wt = tmp = None
    if need_dx:
        Wt = np.ascontiguousarray(W.transpose(2, 3, 0, 1))            # (kh, kw, O, C)
        covered = tuple(stride) == (1, 1) and tuple(out_hw) == (H, Wd)
        dx = (np.empty if covered else np.zeros)((N, H, Wd, C), dtype=g.dtype)
        tmp = np.empty((acc.patches.most * acc.rows, C), dtype=g.dtype)
    for s, e in acc.patches.parts:
        Gc = acc.add(s, e)
        if need_dx:
            conv2d_input_grad(Gc, Wt, geometry, dx[s:e], tmp[:(e - s) * acc.rows])
    dW, db = acc.result()
    return (None if dx is None else im.channels_first(dx)), dW, db


def conv2d_backward_compiled(g, cache, W, *, need_dx: bool = True):
    """``conv2d_backward`` with dL/dx as one product dL/dX_col = G W_col^T per chunk (kh kw C columns:
    one fork and join of the BLAS threads instead of kh kw) and the compiled col2im gather
    (``_compiled/images.py``), where it measured faster (``GATHER_MIN_CHANNELS``, or a stride);
    elsewhere, and on arrays the loops cannot index, it is ``conv2d_backward``. Same formulas."""
    geometry = cache[1]
    (N, C, H, Wd), kernel, stride, padding, out_hw, _ = geometry
    G = im.channels_last(g)
    if not (need_dx and loops.usable(G) and (C >= GATHER_MIN_CHANNELS or tuple(stride) != (1, 1))):
        return conv2d_backward(g, cache, W, need_dx=need_dx)
    acc = _WeightGrad(g, cache, W)
    O = W.shape[0]
    Wc_T = np.ascontiguousarray(W.transpose(2, 3, 0, 1)).transpose(2, 0, 1, 3).reshape(O, acc.K)  # W_col^T
    dx = np.empty((N, H, Wd, C), dtype=g.dtype)
    tmp = np.empty((acc.patches.most * acc.rows, acc.K), dtype=g.dtype)
    for s, e in acc.patches.parts:
        Gc = acc.add(s, e)
        dcols = np.matmul(Gc, Wc_T, out=tmp[:(e - s) * acc.rows])
        loops.col2im(dcols, kernel, stride, padding, out_hw, dx[s:e])
    dW, db = acc.result()
    return im.channels_first(dx), dW, db


# ---- module --------------------------------------------------------------------------------------
class Conv2d(Module):
    """2-D convolution on images (N, C, H, W), PyTorch's ``nn.Conv2d`` without groups and dilation.

    y[n, o, i, j] = b[o] + sum over c, u, v of W[o, c, u, v] x[n, c, i s_h + u - p_h, j s_w + v - p_w]
    (zeros outside the image), an output of H' = (H + 2 p_h - k_h) // s_h + 1 rows and likewise W'
    columns. ``weight`` has shape (out_channels, in_channels, kh, kw) and ``bias`` (out_channels,),
    as in PyTorch, so a ``state_dict`` loads strictly into ``torch.nn.Conv2d``.

    The output is the (N, C, H, W) view of a channels-last array (PyTorch's channels_last memory
    format): the next image layer uses it without a copy. The patch matrix is built a few images
    at a time, in forward and again in backward, so no batch size needs a large buffer.

    Parameters
    ----------
    in_channels : int
        C, the input's channels.
    out_channels : int
        The number of filters, the output's channels.
    kernel_size : int or (int, int)
        (k_h, k_w), the filters' height and width (one integer for a square filter).
    stride : int or (int, int), default 1
        (s_h, s_w), the step between two filter positions.
    padding : int or (int, int), default 0
        (p_h, p_w), rows and columns of zeros added on each side.
    bias : bool, default True
        Add b; False for a convolution followed by batch norm, whose beta plays its part.
    rng : int, numpy.random.Generator or None, default None
        The seed or generator of the initial weights.
    dtype : dtype, default float32
        The parameters' dtype; inputs are computed in it.
    init : {"uniform", "he", "glorot", "zeros"}, default "uniform"
        ``"uniform"``: PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, with
        fan_in = in_channels k_h k_w; ``"he"``: normal with standard deviation sqrt(2 / fan_in) and
        bias 0 (for ReLU networks); ``"glorot"``: U(+-sqrt(6 / (fan_in + fan_out))) with
        fan_out = out_channels k_h k_w; ``"zeros"``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True,
                 rng=None, dtype=np.float32, *, init: str = "uniform"):
        super().__init__()
        self.in_channels = check_int("Conv2d in_channels", in_channels)
        self.out_channels = check_int("Conv2d out_channels", out_channels)
        self.kernel_size = im.size_pair("Conv2d", "kernel_size", kernel_size)
        self.stride = im.size_pair("Conv2d", "stride", stride)
        self.padding = im.size_pair("Conv2d", "padding", padding, low=0)
        if init not in INITS:
            raise ValueError(f"Conv2d init must be one of {INITS}; got {init!r}")
        if not isinstance(bias, (bool, np.bool_)):
            raise ValueError(f"Conv2d bias must be True or False; got {bias!r}")
        self.init = init
        w, b = self._draw(resolve_rng(rng), init, check_dtype(dtype, "Conv2d dtype"), bias)
        self.weight = Parameter(w)
        self.bias = Parameter(b) if bias else None
        # the backward kernel, chosen once: the compiled input gradient when numba is there
        self._backward_kernel = conv2d_backward_compiled if _compiled.enabled() else conv2d_backward

    def _draw(self, gen, init, dt, bias):
        """(weight (O, C, kh, kw), bias or None); fan_in = C kh kw, fan_out = O kh kw (PyTorch's fans)."""
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        area = self.kernel_size[0] * self.kernel_size[1]
        fan_in, fan_out = self.in_channels * area, self.out_channels * area
        w = init_weight(gen, shape, fan_in, fan_out, init).astype(dt)
        return w, (init_bias(gen, self.out_channels, fan_in, init, dt) if bias else None)

    def _name(self) -> str:
        extra = "" if self.stride == (1, 1) else f", stride={im.shown(self.stride)}"
        extra += "" if self.padding == (0, 0) else f", padding={im.shown(self.padding)}"
        return f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={im.shown(self.kernel_size)}{extra})"

    def reset_parameters(self, rng=None, init: str | None = None) -> None:
        """Draw new weights (and a new bias) with ``init``.

        Parameters
        ----------
        rng : int, numpy.random.Generator or None, default None
            The seed or generator of the new weights.
        init : {"uniform", "he", "glorot", "zeros"} or None, default None
            The scheme (see the class); None keeps the layer's own, another becomes the layer's.
        """
        init = init or self.init
        self.weight.value, b = self._draw(resolve_rng(rng), init, self.weight.value.dtype, self.bias is not None)
        if b is not None:
            self.bias.value = b
        self.init = init

    def forward(self, x):
        W = self.weight.value
        x = im.images(x, self._name(), self.in_channels, W.dtype)
        im.output_size(self._name(), x.shape, self.kernel_size, self.stride, self.padding)
        b = None if self.bias is None else self.bias.value
        y, self._cache = conv2d_forward(x, W, b, self.stride, self.padding)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        cache = self._cached()
        x_shape, _, _, _, out_hw, _ = cache[1]
        g = xp.as_grad(grad_output, (x_shape[0], self.out_channels) + out_hw, self.weight.value.dtype)
        dx, dW, db = self._backward_kernel(g, cache, self.weight.value, need_dx=need_input_grad)
        self.weight.accumulate(dW)
        if db is not None:
            self.bias.accumulate(db)
        return dx

    def output_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[1] != self.in_channels:
            raise ValueError(f"{self._name()} expected input of shape (N, {self.in_channels}, H, W); "
                             f"got shape {tuple(input_shape)}")
        hw = im.output_size(self._name(), input_shape, self.kernel_size, self.stride, self.padding)
        return (input_shape[0], self.out_channels) + hw

    @staticmethod
    def state_shapes(config, shapes_of=None):
        k = im.size_pair("Conv2d", "kernel_size", config["kernel_size"])
        o, c = int(config["out_channels"]), int(config["in_channels"])
        return {"weight": (o, c) + k, **({"bias": (o,)} if config.get("bias", True) else {})}

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + (f", padding={self.padding}" if self.padding != (0, 0) else "")
                + ("" if self.bias is not None else ", bias=False"))

    def get_config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding),
                "bias": self.bias is not None, "dtype": str(self.weight.value.dtype), "init": self.init}

    grad_cases = (
        ("Conv2d(train)", lambda d, r: Conv2d(d, 3, 3, padding=1, rng=r, dtype=np.float64), images(size=5)),
        ("Conv2d(eval)", lambda d, r: Conv2d(d, 3, 3, padding=1, rng=r, dtype=np.float64).eval(), images(size=5)),
        ("Conv2d(stride, no bias)",
         lambda d, r: Conv2d(d, 2, (3, 2), (2, 1), (0, 1), bias=False, rng=r, dtype=np.float64), images(size=6)),
        ("Conv2d(many channels)", lambda d, r: Conv2d(d + WIDE, 4, 3, 2, 1, rng=r, dtype=np.float64),
         images(size=5, extra_channels=WIDE)),
        ("Conv2d(1x1)", lambda d, r: Conv2d(d + WIDE, 2, 1, rng=r, dtype=np.float64, init="he"),
         images(size=3, extra_channels=WIDE)),
    )

    def _fused_spec(self):
        # For the compiled engine: a convolution with these Parameters, stride and padding.
        return {"op": "conv2d", "weight": self.weight, "bias": self.bias, "stride": self.stride,
                "padding": self.padding}

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        # one Conv node: PyTorch's weight layout (out, in, kh, kw), symmetric zero padding [ph, pw, ph, pw]
        kh, kw = (int(v) for v in config["kernel_size"])
        sh, sw = (int(v) for v in config.get("stride", (1, 1)))
        ph, pw = (int(v) for v in config.get("padding", (0, 0)))
        inputs = [x, g.const(state[prefix + "weight"], f"{prefix}weight")]
        if config.get("bias", True):
            inputs.append(g.const(state[prefix + "bias"], f"{prefix}bias"))
        return g.node("Conv", inputs, f"{prefix}conv", kernel_shape=[kh, kw], strides=[sh, sw],
                      pads=[ph, pw, ph, pw], dilations=[1, 1], group=1)

    @staticmethod
    def torch_modules(config):
        kernel, stride, padding = (tuple(map(int, config[k])) for k in ("kernel_size", "stride", "padding"))
        return [("Conv2d", (int(config["in_channels"]), int(config["out_channels"]), kernel),
                 {"stride": stride, "padding": padding, "bias": bool(config["bias"])})]
