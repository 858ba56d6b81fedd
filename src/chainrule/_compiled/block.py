"""The residual network's fused steps: Conv2d + BatchNorm2d + ReLU (the stem), a residual block + ReLU,
global average pooling.

A block is Residual(Sequential(conv1, BN1, ReLU, conv2, BN2), shortcut None or Sequential(conv_s
1 x 1, BN_s)) followed by ReLU: out = max(0, s + b BN2(conv2(max(0, BN1(conv1(x)))))), s = x or
BN_s(conv_s(x)), b the stochastic-depth factor of each image (``layers.residual``: drawn on the
calling thread, from the layer's generator, in forward order). Per worker, between barriers:

forward  1. conv1(x) -> z1 and conv_s(x) -> zs, each image's statistics taken in cache
         2. (batch statistics) conv2 reads z1 through BN1 + ReLU (applied while padding each image:
            the ReLU's output a1 is never stored) -> z2 and its statistics
         3. (batch statistics) the tail: out = max(0, s + b BN2(z2)) in one pass
backward 1. gr = g (out > 0) (the shortcut's gradient), written over g, and the per-image sums of
            BN2 (and BN_s)
         2. (sums) per image: BN2's dz2 -> conv2's dW and its input gradient da1, written over that
            image's z2 (read just before) -> BN1's sums over da1 (the ReLU mask recomputed from
            z1); BN_s's dzs -> conv_s's dW and dx (written)
         3. (sums) per image: BN1's dz1 -> conv1's dW and dx (added; for an identity shortcut dx
            is gr's buffer: dL/dx = gr + conv1's input gradient, in place)

What a block holds from its forward to its backward: z1, z2, zs and out, in one arena (out is the
next step's input); a1, da1 and BN's dz never fill a full batch. The input gradients are one
buffer per shape, each written over the one before (``plan.Plan._prepare`` places it in the arena
of a block whose backward is over). After a stem, the first block reads the stem's raw z through
its batch norm + ReLU (its convolutions as conv2 reads z1, its identity shortcut in the tail), so
the stem's output is not stored either. ResNet-20, batch 128, float32: 150 MiB full batch (207
before: two input-gradient buffers, da1 and gr per stage, the stem's output), a peak growth of
172 MB over a training step (``benchmarks/fused_memory.py``; the reference modules': 253 MB).

In ``"batch"`` mode a dropped block runs nothing (out = max(0, s)), as the reference.
"""
from __future__ import annotations

import numpy as np

from . import direct as kd
from . import norm as kn
from . import norm_conv as kb
from . import pool as kp
from .units import BNConv, BNValues

MASK_NONE, MASK_RELU, MASK_SAMPLE, MASK_BN_RELU = kn.MASK_NONE, kn.MASK_RELU, kn.MASK_SAMPLE, kn.MASK_BN_RELU


def conv_bn_backward(u, w, chunks, bn, tot, g, a, b, mode, x, tf, dx, dx_mode, prev=None):
    """Worker w: ``norm_conv.bn_conv_backward`` for unit u (its batch norm's totals ``tot``) on each
    of its fixed ``chunks`` (k, s, e) of images, the weight gradient into chunk k's partial sum;
    ``prev`` = (unit before, its values, mode) to take that batch norm's sums over dx."""
    coef, tg, tgx = tot[0], tot[1], tot[2]
    pu, pbn, pmode = (u, bn, -1) if prev is None else prev
    dxa = dx if dx is not None else x
    for k, s, e in chunks:
        u.dwp[k][...] = 0
        kb.bn_conv_backward(s, e, g, a, b, mode, u.z, bn.mean, bn.inv_std, coef, tg, tgx, u.dtype.type(u.N * u.hw),
                            bn.scale, bn.beta, x, tf, *u.geo(), u.zimg[w], u.dwp[k], u.xpad[w],
                            u.wq if u.wq is not None else u.wp, dxa, u.gpad[w], u.dx_variant, dx_mode,
                            pmode, pu.z, pbn.mean, pbn.inv_std, pbn.scale, pbn.beta, pu.sum_g, pu.sum_gx,
                            u.wg_variant)


