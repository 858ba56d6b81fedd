"""A residual block (and a ResNet's stem) as fused passes of the direct convolution, per worker.

Residual(Sequential(conv1, BN1, ReLU, conv2, BN2), shortcut: None or Sequential(conv_s 1 x 1, BN_s))
followed by ReLU, i.e. out = max(0, s + b BN2(conv2(max(0, BN1(conv1(x)))))), s = x or BN_s(conv_s(x)),
b the stochastic-depth factor of each image (``layers.residual``). Per worker, between barriers:

forward  1. conv1(x) -> z1 and conv_s(x) -> zs, each image's statistics taken in cache
         2. (batch statistics) conv2 reads z1 through BN1 + ReLU (applied while padding each image:
            the ReLU's output a1 is never stored) -> z2 and its statistics
         3. (batch statistics) the tail: out = max(0, s + b BN2(z2)) in one pass
backward 1. gr = g (out > 0) (the shortcut's gradient; for an identity shortcut written where dx
            goes) and the per-image sums of BN2 (and BN_s)
         2. (sums) per image: BN2's dz2 -> conv2's dW and its input gradient da1 -> BN1's sums over
            da1 (the ReLU mask recomputed from z1); BN_s's dzs -> conv_s's dW and dx (written)
         3. (sums) per image: BN1's dz1 -> conv1's dW and dx (added)

So a block reads and writes, per image and step: x, z1, z2, (zs), out forward; g, out, z2, gr, z1,
da1, x, dx backward, with the convolutions' padded copies in between, in cache.
"""
from __future__ import annotations

import numpy as np

from . import k_block, k_direct as kd, k_norm
from .k_direct import alloc
from .units import ConvUnit

MASK_NONE, MASK_RELU, MASK_SAMPLE, MASK_BN_RELU = (k_norm.MASK_NONE, k_norm.MASK_RELU, k_norm.MASK_SAMPLE,
                                                   k_norm.MASK_BN_RELU)


class BN:
    """One batch norm's per-batch values (training or evaluation), kept from forward to backward."""

    def __init__(self, unit: ConvUnit, training: bool):
        self.mean, self.inv_std, self.scale, self.var = unit.bn_stats(training)
        self.beta = unit.bn.bias.value
        self.unit = unit

    def totals(self, m):
        """(coef, tot_g, tot_gx, dgamma, dbeta) from the unit's per-image backward sums (after sync)."""
        u = self.unit
        dt = u.dtype
        tot_g, tot_gx = u.sum_g.sum(axis=0), u.sum_gx.sum(axis=0)
        coef = (u.bn.weight.value.astype(np.float64) * self.inv_std / m).astype(dt)
        return coef, tot_g.astype(dt), tot_gx.astype(dt), tot_gx.astype(dt), tot_g.astype(dt)


def _geo(u):
    return (u.k[0], u.k[1], u.s[0], u.s[1], u.p[0], u.p[1], u.Ho, u.Wo)


def conv_bn_backward(u, w, chunks, bn, tot, g, a, b, mode, x, tf, dx, dx_mode, prev=None):
    """Worker w: ``k_block.bn_conv_backward`` for unit u (its batch norm's totals ``tot``) on each of
    its fixed ``chunks`` (k, s, e) of images, the weight gradient into chunk k's partial sum;
    ``prev`` = (unit before, its BN, mode) to take that batch norm's sums over dx."""
    coef, tg, tgx = tot[0], tot[1], tot[2]
    dt = u.dtype
    if prev is None:
        pu, pbn, pmode = u, bn, -1
    else:
        pu, pbn, pmode = prev
    dxa = dx if dx is not None else x
    for k, s, e in chunks:
        u.dwp[k][...] = 0
        k_block.bn_conv_backward(s, e, g, a, b, mode, u.z, bn.mean, bn.inv_std, coef, tg, tgx, dt.type(u.N * u.hw),
                                 bn.scale, bn.beta, x, tf, *_geo(u), u.zimg[w], u.dwp[k], u.xpad[w],
                                 u.wq if u.wq is not None else u.wp, dxa, u.gpad[w], u.dx_variant, dx_mode,
                                 pmode, pu.z, pbn.mean, pbn.inv_std, pbn.scale, pbn.beta, pu.sum_g, pu.sum_gx,
                                 u.wg_variant)


