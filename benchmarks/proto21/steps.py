"""The steps of a compiled network: a convolution (lenet's conv + bias + ReLU + pool), flatten, global
pooling, Linear, and the im2col method's batch-norm steps and residual block (the direct method's
are in ``block.py``).

Each step owns full-batch output arrays; ``forward(w, x, n0, n1, ctx)`` and ``backward(w, g, n0,
n1, ctx)`` fill the rows of worker w's images [n0, n1) (``ctx.chunks[w]``: the same images as fixed
chunks) and return the full-batch array the next step reads. A step that needs batch statistics
calls ``ctx.sync()`` (every worker calls it the same number of times). Parameter gradients are kept
per chunk (direct method) or per worker (im2col) and added in that order by ``grads()`` on the
calling thread, after the workers are done.
"""
from __future__ import annotations

import numpy as np

from . import k_norm, k_pool
from .k_direct import alloc
from .units import ConvUnit

MASK_NONE, MASK_RELU, MASK_SAMPLE = k_norm.MASK_NONE, k_norm.MASK_RELU, k_norm.MASK_SAMPLE


class Stats:
    """One batch norm's (mean, inv_std, scale, var) for the current batch, kept for backward."""
    __slots__ = ("mean", "inv_std", "scale", "var")

    def __init__(self, values):
        self.mean, self.inv_std, self.scale, self.var = values


class ConvStep:
    """A ConvUnit without batch norm (lenet: conv + bias + ReLU + max pooling)."""

    def __init__(self, unit: ConvUnit):
        self.unit = unit
        self.bn_units = []

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        u = self.unit
        u.prepare(N, dtype, n_workers, n_slots if u.method == "direct" else None)
        self.dx = None if u.first else np.empty((N, u.H, u.W, u.C), dtype)

    def forward(self, w, x, n0, n1, ctx):
        self.unit.forward(w, x, n0, n1, ctx.scratch[w])
        return self.unit.y

    def backward(self, w, g, n0, n1, ctx):
        u = self.unit
        chunks = ctx.chunks[w] if u.method == "direct" else None
        if u.pool:
            u.backward(w, ctx.input_of[self], None, n0, n1, self.dx, None, ctx.scratch[w], g_pool=g, chunks=chunks)
        else:
            gz = g.reshape(-1, u.O)
            if u.relu:
                r = slice(n0 * u.hw, n1 * u.hw)
                k_norm.relu_mask(gz[r], u.y.reshape(-1, u.O)[r], gz[r])
            u.backward(w, ctx.input_of[self], gz, n0, n1, self.dx, None, ctx.scratch[w], chunks=chunks)
        return self.dx

    def grads(self, n_workers):
        dW, db = self.unit.grads(n_workers)
        return [(self.unit.conv.weight, dW)] + ([(self.unit.conv.bias, db)] if db is not None else [])


class ConvBNStep(ConvStep):
    """Conv2d + BatchNorm2d + ReLU (a ResNet's stem)."""

    def __init__(self, unit: ConvUnit):
        super().__init__(unit)
        self.bn_units = [unit]

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        super().prepare(N, dtype, n_workers)
        u = self.unit
        self.a = alloc((N, u.Ho, u.Wo, u.O), dtype)

    def forward(self, w, x, n0, n1, ctx):
        u = self.unit
        u.forward(w, x, n0, n1, ctx.scratch[w])
        if ctx.training:
            ctx.sync()
        st = Stats(u.bn_stats(ctx.training))
        if w == 0:
            self.st = st
        r = slice(n0 * u.hw, n1 * u.hw)
        k_norm.bn_apply(u.z[r], st.mean, st.scale, u.bn.bias.value, True, self.a.reshape(-1, u.O)[r])
        return self.a

    def backward(self, w, g, n0, n1, ctx):
        u = self.unit
        self.bn_grads = u.bn_backward(w, g.reshape(-1, u.O), self.a.reshape(-1, u.O), None, MASK_RELU, n0, n1,
                                      ctx.sync, (self.st.mean, self.st.inv_std))
        u.backward(w, ctx.input_of[self], u.dz, n0, n1, self.dx, None, ctx.scratch[w])
        return self.dx

    def grads(self, n_workers):
        dg, db = self.bn_grads
        return super().grads(n_workers) + [(self.unit.bn.weight, dg.copy()), (self.unit.bn.bias, db.copy())]

    def batch_stats(self):
        return [(self.unit, self.st)]