class StemStep:
    """Conv2d + BatchNorm2d + ReLU (a ResNet's stem; no input gradient when it is the first layer)."""

    def __init__(self, conv, bn, in_shape, first):
        self.unit = BNConv(conv, bn, in_shape[:2], first)
        self.first = first
        self.H, self.W, self.C = in_shape
        #: False when a block reads z through this batch norm + ReLU (``BlockStep.read_through``)
        self.stores_out = True

    def out_shape(self):
        return (self.unit.Ho, self.unit.Wo, self.unit.O)

    def units(self):
        return [self.unit]

    def prepare(self, N, dtype, n_workers, n_slots):
        u = self.unit
        u.prepare(N, dtype, n_workers, n_slots)
        self.a = kd.alloc((N, u.Ho, u.Wo, u.O), dtype) if self.stores_out else None
        self.z4 = u.z.reshape(N, u.Ho, u.Wo, u.O)
        self.ones = np.ones(1, dtype)
        self.dx = None if self.first else kd.alloc((N, u.H, u.W, u.C), dtype)

    def load(self, need_dx=False):
        self.unit.load(need_dx)

    def ensure_dx(self, N):
        if self.dx is None:
            self.dx = kd.alloc((N, self.H, self.W, self.C), self.unit.dtype)
        self.unit.load(True)

    def forward(self, w, x, n0, n1, ctx):
        u = self.unit
        u.forward(w, x, n0, n1, ctx.training)
        if ctx.training:
            ctx.sync()
        bn = BNValues(u, ctx.training)
        if w == 0:
            self.bn = bn
        if self.a is None:                 # the block after applies the batch norm + ReLU as it reads z
            return self.z4
        r = slice(n0 * u.hw, n1 * u.hw)
        kn.bn_apply(u.z[r], bn.mean, bn.scale, bn.beta, True, self.a.reshape(-1, u.O)[r])
        return self.a

    def backward(self, w, g, n0, n1, ctx):
        u, bn = self.unit, self.bn
        r = slice(n0 * u.hw, n1 * u.hw)
        g2 = g.reshape(-1, u.O)
        if self.a is None:                 # the ReLU's mask recomputed from z (a is not stored)
            a2, mode = g2, MASK_BN_RELU
        else:
            a2, mode = self.a.reshape(-1, u.O), MASK_RELU
        kn.bwd_sums(g2[r], a2[r], self.ones, mode, u.z[r], bn.mean, bn.inv_std, u.hw, u.sum_g, u.sum_gx,
                    n0, bn.scale, bn.beta)
        ctx.sync()
        tot = bn.totals(u.N * u.hw)
        if w == 0:
            self.bn_grads = tot[3:]
        dx = self.dx if ctx.need_dx(self) else None
        conv_bn_backward(u, w, ctx.chunks[w], bn, tot, g2, a2, self.ones, mode, ctx.input_of[self], u.no_tf,
                         dx, 0 if dx is None else 1)
        return dx

    def seen(self):
        """(unit, values) of every batch norm that saw the last training batch."""
        return [(self.unit, self.bn)]

    def grads(self):
        dg, db = self.bn_grads
        return self.unit.grads() + [(self.unit.bn["weight"], dg.copy()), (self.unit.bn["bias"], db.copy())]


