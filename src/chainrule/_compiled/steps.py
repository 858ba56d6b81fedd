"""The steps of a fused network: Conv2d [+ ReLU] [+ MaxPool2d(2)], Flatten, Linear [+ ReLU].

A step works on full-batch arrays it owns (channels-last images between the convolutions) and is
run by every worker on the rows of its own images: ``forward(w, x, n0, n1, ctx)`` and
``backward(w, g, n0, n1, ctx)`` fill rows [n0, n1) and return the full-batch array the next step
reads. The batch is cut into fixed chunks of images (``ctx.chunks[w]``: (k, first, end)); a
parameter gradient is summed over chunk k's images into slot k, and ``grads()`` adds the slots in
chunk order on the calling thread, after the workers are done: the bits do not depend on how many
workers ran.

The math is the reference kernels' (``layers.conv``, ``layers.pooling``, ``layers.activations``,
``layers.reshape``, ``layers.linear``): the convolution as ``direct`` computes it (fused
multiply-adds, within the reference's tolerance), the pooling, ReLU and flatten exactly.
A step reads its weights from the Parameters at every forward (``load``), so optimizers,
``load_state_dict`` and ``Parameter.value = ...`` need nothing from the engine.
"""
from __future__ import annotations

import numpy as np

from . import direct as kd
from . import pool as kp


