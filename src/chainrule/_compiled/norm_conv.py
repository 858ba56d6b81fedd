"""Fused per-image passes of a residual block's backward (and a convolution + batch norm's), compiled.

The math is the reference's (``layers.batchnorm``, ``layers.conv``, ``layers.residual``,
``activations.relu``); what is fused is *when* it is computed: each image's rows are read once
while they are in cache.

``tail_backward_sums``: the block's output ReLU, out = max(0, s + b f): gr = g where out > 0
(written: it is the shortcut's gradient), and per image the batch sums the block's last batch norm
needs (gy = gr b) and, with a projection shortcut, the shortcut's batch norm's (gy = gr).

``bn_conv_backward``: per image, the batch norm's input gradient dz (``k_norm.bwd_apply``, into a
one-image buffer), then the convolution's weight gradient and input gradient from it
(``direct``), then, when the layer before is a batch norm + ReLU, that batch norm's per-image
sums over the input gradient just written (its ReLU mask recomputed from its input). dz never
leaves the cache; neither does the input gradient before its sums are taken.
"""
from __future__ import annotations

import numba
import numpy as np

from . import direct as kd
from . import norm as k_norm

NB = dict(cache=True, nogil=True, boundscheck=False)
FM = k_norm.FM


@numba.njit(fastmath=FM, inline="always", **NB)
def _tail_sums(g, out, b, hw, gr, z2, mean2, inv2, sum_g2, sum_gx2, has_s, zs, means, invs, sum_gs, sum_gxs, k0):
    R, C = g.shape
    zero = g.dtype.type(0)
    s1 = np.empty(C, np.float64)
    s2 = np.empty(C, np.float64)
    t1 = np.empty(C, np.float64)
    t2 = np.empty(C, np.float64)
    row = np.empty(C, g.dtype)
    for k in range(R // hw):
        s1[:] = 0.0
        s2[:] = 0.0
        t1[:] = 0.0
        t2[:] = 0.0
        bk = b[k]
        for r in range(k * hw, (k + 1) * hw):
            # the masked row into a local buffer, then stored: gr may be g itself (written over it),
            # and a loop that reads g and stores gr runs unvectorised when they overlap (measured
            # 6 x slower); stores and sums in one loop do not vectorise either
            for c in range(C):
                row[c] = g[r, c] if out[r, c] > zero else zero
            for c in range(C):
                gr[r, c] = row[c]
            for c in range(C):
                v = row[c]
                s1[c] += v * bk
                s2[c] += (v * bk) * ((z2[r, c] - mean2[c]) * inv2[c])
            if has_s:
                for c in range(C):
                    v = row[c]
                    t1[c] += v
                    t2[c] += v * ((zs[r, c] - means[c]) * invs[c])
        for c in range(C):
            sum_g2[k0 + k, c] = s1[c]
            sum_gx2[k0 + k, c] = s2[c]
            if has_s:
                sum_gs[k0 + k, c] = t1[c]
                sum_gxs[k0 + k, c] = t2[c]


@numba.njit(fastmath=FM, **NB)
def tail_backward_sums(g, out, b, hw, gr, z2, mean2, inv2, sum_g2, sum_gx2,
                       has_s, zs, means, invs, sum_gs, sum_gxs, k0):
    """For the images whose rows are in g (rows of images k0, k0 + 1, ...): gr = g (out > 0);
    sum_g2[k] = sum gr b[k], sum_gx2[k] = sum gr b[k] xhat2; with ``has_s`` the same with gy = gr
    over the shortcut's batch norm (zs, means, invs)."""
    if has_s:
        _tail_sums(g, out, b, hw, gr, z2, mean2, inv2, sum_g2, sum_gx2, True, zs, means, invs, sum_gs, sum_gxs, k0)
    else:
        _tail_sums(g, out, b, hw, gr, z2, mean2, inv2, sum_g2, sum_gx2, False, zs, means, invs, sum_gs, sum_gxs,
                   k0)


@numba.njit(**NB)
def bn_conv_backward(n0, n1, g, a, b, mode, z, mean, inv_std, coef, tot_g, tot_gx, m, ms, mb,
                     x, tf, kh, kw, sh, sw, ph, pw, Ho, Wo, dzimg, dwp, xpad, wq, dx, gpad, variant, dx_mode,
                     prev_mode, pz, pmean, pinv, pms, pmb, psum_g, psum_gx, wv):
    """Images [n0, n1), one at a time: dz = the batch norm's backward of g (rows of its output,
    masked by ``mode`` as ``k_norm.bwd_sums``) into ``dzimg``; dwp += the convolution's weight
    gradient from x (with the input transform tf) and dz; with dx_mode 1 (write) or 2 (add) the
    input gradient into dx (N, H, W, C); with prev_mode >= 0 the per-image sums of the batch norm
    before (over dx's image, its ReLU mask by prev_mode, its input pz) into psum_g, psum_gx."""
    hw = Ho * Wo
    _, H, W, C = dx.shape
    hwi = H * W
    dx2 = dx.reshape(-1, C)
    for n in range(n0, n1):
        r0, r1 = n * hw, (n + 1) * hw
        k_norm.bwd_apply(g[r0:r1], a[r0:r1], b[n:n + 1], mode, z[r0:r1], mean, inv_std, coef, tot_g, tot_gx, m,
                         hw, dzimg, ms, mb)
        kd.weight_grad_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, dzimg, 0, dwp, xpad, tf, wv)
        if dx_mode > 0:
            kd.input_grad_image(dzimg, 0, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wq, dx, gpad, variant, dx_mode - 1)
            if prev_mode >= 0:
                i0, i1 = n * hwi, (n + 1) * hwi
                k_norm.bwd_sums(dx2[i0:i1], dx2[i0:i1], b[n:n + 1], prev_mode, pz[i0:i1], pmean, pinv, hwi,
                                psum_g, psum_gx, n, pms, pmb)