class BlockStep:
    """Residual + ReLU as the fused passes of the module docstring."""

    def __init__(self, res: dict, in_shape, index: int = 0):
        c1, bn1, _, c2, bn2 = res["block"]
        self.res, self.index = res, index
        self.H, self.W, self.C = in_shape
        self.u1 = BNConv(c1, bn1, in_shape[:2])
        self.u2 = BNConv(c2, bn2, (self.u1.Ho, self.u1.Wo))
        self.us = None if res["shortcut"] is None else BNConv(res["shortcut"][0], res["shortcut"][1], in_shape[:2])
        self.in_unit = None

    def read_through(self, stem: StemStep):
        """Read the stem's raw z through its batch norm + ReLU (applied as each image is read: as
        conv2 reads z1), so that the stem's output is never stored (``plan.Plan``)."""
        self.in_unit = stem.unit
        stem.stores_out = False

    def _input_transform(self, training):
        """(transform the convolutions apply to x, its BNValues or None)."""
        if self.in_unit is None:
            return self.u1.no_tf, None
        bnx = BNValues(self.in_unit, training)
        return kd.bn_relu_transform(bnx.mean, bnx.scale, bnx.beta), bnx

    def out_shape(self):
        return (self.u2.Ho, self.u2.Wo, self.u2.O)

    def units(self):
        return [self.u1, self.u2] + ([self.us] if self.us is not None else [])

    def prepare(self, N, dtype, n_workers, n_slots, shared=None):
        # what the block holds from its forward to its backward (z1, z2, zs, out) in one arena: dead
        # once the block's backward is done, it may hold the gradient of an earlier block's input
        # (``plan.Plan._prepare``); out last, before the arena's slack (the next convolution may
        # read it in place)
        sizes = [N * u.hw * u.O for u in self.units()]
        self.arena = kd.alloc((sum(sizes) + N * self.u2.hw * self.u2.O,), dtype)
        at = 0
        for u, size in zip(self.units(), sizes):
            u.prepare(N, dtype, n_workers, n_slots, z=self.arena[at:at + size].reshape(-1, u.O))
            at += size
        u1, u2 = self.u1, self.u2
        self.out = self.arena[at:].reshape(N, u2.Ho, u2.Wo, u2.O)
        # gradients live only during backward. Every step's input gradient of a shape is the one
        # buffer ("grad", shape): the block after this one wrote g there, and g is dead once the
        # tail has read it, so gr = g (out > 0) is written over it (the shortcut's gradient) and,
        # for an identity shortcut, dL/dx is gr plus conv1's input gradient, added in place.
        get = shared if shared is not None else (lambda shape, slot: kd.alloc(shape, dtype))
        self.gr = get((N, u2.Ho, u2.Wo, u2.O), "grad").reshape(-1, u2.O)
        if self.us is None:
            self.dx = self.gr.reshape(N, self.H, self.W, self.C)
        else:                       # conv_s writes dx while conv2 still reads gr: never the same buffer
            same = (self.H, self.W, self.C) == (u2.Ho, u2.Wo, u2.O)
            self.dx = get((N, self.H, self.W, self.C), "grad-2" if same else "grad")
        # da1 (conv2's input gradient) is written over z2, image by image, once BN2's backward has
        # read that image's z2 (``norm_conv.bn_conv_backward``); z2 is dead after it
        if u2.z.size == N * u1.hw * u1.O:
            self.da1 = u2.z.reshape(N, u1.Ho, u1.Wo, u1.O)
        else:
            self.da1 = get((N, u1.Ho, u1.Wo, u1.O), "da1")
        self.ones = np.ones(N, dtype)
        self.z1_4d = u1.z.reshape(N, u1.Ho, u1.Wo, u1.O)

    def load(self, need_dx=False):
        for u in self.units():
            u.load(True)

    def draw(self, N, training, dtype):
        """(b (N,), dropped) for this batch, drawn from the layer's generator as its forward draws."""
        p = self.res["survival_prob"]
        b, dropped = self.ones, False
        if training and p < 1.0:
            m = self.res["draw"](N, dtype)
            if self.res["mode"] == "batch":
                dropped = not bool(m)
                b = np.full(N, m, dtype)
            else:
                b = m
        self.mask = (b, dropped, training)

    def forward(self, w, x, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped, tr = self.mask
        tfx, bnx = self._input_transform(tr)
        if w == 0:
            self.tfx = tfx
        if us is not None:
            us.forward(w, x, n0, n1, tr, tfx)
        if not dropped:
            u1.forward(w, x, n0, n1, tr, tfx)
        if tr:
            ctx.sync()
        out = self.out.reshape(-1, u2.O)
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        bns = BNValues(us, tr) if us is not None else None
        if dropped:                                    # batch mode, block dropped: out = relu(shortcut)
            if us is None and bnx is not None:
                kn.bn_apply(x.reshape(-1, self.C)[r2], bnx.mean, bnx.scale, bnx.beta, True, out[r2])
            elif us is None:
                np.maximum(x.reshape(-1, self.C)[r2], 0, out=out[r2])
            else:
                kn.bn_apply(us.z[r2], bns.mean, bns.scale, bns.beta, True, out[r2])
            if w == 0:
                self.bns = bns
            return self.out
        bn1 = BNValues(u1, tr)
        tf = kd.bn_relu_transform(bn1.mean, bn1.scale, bn1.beta)
        u2.forward(w, self.z1_4d, n0, n1, tr, tf)
        if tr:
            ctx.sync()
        bn2 = BNValues(u2, tr)
        if us is not None:
            s, s_mode, sm, ss, sb = us.z[r2], 1, bns.mean, bns.scale, bns.beta
        elif bnx is not None:
            s, s_mode, sm, ss, sb = x.reshape(-1, self.C)[r2], 2, bnx.mean, bnx.scale, bnx.beta
        else:
            s, s_mode, sm, ss, sb = x.reshape(-1, self.C)[r2], 0, bn2.mean, bn2.scale, bn2.beta
        kn.residual_tail(u2.z[r2], bn2.mean, bn2.scale, bn2.beta, s, s_mode, sm, ss, sb, b[n0:n1], u2.hw, out[r2])
        if w == 0:
            self.bn1, self.bn2, self.bns = bn1, bn2, bns
        return self.out

    def backward(self, w, g, n0, n1, ctx):
        u1, u2, us = self.u1, self.u2, self.us
        b, dropped, _ = self.mask
        x, tfx = ctx.input_of[self], self.tfx
        r2 = slice(n0 * u2.hw, n1 * u2.hw)
        g2, out2 = g.reshape(-1, u2.O), self.out.reshape(-1, u2.O)
        bns = self.bns
        if dropped:
            kn.relu_backward(g2[r2], out2[r2], self.gr[r2])
            if us is not None:
                kn.bwd_sums(self.gr[r2], self.gr[r2], b, MASK_NONE, us.z[r2], bns.mean, bns.inv_std, us.hw,
                            us.sum_g, us.sum_gx, n0, bns.scale, bns.beta)
        else:
            bn2 = self.bn2
            zu, zv = (us, bns) if us is not None else (u2, bn2)      # dummies where there is no shortcut norm
            kb.tail_backward_sums(g2[r2], out2[r2], b[n0:n1], u2.hw, self.gr[r2], u2.z[r2], bn2.mean,
                                  bn2.inv_std, u2.sum_g, u2.sum_gx, us is not None, zu.z[r2],
                                  zv.mean, zv.inv_std, zu.sum_g, zu.sum_gx, n0)
        ctx.sync()
        m = u2.N * u2.hw
        grads = {}
        if us is not None:
            tot_s = bns.totals(m)
            grads[us] = tot_s[3:]
            conv_bn_backward(us, w, ctx.chunks[w], bns, tot_s, self.gr, self.gr, b, MASK_NONE, x, tfx, self.dx, 1)
        if not dropped:
            tot2 = self.bn2.totals(m)
            grads[u2] = tot2[3:]
            tf1 = kd.bn_relu_transform(self.bn1.mean, self.bn1.scale, self.bn1.beta)
            conv_bn_backward(u2, w, ctx.chunks[w], self.bn2, tot2, self.gr, self.gr, b, MASK_SAMPLE, self.z1_4d, tf1,
                             self.da1, 1, prev=(u1, self.bn1, MASK_BN_RELU))
            ctx.sync()
            tot1 = self.bn1.totals(u1.N * u1.hw)
            grads[u1] = tot1[3:]
            da1 = self.da1.reshape(-1, u1.O)
            conv_bn_backward(u1, w, ctx.chunks[w], self.bn1, tot1, da1, da1, b, MASK_BN_RELU, x, tfx, self.dx, 2)
        if w == 0:
            self.bn_grads = grads
        return self.dx

    def seen(self):
        """(unit, values) of every batch norm that saw the last training batch."""
        if self.mask[1]:
            return [(self.us, self.bns)] if self.us is not None else []
        return [(self.u1, self.bn1), (self.u2, self.bn2)] + ([(self.us, self.bns)] if self.us is not None else [])

    def grads(self):
        out = []
        for u in self.units():
            if u in self.bn_grads:
                dg, db = self.bn_grads[u]
                out += u.grads() + [(u.bn["weight"], dg.copy()), (u.bn["bias"], db.copy())]
        return out


class GapStep:
    """GlobalAvgPool2d: (N, H, W, C) -> (N, C)."""

    def __init__(self, in_shape):
        self.H, self.W, self.C = in_shape

    def out_shape(self):
        return (self.C,)

    def units(self):
        return []

    def prepare(self, N, dtype, n_workers, n_slots, shared=None):
        self.y = np.empty((N, self.C), dtype)
        shape = (N, self.H, self.W, self.C)        # the blocks' shared input-gradient buffer of the shape
        self.dx = shared(shape, "grad") if shared is not None else kd.alloc(shape, dtype)

    def load(self, need_dx=False):
        pass

    def forward(self, w, x, n0, n1, ctx):
        hw = self.H * self.W
        kp.gap_fwd(x.reshape(-1, self.C)[n0 * hw:n1 * hw], hw, self.y, n0)
        return self.y

    def backward(self, w, g, n0, n1, ctx):
        hw = self.H * self.W
        kp.gap_bwd(g, hw, n0, self.dx.reshape(-1, self.C)[n0 * hw:n1 * hw])
        return self.dx

    def grads(self):
        return []
