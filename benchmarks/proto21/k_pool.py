"""Compiled pooling on channels-last rows: 2 x 2 max pooling fused with the ReLU before it, global average.

The math is ``chainrule.layers.pooling`` and ``activations.relu_*`` (the reference):
maxpool(relu(z)) = relu(maxpool(z)) because max commutes with the ReLU, so the pooling runs on
the convolution's output while it is in cache and only the pooled (4 x smaller) output is
written. The winning offset is the first strict maximum in row-major order and NaN wins (as the
reference's np.greater / np.maximum); backward sends g to it where the pooled output is > 0 (the
ReLU's mask: where the window's maximum is <= 0 the reference's gradient is 0 too).
"""
from __future__ import annotations

import numba

NB = dict(cache=True, nogil=True, boundscheck=False)


@numba.njit(**NB)
def pool2_relu_fwd(z, n, H, W, b, y, arg, k0):
    """y[k0 + k, i, j, c] = max(0, max of z + b over the 2 x 2 window (2i.., 2j..) of image k) and
    arg = its offset (0..3), for the n images whose rows (k H W + h W + w, c) are in ``z``; the
    bias b (C,) is added to each value before the comparisons (the reference's order)."""
    Ho, Wo, C = y.shape[1], y.shape[2], y.shape[3]
    zero = y.dtype.type(0)
    for k in range(n):
        base = k * H * W
        for i in range(Ho):
            for j in range(Wo):
                r0 = base + (2 * i) * W + 2 * j
                r2 = r0 + W
                for c in range(C):
                    bc = b[c]
                    best = z[r0, c] + bc
                    a = 0
                    val = z[r0 + 1, c] + bc
                    take = val > best
                    best = val if take | (val != val) else best
                    a = 1 if take else a
                    val = z[r2, c] + bc
                    take = val > best
                    best = val if take | (val != val) else best
                    a = 2 if take else a
                    val = z[r2 + 1, c] + bc
                    take = val > best
                    best = val if take | (val != val) else best
                    a = 3 if take else a
                    y[k0 + k, i, j, c] = best if best > zero or best != best else zero
                    arg[k0 + k, i, j, c] = a


@numba.njit(**NB)
def pool2_relu_bwd(g, y, arg, k0, n, H, W, dz):
    """dz (n H W, C) rows of images k0..k0 + n: g[k, i, j, c] at the window's winning offset where
    y > 0, 0 everywhere else (also the last row or column a floor-mode pooling leaves out). Each
    window's four entries are written once (no zeroing pass first)."""
    Ho, Wo, C = y.shape[1], y.shape[2], y.shape[3]
    zero = dz.dtype.type(0)
    for k in range(n):
        base = k * H * W
        for h in range(2 * Ho, H):                       # rows no window covers
            for w in range(W):
                for c in range(C):
                    dz[base + h * W + w, c] = zero
        for i in range(Ho):
            r0 = base + (2 * i) * W
            for w in range(2 * Wo, W):                   # columns no window covers
                for c in range(C):
                    dz[r0 + w, c] = zero
                    dz[r0 + W + w, c] = zero
            for j in range(Wo):
                r = r0 + 2 * j
                for c in range(C):
                    gv = g[k0 + k, i, j, c] if y[k0 + k, i, j, c] > 0 else zero
                    a = arg[k0 + k, i, j, c]
                    dz[r, c] = gv if a == 0 else zero
                    dz[r + 1, c] = gv if a == 1 else zero
                    dz[r + W, c] = gv if a == 2 else zero
                    dz[r + W + 1, c] = gv if a == 3 else zero


@numba.njit(fastmath={"reassoc", "contract"}, **NB)
def gap_fwd(a, hw, out, k0):
    """out[k0 + k, c] = 1/hw sum of channel c over the hw rows of image k of ``a`` (rows, C)."""
    n, C = a.shape[0] // hw, a.shape[1]
    for k in range(n):
        for c in range(C):
            out[k0 + k, c] = 0
        for r in range(k * hw, (k + 1) * hw):
            for c in range(C):
                out[k0 + k, c] += a[r, c]
        for c in range(C):
            out[k0 + k, c] *= out.dtype.type(1.0 / hw)


@numba.njit(**NB)
def gap_bwd(g, hw, k0, da):
    """da[k hw + p, c] = g[k0 + k, c] / hw for every pixel p of image k."""
    n, C = da.shape[0] // hw, da.shape[1]
    for k in range(n):
        for r in range(k * hw, (k + 1) * hw):
            for c in range(C):
                da[r, c] = g[k0 + k, c] * da.dtype.type(1.0 / hw)