class FusedBlockStep:
    """Residual + ReLU as the fused passes of the module docstring (direct convolutions only)."""

    def __init__(self, res, in_hw, in_channels):
        blk = list(res.block)
        names = [type(m).__name__ for m in blk]
        if names != ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d"]:
            raise NotImplementedError(f"a residual block {names} is not fused in this prototype")
        self.res = res
        self.u1 = ConvUnit(blk[0], in_hw, bn=blk[1], relu=True)
        self.u2 = ConvUnit(blk[3], (self.u1.Ho, self.u1.Wo), bn=blk[4])
        self.us = None
        if res.shortcut is not None:
            sc = list(res.shortcut)
            if [type(m).__name__ for m in sc] != ["Conv2d", "BatchNorm2d"]:
                raise NotImplementedError("the shortcut must be Sequential(Conv2d, BatchNorm2d) to be fused")
            self.us = ConvUnit(sc[0], in_hw, bn=sc[1])
        self.bn_units = [self.u1, self.u2] + ([self.us] if self.us else [])
        self.H, self.W, self.C = in_hw[0], in_hw[1], in_channels

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        for u in self.bn_units:
            u.prepare(N, dtype, n_workers, n_slots)
        u1, u2 = self.u1, self.u2
        self.out = alloc((N, u2.Ho, u2.Wo, u2.O), dtype)
        # gradients live only during backward: da1 is shared by the blocks of a shape, dx alternates
        # between two buffers per shape (block i's dx is read by block i - 1, which writes the other)
        get = pool.get if pool is not None else (lambda shape, slot: alloc(shape, dtype))
        self.da1 = get((N, u1.Ho, u1.Wo, u1.O), "da1")
        self.dx = get((N, self.H, self.W, self.C), ("dx", self.index % 2))
        # identity shortcut: dL/dx starts as the shortcut's gradient, so that is where it is written
        self.gr = self.dx.reshape(-1, self.C) if self.us is None else get((N * u2.hw, u2.O), "gr")
        self.ones = np.ones(N, dtype)
        self.z1_4d = self.u1.z.reshape(N, u1.Ho, u1.Wo, u1.O)

    def forward(self, w, x, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped = ctx.masks[self]
        tr = ctx.training
        if us is not None:
            us.forward(w, x, n0, n1, None, tr)
        if not dropped:
            u1.forward(w, x, n0, n1, None, tr)
        if tr:
            ctx.sync()
        out = self.out.reshape(-1, u2.O)
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        bns = BN(us, tr) if us is not None else None
        if dropped:                                    # batch mode, block dropped: out = relu(shortcut)
            if us is None:
                np.maximum(x.reshape(-1, self.C)[r2], 0, out=out[r2])
            else:
                k_norm.bn_apply(us.z[r2], bns.mean, bns.scale, bns.beta, True, out[r2])
            if w == 0:
                self.bns = bns
            return self.out
        bn1 = BN(u1, tr)
        tf = kd.bn_relu_transform(bn1.mean, bn1.scale, bn1.beta)
        if tr:
            kd.conv_forward_stats(self.z1_4d, n0, n1, *_geo(u2), u2.wp, u2.z, u2.xpad[w], u2.fwd_variant, tf,
                                  u2.means, u2.m2s)
        else:
            kd.conv_forward(self.z1_4d, n0, n1, *_geo(u2), u2.wp, u2.z, u2.xpad[w], u2.fwd_variant, tf)
        if tr:
            ctx.sync()
        bn2 = BN(u2, tr)
        if us is None:
            s, s_bn, sm, ss, sb = x.reshape(-1, self.C)[r2], False, bn2.mean, bn2.scale, bn2.beta
        else:
            s, s_bn, sm, ss, sb = us.z[r2], True, bns.mean, bns.scale, bns.beta
        k_norm.residual_tail(u2.z[r2], bn2.mean, bn2.scale, bn2.beta, s, s_bn, sm, ss, sb, b[n0:n1], u2.hw, out[r2])
        if w == 0:
            self.bn1, self.bn2, self.bns = bn1, bn2, bns
        return self.out

    def backward(self, w, g, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped = ctx.masks[self]
        x = ctx.input_of[self]
        no_tf = u1.no_tf
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        g2, out2 = g.reshape(-1, u2.O), self.out.reshape(-1, u2.O)
        bn2, bns = (None, self.bns) if dropped else (self.bn2, self.bns)
        zu = us if us is not None else u2                   # dummies where there is no shortcut norm
        if dropped:
            k_norm.relu_mask(g2[r2], out2[r2], self.gr[r2])
            if us is not None:
                k_norm.bwd_sums(self.gr[r2], self.gr[r2], b, MASK_NONE, us.z[r2], bns.mean, bns.inv_std, us.hw,
                                us.sum_g, us.sum_gx, n0, bns.scale, bns.beta)
        else:
            k_block.tail_backward_sums(g2[r2], out2[r2], b[n0:n1], u2.hw, self.gr[r2], u2.z[r2], bn2.mean,
                                       bn2.inv_std, u2.sum_g, u2.sum_gx, us is not None, zu.z[r2],
                                       (bns or bn2).mean, (bns or bn2).inv_std, zu.sum_g, zu.sum_gx, n0)
        ctx.sync()
        m = u2.N * u2.hw
        grads = {}
        if us is not None:
            tot_s = bns.totals(m)
            grads[us] = tot_s[3:]
            conv_bn_backward(us, w, ctx.chunks[w], bns, tot_s, self.gr, self.gr, b, MASK_NONE, x, no_tf, self.dx, 1)
        if not dropped:
            tot2 = bn2.totals(m)
            grads[u2] = tot2[3:]
            tf1 = kd.bn_relu_transform(self.bn1.mean, self.bn1.scale, self.bn1.beta)
            conv_bn_backward(u2, w, ctx.chunks[w], bn2, tot2, self.gr, self.gr, b, MASK_SAMPLE, self.z1_4d, tf1, self.da1,
                             1, prev=(u1, self.bn1, MASK_BN_RELU))
            ctx.sync()
            tot1 = self.bn1.totals(u1.N * u1.hw)
            grads[u1] = tot1[3:]
            da1 = self.da1.reshape(-1, u1.O)
            conv_bn_backward(u1, w, ctx.chunks[w], self.bn1, tot1, da1, da1, b, MASK_BN_RELU, x, no_tf, self.dx, 2)
        if w == 0:
            self.bn_grads = grads
        return self.dx

    def batch_stats(self):
        """(unit, BN) of every batch norm that saw the last training batch."""
        if self._last_mask[1]:
            return [(self.us, self.bns)] if self.us is not None else []
        return [(self.u1, self.bn1), (self.u2, self.bn2)] + ([(self.us, self.bns)] if self.us is not None else [])

    def grads(self, n_workers):
        out = []
        for u in self.bn_units:
            if u in self.bn_grads:
                dW, _ = u.grads(n_workers)
                dg, db = self.bn_grads[u]
                out += [(u.conv.weight, dW), (u.bn.weight, dg.copy()), (u.bn.bias, db.copy())]
        return out


class FusedStemStep:
    """Conv2d + BatchNorm2d + ReLU (a ResNet's stem; no input gradient when it is the first layer)."""

    def __init__(self, unit: ConvUnit):
        self.unit = unit
        self.bn_units = [unit]

    def prepare(self, N, dtype, n_workers, pool=None, n_slots=None):
        u = self.unit
        u.prepare(N, dtype, n_workers, n_slots)
        self.a = alloc((N, u.Ho, u.Wo, u.O), dtype)
        self.ones = np.ones(1, dtype)
        self.dx = None if u.first else alloc((N, u.H, u.W, u.C), dtype)

    def forward(self, w, x, n0, n1, ctx):
        u = self.unit
        u.forward(w, x, n0, n1, None, ctx.training)
        if ctx.training:
            ctx.sync()
        bn = BN(u, ctx.training)
        if w == 0:
            self.bn = bn
        r = slice(n0 * u.hw, n1 * u.hw)
        k_norm.bn_apply(u.z[r], bn.mean, bn.scale, bn.beta, True, self.a.reshape(-1, u.O)[r])
        return self.a

    def backward(self, w, g, n0, n1, ctx):
        u, bn = self.unit, self.bn
        r = slice(n0 * u.hw, n1 * u.hw)
        g2, a2 = g.reshape(-1, u.O), self.a.reshape(-1, u.O)
        k_norm.bwd_sums(g2[r], a2[r], self.ones, MASK_RELU, u.z[r], bn.mean, bn.inv_std, u.hw, u.sum_g, u.sum_gx,
                        n0, bn.scale, bn.beta)
        ctx.sync()
        tot = bn.totals(u.N * u.hw)
        if w == 0:
            self.bn_grads = tot[3:]
        conv_bn_backward(u, w, ctx.chunks[w], bn, tot, g2, a2, self.ones, MASK_RELU, ctx.input_of[self], u.no_tf, self.dx,
                         0 if self.dx is None else 1)
        return self.dx

    def batch_stats(self):
        return [(self.unit, self.bn)]

    def grads(self, n_workers):
        dW, _ = self.unit.grads(n_workers)
        dg, db = self.bn_grads
        return [(self.unit.conv.weight, dW), (self.unit.bn.weight, dg.copy()), (self.unit.bn.bias, db.copy())]