class ConvStep:
    """Conv2d + bias [+ ReLU] [+ 2 x 2 max pooling] on (N, H, W, C) images, direct convolution."""

    def __init__(self, conv: dict, relu: bool, pool: bool, in_shape, first: bool):
        self.weight, self.bias_param = conv["weight"], conv["bias"]
        O, C, kh, kw = self.weight.value.shape
        self.O, self.C, self.k = O, C, (kh, kw)
        self.s, self.p = tuple(conv["stride"]), tuple(conv["padding"])
        self.relu, self.pool, self.first = bool(relu), bool(pool), bool(first)
        self.H, self.W = in_shape[0], in_shape[1]
        self.Ho = (self.H + 2 * self.p[0] - kh) // self.s[0] + 1
        self.Wo = (self.W + 2 * self.p[1] - kw) // self.s[1] + 1
        self.hw = self.Ho * self.Wo

    def out_shape(self):
        if self.pool:
            return (self.Ho // 2, self.Wo // 2, self.O)
        return (self.Ho, self.Wo, self.O)

    def describe(self) -> str:
        parts = ["Conv2d"] + (["ReLU"] if self.relu else []) + (["MaxPool2d"] if self.pool else [])
        return " + ".join(parts)

    def prepare(self, N, dtype, n_workers, n_slots):
        O, (kh, kw), (ph, pw) = self.O, self.k, self.p
        L = self.lane = kd.lanes(dtype)
        self.dtype = np.dtype(dtype)
        self.y = kd.alloc((N,) + self.out_shape(), dtype)
        self.arg = np.empty((N,) + self.out_shape(), np.uint8) if self.pool else None
        self.gz = None if self.pool or not self.relu else kd.alloc((N * self.hw, O), dtype)
        self.dx = None if self.first else kd.alloc((N, self.H, self.W, self.C), dtype)
        self.dwp = [kd.alloc((kh, kw, self.C, kd.padded_to(O, L)), dtype) for _ in range(n_slots)]
        self.db = [np.zeros(O, dtype) for _ in range(n_slots)]
        self.xpad = [kd.alloc(((self.H + 2 * ph) * (self.W + 2 * pw) * self.C,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.gpad = [kd.alloc(((self.Ho + 2 * kh + 2) * (self.Wo + 2 * kw + 2) * O,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.zimg = [kd.alloc((self.hw, O), dtype) for _ in range(n_workers)] if self.pool else None
        self.fwd_variant = kd.conv_variant(kd.padded_to(O, L), L, self.Wo)
        self.dx_variant = kd.conv_variant(kd.padded_to(self.C, L), L, self.W)
        self.wg_variant = kd.wgrad_variant(kd.padded_to(O, L), L, kw * self.C)
        self.no_tf = kd.no_transform(dtype)
        self.zero_bias = np.zeros(O, dtype)

    def load(self, need_dx: bool = False):
        """The weights packed for the kernels, from the Parameters' current values (main thread)."""
        W = self.weight.value
        self.wp = kd.pack_forward(W, self.lane)
        self.wq = kd.pack_input_grad(W, self.lane) if (not self.first or need_dx) else None
        self.bias = self.zero_bias if self.bias_param is None else self.bias_param.value

    def ensure_dx(self, N):
        """The first step computes dL/dx only when asked (``need_input_grad``)."""
        if self.dx is None:
            self.dx = kd.alloc((N, self.H, self.W, self.C), self.dtype)
        if self.wq is None:
            self.wq = kd.pack_input_grad(self.weight.value, self.lane)

    def forward(self, w, x, n0, n1, ctx):
        (kh, kw), (sh, sw), (ph, pw) = self.k, self.s, self.p
        geo = (kh, kw, sh, sw, ph, pw, self.Ho, self.Wo, self.wp)
        if self.pool:
            kd.conv_forward_pool(x, n0, n1, *geo, self.zimg[w], self.xpad[w], self.fwd_variant, self.no_tf,
                                 self.bias, self.y, self.arg)
        else:
            kd.conv_forward_bias_relu(x, n0, n1, *geo, self.y.reshape(-1, self.O), self.xpad[w], self.fwd_variant,
                                      self.no_tf, self.bias, self.relu)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        (kh, kw), (sh, sw), (ph, pw) = self.k, self.s, self.p
        geo = (kh, kw, sh, sw, ph, pw, self.Ho, self.Wo)
        x = ctx.input_of[self]
        dx = self.dx if ctx.need_dx(self) else None
        wq = self.wq if dx is not None else self.wp           # unused without dx
        dxa = dx if dx is not None else x
        if not self.pool:
            gz = g.reshape(-1, self.O)
            if self.relu:
                r = slice(n0 * self.hw, n1 * self.hw)
                kp.relu_mask(gz[r], self.y.reshape(-1, self.O)[r], self.gz[r])
                gz = self.gz
        for k, s, e in ctx.chunks[w]:
            dwp, db = self.dwp[k], self.db[k]
            dwp[...] = 0
            db[...] = 0
            if self.pool:
                kd.pool_conv_backward(g, self.y, self.arg, db, x, s, e, *geo, self.zimg[w], dwp, self.xpad[w], wq,
                                      dxa, self.gpad[w], self.dx_variant, dx is not None, self.no_tf,
                                      self.wg_variant)
                continue
            kd.weight_grad(x, s, e, *geo, gz, dwp, self.xpad[w], self.no_tf, self.wg_variant)
            kd.bias_grad(gz, s * self.hw, e * self.hw, db)
            if dx is not None:
                kd.input_grad(gz, s, e, *geo, wq, dx, self.gpad[w], self.dx_variant, 0)
        return dx

    def grads(self):
        O = self.O                 # lanes past O hold what the tiles read past a row: never summed
        dwp = self.dwp[0][..., :O].copy()
        db = self.db[0].copy()
        for k in range(1, len(self.dwp)):
            dwp += self.dwp[k][..., :O]
            db += self.db[k]
        out = [(self.weight, kd.unpack_weight_grad(dwp, self.weight.value.shape))]
        return out + ([(self.bias_param, db)] if self.bias_param is not None else [])


class FlattenStep:
    """Flatten of channels-last images in chainrule's (c, h, w) order (what the next Linear expects)."""

    def __init__(self, in_shape):
        self.H, self.W, self.C = in_shape

    def out_shape(self):
        return (self.C * self.H * self.W,)

    def describe(self) -> str:
        return "Flatten"

    def prepare(self, N, dtype, n_workers, n_slots):
        self.y = np.empty((N, self.C * self.H * self.W), dtype)
        self.dx = np.empty((N, self.H, self.W, self.C), dtype)

    def load(self, need_dx: bool = False):
        pass

    def forward(self, w, x, n0, n1, ctx):
        self.y[n0:n1].reshape(n1 - n0, self.C, self.H, self.W)[...] = x[n0:n1].transpose(0, 3, 1, 2)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        self.dx[n0:n1] = g[n0:n1].reshape(n1 - n0, self.C, self.H, self.W).transpose(0, 2, 3, 1)
        return self.dx

    def grads(self):
        return []


class LinearStep:
    """Linear [+ ReLU] on (N, F) rows: y = x W^T + b and dL/dx = G W, one product per fixed chunk of
    rows (a row's bits do not depend on the split); the weight gradient G^T X as one product over
    the batch after the workers are done, on one BLAS thread (OpenBLAS's Haswell kernels give other
    bits on two: tests/compiled, marked determinism, with OPENBLAS_CORETYPE=Haswell)."""

    def __init__(self, linear: dict, relu: bool, in_features: int, first: bool = False):
        self.weight, self.bias_param = linear["weight"], linear["bias"]
        self.relu, self.first = bool(relu), bool(first)
        self.in_features = in_features

    def out_shape(self):
        return (self.weight.value.shape[0],)

    def describe(self) -> str:
        return "Linear" + (" + ReLU" if self.relu else "")

    def prepare(self, N, dtype, n_workers, n_slots):
        out_f, in_f = self.weight.value.shape
        self.y = np.empty((N, out_f), dtype)
        self.dx = np.empty((N, in_f), dtype)
        self.g = np.empty((N, out_f), dtype)

    def load(self, need_dx: bool = False):
        self.Wt = self.weight.value.T
        self.b = None if self.bias_param is None else self.bias_param.value

    def forward(self, w, x, n0, n1, ctx):
        for _, s, e in ctx.chunks[w]:
            y = self.y[s:e]
            np.matmul(x[s:e], self.Wt, out=y)
            if self.b is not None:
                y += self.b
            if self.relu:
                np.maximum(y, 0, out=y)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        self.x = ctx.input_of[self]
        need_dx = ctx.need_dx(self)
        for k, s, e in ctx.chunks[w]:
            gl = self.g[s:e]
            if self.relu:
                kp.relu_mask(g[s:e], self.y[s:e], gl)
            else:
                gl[...] = g[s:e]
            if need_dx:
                np.matmul(gl, self.weight.value, out=self.dx[s:e])
        return self.dx if need_dx else None

    def grads(self):
        dW = self.g.T @ self.x
        out = [(self.weight, dW)]
        if self.bias_param is not None:
            out.append((self.bias_param, kp.column_sums(self.g)))
        return out