class BlockStep:
    """Residual(Sequential(conv, BN, ReLU, conv, BN), shortcut None or Sequential(conv 1x1, BN)) + ReLU."""

    def __init__(self, res, in_hw, in_channels, method="direct"):
        blk = list(res.block)
        names = [type(m).__name__ for m in blk]
        if names != ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d"]:
            raise NotImplementedError(f"BlockStep: a block {names} is not fused in this prototype")
        self.res = res
        self.u1 = ConvUnit(blk[0], in_hw, bn=blk[1], relu=True, method=method)
        self.u2 = ConvUnit(blk[3], (self.u1.Ho, self.u1.Wo), bn=blk[4], method=method)
        self.us = None
        if res.shortcut is not None:
            sc = list(res.shortcut)
            if [type(m).__name__ for m in sc] != ["Conv2d", "BatchNorm2d"]:
                raise NotImplementedError("BlockStep: the shortcut must be Sequential(Conv2d, BatchNorm2d)")
            self.us = ConvUnit(sc[0], in_hw, bn=sc[1], method=method)
        self.bn_units = [self.u1, self.u2] + ([self.us] if self.us else [])
        self.H, self.W, self.C = in_hw[0], in_hw[1], in_channels

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        for u in self.bn_units:
            u.prepare(N, dtype, n_workers)
        u1, u2 = self.u1, self.u2
        self.a1 = alloc((N, u1.Ho, u1.Wo, u1.O), dtype)
        self.out = alloc((N, u2.Ho, u2.Wo, u2.O), dtype)
        self.da1 = alloc((N, u1.Ho, u1.Wo, u1.O), dtype)
        self.dx = alloc((N, self.H, self.W, self.C), dtype)
        # identity shortcut: dL/dx starts as the shortcut's gradient, so that is where it is written
        self.gr = self.dx.reshape(-1, self.C) if self.us is None else alloc((N * u2.hw, u2.O), dtype)
        self.ones = np.ones(N, dtype)

    def forward(self, w, x, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped = ctx.masks[self]
        sc = ctx.scratch[w]
        if us is not None:
            us.forward(w, x, n0, n1, sc)
        if not dropped:
            u1.forward(w, x, n0, n1, sc)
        if ctx.training:
            ctx.sync()
        sts = Stats(us.bn_stats(ctx.training)) if us is not None else None
        out = self.out.reshape(-1, u2.O)
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        if dropped:                                    # batch mode, block dropped: out = relu(shortcut)
            s = x.reshape(-1, self.C)[r2] if us is None else us.z[r2]
            if us is None:
                np.maximum(s, 0, out=out[r2])
            else:
                k_norm.bn_apply(s, sts.mean, sts.scale, us.bn.bias.value, True, out[r2])
            if w == 0:
                self.sts = sts
            return self.out
        st1 = Stats(u1.bn_stats(ctx.training))
        r1 = slice(n0 * u1.hw, n1 * u1.hw)
        k_norm.bn_apply(u1.z[r1], st1.mean, st1.scale, u1.bn.bias.value, True, self.a1.reshape(-1, u1.O)[r1])
        u2.forward(w, self.a1, n0, n1, sc)
        if ctx.training:
            ctx.sync()
        st2 = Stats(u2.bn_stats(ctx.training))
        if us is None:
            s, s_bn, sm, ss, sb = x.reshape(-1, self.C)[r2], False, st2.mean, st2.scale, st2.mean
        else:
            s, s_bn, sm, ss, sb = us.z[r2], True, sts.mean, sts.scale, us.bn.bias.value
        k_norm.residual_tail(u2.z[r2], st2.mean, st2.scale, u2.bn.bias.value, s, s_bn, sm, ss, sb,
                             b[n0:n1], u2.hw, out[r2])
        if w == 0:
            self.st1, self.st2, self.sts = st1, st2, sts
        return self.out

    def backward(self, w, g, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped = ctx.masks[self]
        sc = ctx.scratch[w]
        x = ctx.input_of[self]
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        k_norm.relu_mask(g.reshape(-1, u2.O)[r2], self.out.reshape(-1, u2.O)[r2], self.gr[r2])
        bn_grads = {}
        if not dropped:
            bn_grads[u2] = u2.bn_backward(w, self.gr, None, b, MASK_SAMPLE, n0, n1, ctx.sync,
                                          (self.st2.mean, self.st2.inv_std))
        if us is not None:
            bn_grads[us] = us.bn_backward(w, self.gr, None, None, MASK_NONE, n0, n1, ctx.sync,
                                          (self.sts.mean, self.sts.inv_std))
        if dropped:
            if us is not None:
                us.backward(w, x, us.dz, n0, n1, self.dx, None, sc)
        else:
            u2.backward(w, self.a1, u2.dz, n0, n1, self.da1, None, sc)
            bn_grads[u1] = u1.bn_backward(w, self.da1.reshape(-1, u1.O), self.a1.reshape(-1, u1.O), None,
                                          MASK_RELU, n0, n1, ctx.sync, (self.st1.mean, self.st1.inv_std))
            u1.backward(w, x, u1.dz, n0, n1, self.dx, self.dx if us is None else None, sc)
            if us is not None:
                us.backward(w, x, us.dz, n0, n1, self.dx, self.dx, sc)
        if w == 0:
            self.bn_grads = bn_grads
        return self.dx

    def batch_stats(self):
        if self._last_mask[1]:
            return [(self.us, self.sts)] if self.us is not None else []
        return [(self.u1, self.st1), (self.u2, self.st2)] + ([(self.us, self.sts)] if self.us is not None else [])

    def grads(self, n_workers):
        out = []
        b, dropped = self._last_mask
        units = ([] if dropped else [self.u1, self.u2]) + ([self.us] if self.us else [])
        for u in units:
            dW, _ = u.grads(n_workers)
            dg, db = self.bn_grads[u]
            out += [(u.conv.weight, dW), (u.bn.weight, dg.copy()), (u.bn.bias, db.copy())]
        return out


class FlattenStep:
    """Flatten of channels-last images in chainrule's (c, h, w) order (what the next Linear expects)."""
    bn_units = []

    def __init__(self, in_shape):
        self.H, self.W, self.C = in_shape

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        self.y = np.empty((N, self.C * self.H * self.W), dtype)
        self.dx = np.empty((N, self.H, self.W, self.C), dtype)

    def forward(self, w, x, n0, n1, ctx):
        self.y[n0:n1].reshape(n1 - n0, self.C, self.H, self.W)[...] = x[n0:n1].transpose(0, 3, 1, 2)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        self.dx[n0:n1] = g[n0:n1].reshape(n1 - n0, self.C, self.H, self.W).transpose(0, 2, 3, 1)
        return self.dx

    def grads(self, n_workers):
        return []


class GapStep:
    """GlobalAvgPool2d: (N, H, W, C) -> (N, C)."""
    bn_units = []

    def __init__(self, in_shape):
        self.H, self.W, self.C = in_shape

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        self.y = np.empty((N, self.C), dtype)
        self.dx = np.empty((N, self.H, self.W, self.C), dtype)

    def forward(self, w, x, n0, n1, ctx):
        hw = self.H * self.W
        k_pool.gap_fwd(x.reshape(-1, self.C)[n0 * hw:n1 * hw], hw, self.y, n0)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        hw = self.H * self.W
        k_pool.gap_bwd(g, hw, n0, self.dx.reshape(-1, self.C)[n0 * hw:n1 * hw])
        return self.dx

    def grads(self, n_workers):
        return []


class LinearStep:
    """Linear [+ ReLU] on (N, F) rows: y = x W^T + b, one product per fixed chunk of rows (a row's bits
    do not depend on the split), the weight gradient per chunk, added in chunk order."""
    bn_units = []

    def __init__(self, lin, relu, first=False):
        self.lin, self.relu, self.first = lin, bool(relu), first

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        out_f, in_f = self.lin.weight.value.shape
        n_slots = n_workers if n_slots is None else n_slots
        self.y = np.empty((N, out_f), dtype)
        self.dx = np.empty((N, in_f), dtype)
        self.g = np.empty((N, out_f), dtype)
        self.dW = [np.empty((out_f, in_f), dtype) for _ in range(n_slots)]
        self.db = [np.empty(out_f, dtype) for _ in range(n_slots)]

    def _chunks(self, w, n0, n1, ctx):
        return ctx.chunks[w] if getattr(ctx, "chunks", None) else [(w, n0, n1)]

    def forward(self, w, x, n0, n1, ctx):
        Wt = self.lin.weight.value.T
        for _, s, e in self._chunks(w, n0, n1, ctx):
            y = self.y[s:e]
            np.matmul(x[s:e], Wt, out=y)
            y += self.lin.bias.value
            if self.relu:
                np.maximum(y, 0, out=y)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        x = ctx.input_of[self]
        for k, s, e in self._chunks(w, n0, n1, ctx):
            gl = self.g[s:e]
            if self.relu:
                k_norm.relu_mask(g[s:e], self.y[s:e], gl)
            else:
                gl[...] = g[s:e]
            np.matmul(gl.T, x[s:e], out=self.dW[k])
            np.sum(gl, axis=0, out=self.db[k])
            if not self.first:
                np.matmul(gl, self.lin.weight.value, out=self.dx[s:e])
        return None if self.first else self.dx

    def grads(self, n_workers):
        dW, db = self.dW[0].copy(), self.db[0].copy()
        for k in range(1, len(self.dW)):
            dW += self.dW[k]
            db += self.db[k]
        return [(self.lin.weight, dW), (self.lin.bias, db)]
