"""A convolution followed by a batch norm, as the residual network's steps use it (``block.py``).

A ``BNConv`` is Conv2d (without a bias: ``chain`` fuses only those) + BatchNorm2d, from their ``_fused_spec()``: it keeps the
Parameters (what an optimizer updates), the batch norm's running statistics (read in evaluation,
updated through the layer's own ``track`` in training), and full-batch channels-last arrays that
worker w fills for its images [n0, n1): the raw convolution output z, each image's statistics
(merged in batch order: the bits do not depend on the split), and per-image backward sums.
"""
from __future__ import annotations

import numpy as np

from . import direct as kd
from . import norm as kn


class BNValues:
    """One batch norm's per-batch values (training: the batch's; evaluation: the running ones)."""

    def __init__(self, unit: "BNConv", training: bool):
        self.mean, self.inv_std, self.scale, self.var = unit.bn_values(training)
        self.beta = unit.bn["bias"].value
        self.unit = unit

    def totals(self, m):
        """(coef, tot_g, tot_gx, dgamma, dbeta) from the unit's per-image backward sums (after sync)."""
        u = self.unit
        dt = u.dtype
        tot_g, tot_gx = u.sum_g.sum(axis=0), u.sum_gx.sum(axis=0)
        coef = (u.bn["weight"].value.astype(np.float64) * self.inv_std / m).astype(dt)
        return coef, tot_g.astype(dt), tot_gx.astype(dt), tot_gx.astype(dt), tot_g.astype(dt)


class BNConv:
    """Conv2d + BatchNorm2d on (N, H, W, C) images (direct convolution, statistics in its epilogue)."""

    def __init__(self, conv: dict, bn: dict, in_hw, first: bool = False):
        self.conv, self.bn, self.first = conv, bn, bool(first)
        self.weight = conv["weight"]
        O, C, kh, kw = self.weight.value.shape
        self.O, self.C, self.k, self.s, self.p = O, C, (kh, kw), tuple(conv["stride"]), tuple(conv["padding"])
        self.H, self.W = in_hw
        self.Ho = (self.H + 2 * self.p[0] - kh) // self.s[0] + 1
        self.Wo = (self.W + 2 * self.p[1] - kw) // self.s[1] + 1
        self.hw = self.Ho * self.Wo

    def geo(self):
        return (self.k[0], self.k[1], self.s[0], self.s[1], self.p[0], self.p[1], self.Ho, self.Wo)

    def prepare(self, N, dtype, n_workers, n_slots, z=None):
        """Buffers for N images; ``z`` (N Ho Wo, O), when given, is where the output goes (a view of
        the block's arena, ``block.BlockStep.prepare``)."""
        O, (kh, kw), (ph, pw) = self.O, self.k, self.p
        self.N, self.dtype = N, np.dtype(dtype)
        L = self.lane = kd.lanes(dtype)
        self.z = kd.alloc((N * self.hw, O), dtype) if z is None else z
        self.means = np.empty((N, O), np.float64)
        self.m2s = np.empty((N, O), np.float64)
        self.sum_g = np.empty((N, O), np.float64)
        self.sum_gx = np.empty((N, O), np.float64)
        self.dwp = [kd.alloc((kh, kw, self.C, kd.padded_to(O, L)), dtype) for _ in range(n_slots)]
        self.xpad = [kd.alloc(((self.H + 2 * ph) * (self.W + 2 * pw) * self.C,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.gpad = [kd.alloc(((self.Ho + 2 * kh + 2) * (self.Wo + 2 * kw + 2) * O,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.zimg = [kd.alloc((self.hw, O), dtype) for _ in range(n_workers)]
        self.fwd_variant = kd.conv_variant(kd.padded_to(O, L), L, self.Wo)
        self.dx_variant = kd.conv_variant(kd.padded_to(self.C, L), L, self.W)
        self.wg_variant = kd.wgrad_variant(kd.padded_to(O, L), L, kw * self.C)
        self.no_tf = kd.no_transform(dtype)

    def load(self, need_dx: bool = True):
        """The weights packed for the kernels, from the Parameters' current values (main thread)."""
        W = self.weight.value
        self.wp = kd.pack_forward(W, self.lane)
        self.wq = kd.pack_input_grad(W, self.lane) if (need_dx or not self.first) else None

    def forward(self, w, x, n0, n1, training: bool, tf=None):
        tf = self.no_tf if tf is None else tf
        if training:
            kd.conv_forward_stats(x, n0, n1, *self.geo(), self.wp, self.z, self.xpad[w], self.fwd_variant, tf,
                                  self.means, self.m2s)
        else:
            kd.conv_forward(x, n0, n1, *self.geo(), self.wp, self.z, self.xpad[w], self.fwd_variant, tf)

    def bn_values(self, training):
        """(mean, inv_std, scale, var) of the batch (after ``sync``) or of the running statistics."""
        dt = self.dtype
        gamma = self.bn["weight"].value
        if training:
            return kn.batch_norm_values(self.means, self.m2s, self.hw, float(self.bn["eps"]), gamma.astype(dt))
        running_mean, running_var = self.bn["running"]()
        mean, var = running_mean.astype(dt), running_var.astype(dt)
        inv_std = (1.0 / np.sqrt(var.astype(np.float64) + self.bn["eps"])).astype(dt)
        return mean, inv_std, (gamma * inv_std).astype(dt), var

    def track(self, values: BNValues):
        """The running statistics updated as the layer updates them (its own ``track``)."""
        m = self.N * self.hw
        self.bn["track"](values.mean, values.var, m)

    def grads(self):
        """[(Parameter, gradient)] of the convolution: the chunks' partial sums added in order."""
        O = self.O
        dwp = self.dwp[0][..., :O].copy()
        for k in range(1, len(self.dwp)):
            dwp += self.dwp[k][..., :O]
        return [(self.weight, kd.unpack_weight_grad(dwp, self.weight.value.shape))]
