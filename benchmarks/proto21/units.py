"""The fused units of a compiled network: a convolution with what follows it, run by one worker on its images.

A ``ConvUnit`` is Conv2d [+ BatchNorm2d] [+ ReLU] [+ MaxPool2d(2)] from a chainrule network. It
keeps the chainrule modules (their Parameters are the ones an optimizer updates, their buffers
the running statistics) and full-batch channels-last arrays; worker w fills and reads the rows of
its own images [n0, n1). Every method below is called by each worker on its slice, between the
team's barriers (``Workers.sync``) where batch statistics need every worker's images.

Two ways to run the convolution, chosen when the unit is built (``method``):

- ``"direct"`` (the default): ``k_direct``'s register-tiled micro-kernels, one image at a time,
  the epilogue (batch-norm statistics, or bias + ReLU + 2 x 2 max pooling) on the image's output
  while it is in cache; backward: dW, db and dx per image, no patch matrix;
- ``"im2col"``: patches of a chunk of images (``k_conv.im2col``), one BLAS product per chunk (one
  BLAS thread per worker), the epilogue on the chunk; backward: patches again, dW_col += X_col^T G,
  dX_col = G W_col^T, col2im.

The weight gradient of a worker is summed over its images in order; the workers' sums are added
in worker order (``grads``), so the bits do not depend on the workers' timing.
"""
from __future__ import annotations

import numpy as np

from . import k_conv, k_direct as kd, k_norm, k_pool

#: bytes of patches per chunk: a chunk's patches, its product and its output stay in a core's L2
CHUNK_BYTES = 1 << 20
#: the three products of a convolution (names the profiler can wrap)
gemm_fwd = gemm_dw = gemm_dx = np.matmul


class Scratch:
    """Per-worker reusable buffers, by name (grown when a larger one is asked for)."""

    def __init__(self):
        self._bufs = {}

    def get(self, name, rows, cols, dtype):
        b = self._bufs.get(name)
        if b is None or b.shape[0] < rows or b.shape[1] != cols or b.dtype != dtype:
            b = self._bufs[name] = np.empty((max(rows, 0 if b is None else b.shape[0]), cols), dtype=dtype)
        return b[:rows]

    def nbytes(self):
        return sum(b.nbytes for b in self._bufs.values())


class ConvUnit:
    """Conv2d [+ BatchNorm2d] [+ ReLU] [+ MaxPool2d(2)] on channels-last images of (H, W, C)."""

    def __init__(self, conv, in_hw, bn=None, relu=False, pool=False, first=False, method="direct"):
        if method not in ("direct", "im2col"):
            raise ValueError(f"ConvUnit method must be 'direct' or 'im2col'; got {method!r}")
        self.method = method
        self.conv, self.bn, self.relu, self.pool, self.first = conv, bn, bool(relu), bool(pool), bool(first)
        O, C, kh, kw = conv.weight.value.shape
        self.O, self.C, self.k, self.s, self.p = O, C, (kh, kw), tuple(conv.stride), tuple(conv.padding)
        self.H, self.W = in_hw
        self.Ho = (self.H + 2 * self.p[0] - kh) // self.s[0] + 1
        self.Wo = (self.W + 2 * self.p[1] - kw) // self.s[1] + 1
        self.hw = self.Ho * self.Wo
        self.has_bias = conv.bias is not None
        self.K = kh * kw * C
        if pool and bn is not None:
            raise NotImplementedError("ConvUnit: batch norm before a pooling is not fused in this prototype")
        self.N = None
        self.dwp = []

    # -- shapes ---------------------------------------------------------------------------------
    def out_hw(self):
        return (self.Ho // 2, self.Wo // 2) if self.pool else (self.Ho, self.Wo)

    def chunks(self, n0, n1):
        per = max(1, CHUNK_BYTES // max(1, self.hw * (self.K + 1) * self.dtype.itemsize))
        return [(s, min(n1, s + per)) for s in range(n0, n1, per)]

    def prepare(self, N, dtype, n_workers, n_slots=None):
        """Full-batch arrays for a batch of N (reused while N and dtype stay the same); ``n_slots``
        weight-gradient partial sums (one per fixed chunk of images; default one per worker)."""
        n_slots = n_workers if n_slots is None else n_slots
        if self.N == N and self.dtype == dtype and len(self.dwp) == n_slots:
            return
        self.N, self.dtype = N, np.dtype(dtype)
        O = self.O
        alloc = kd.alloc                                       # every buffer with the kernels' slack
        if self.pool:
            ho, wo = self.out_hw()
            self.y = alloc((N, ho, wo, O), dtype)               # the pooled, ReLU'd output
            self.arg = np.empty((N, ho, wo, O), np.uint8)
        if self.bn is not None:
            self.z = alloc((N * self.hw, O), dtype)             # before batch norm
            self.means = np.empty((N, O), np.float64)
            self.m2s = np.empty((N, O), np.float64)
            self.sum_g = np.empty((N, O), np.float64)
            self.sum_gx = np.empty((N, O), np.float64)
            # the direct path forms dz one image at a time (``k_block``); only im2col stores it
            self.dz = alloc((N * self.hw, O), dtype) if self.method == "im2col" else None
        if not self.pool and self.bn is None:
            self.y = alloc((N, self.Ho, self.Wo, O), dtype)     # conv (+ bias) (+ ReLU)
        self.dWc = ([np.empty((self.K + self.has_bias, O), dtype) for _ in range(n_workers)]
                    if self.method == "im2col" else [])
        L = self.lane = kd.lanes(dtype)
        (kh, kw), (ph, pw) = self.k, self.p
        self.dwp = [alloc((kh, kw, self.C, kd.padded_to(O, L)), dtype) for _ in range(n_slots)]
        self.db = [np.zeros(O, dtype) for _ in range(n_slots)]
        self.xpad = [alloc(((self.H + 2 * ph) * (self.W + 2 * pw) * self.C,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.gpad = [alloc(((self.Ho + 2 * kh + 2) * (self.Wo + 2 * kw + 2) * O,), dtype, zero=True)
                     for _ in range(n_workers)]
        self.zimg = [alloc((self.hw, O), dtype) for _ in range(n_workers)]
        self.fwd_variant = kd.conv_variant(kd.padded_to(O, L), L, self.Wo)
        self.dx_variant = kd.conv_variant(kd.padded_to(self.C, L), L, self.W)
        self.wg_variant = kd.wgrad_variant(kd.padded_to(O, L), L, self.k[1] * self.C)
        self.zero_bias = np.zeros(O, dtype)
        self.no_tf = kd.no_transform(dtype)

    def load_weights(self):
        """W_col and W_col^T from the module's current weight (main thread, once per step)."""
        W = self.conv.weight.value
        b = None if self.bias_param() is None else self.bias_param().value
        if self.method == "im2col":
            self.Wc = k_conv.weight_matrix(W, b)
            self.WcT = np.ascontiguousarray(self.Wc[:self.K].T)
        else:
            self.wp = kd.pack_forward(W, self.lane)
            self.wq = None if self.first else kd.pack_input_grad(W, self.lane)
            self.bias = self.zero_bias if b is None else b

    def bias_param(self):
        return self.conv.bias

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, w, x, n0, n1, scratch, training=True):
        """Worker w: convolve images [n0, n1) of x (N, H, W, C); then the fused epilogue (in
        evaluation mode a batch norm needs no statistics)."""
        (kh, kw), (sh, sw), (ph, pw) = self.k, self.s, self.p
        hw, O = self.hw, self.O
        if self.method == "direct":
            geo = (kh, kw, sh, sw, ph, pw, self.Ho, self.Wo, self.wp)
            if self.pool:
                kd.conv_forward_pool(x, n0, n1, *geo, self.zimg[w], self.xpad[w], self.fwd_variant, self.no_tf,
                                     self.bias, self.y, self.arg)
            elif self.bn is not None and training:
                kd.conv_forward_stats(x, n0, n1, *geo, self.z, self.xpad[w], self.fwd_variant, self.no_tf,
                                      self.means, self.m2s)
            elif self.bn is not None:
                kd.conv_forward(x, n0, n1, *geo, self.z, self.xpad[w], self.fwd_variant, self.no_tf)
            else:
                kd.conv_forward_bias_relu(x, n0, n1, *geo, self.y.reshape(-1, O), self.xpad[w], self.fwd_variant,
                                          self.no_tf, self.bias, self.relu)
            return
        for s, e in self.chunks(n0, n1):
            rows = (e - s) * hw
            cols = scratch.get("cols", rows, self.K + self.has_bias, self.dtype)
            k_conv.im2col(x, s, e, kh, kw, sh, sw, ph, pw, self.Ho, self.Wo, cols, self.has_bias)
            if self.pool:
                zc = scratch.get("z", rows, O, self.dtype)
                gemm_fwd(cols, self.Wc, out=zc)
                k_pool.pool2_relu_fwd(zc, e - s, self.Ho, self.Wo, self.zero_bias, self.y, self.arg, s)
            elif self.bn is not None:
                zc = self.z[s * hw:e * hw]
                gemm_fwd(cols, self.Wc, out=zc)
                k_norm.image_stats(zc, hw, self.means, self.m2s, s)
            else:
                zc = self.y.reshape(-1, O)[s * hw:e * hw]
                gemm_fwd(cols, self.Wc, out=zc)
                if self.relu:
                    np.maximum(zc, 0, out=zc)

    def bn_stats(self, training):
        """(mean, inv_std, scale, var) of the batch (after ``sync``) or of the running statistics."""
        bn = self.bn
        dt = self.dtype
        if training:
            return k_norm.batch_norm_values(self.means, self.m2s, self.hw, bn.eps, bn.weight.value.astype(dt))
        else:
            mean = bn.running_mean.astype(dt)
            var = bn.running_var.astype(dt)
            inv_std = (1.0 / np.sqrt(var.astype(np.float64) + bn.eps)).astype(dt)
        scale = (bn.weight.value * inv_std).astype(dt)
        return mean, inv_std, scale, var

    def output_rows(self):
        """(N hw, O) rows of the unit's output when it is not normalised (no batch norm)."""
        return self.y if not self.pool else self.y.reshape(-1, self.O)

    # -- backward ---------------------------------------------------------------------------------
    def backward(self, w, x, dz, n0, n1, dx, init, scratch, g_pool=None, chunks=None):
        """Worker w: the weight gradient of its images (direct: into the partial sum of each of its
        fixed ``chunks`` (k, s, e) of images; im2col: into ``self.dWc[w]``); dx (N, H, W, C) of its
        images (when not the first layer), plus ``init`` where given. ``dz`` = dL/d(conv output)
        rows, or None for a pooled unit, whose dz is built per image from ``g_pool``."""
        (kh, kw), (sh, sw), (ph, pw) = self.k, self.s, self.p
        hw, O, K = self.hw, self.O, self.K
        if self.method == "direct":
            geo = (kh, kw, sh, sw, ph, pw, self.Ho, self.Wo)
            wq = self.wq if dx is not None else self.wp            # unused without dx
            dxa = dx if dx is not None else x
            for k, s, e in (chunks if chunks is not None else [(w, n0, n1)]):
                dwp, db = self.dwp[k], self.db[k]
                dwp[...] = 0
                db[...] = 0
                if dz is None:
                    kd.pool_conv_backward(g_pool, self.y, self.arg, db, x, s, e, *geo, self.zimg[w], dwp,
                                          self.xpad[w], wq, dxa, self.gpad[w], self.dx_variant, dx is not None,
                                          self.no_tf, self.wg_variant)
                    continue
                kd.weight_grad(x, s, e, *geo, dz, dwp, self.xpad[w], self.no_tf, self.wg_variant)
                if self.has_bias:
                    kd.bias_grad(dz, s * hw, e * hw, db)
                if dx is not None:
                    if init is not None and init is not dx:
                        dx[s:e] = init[s:e]
                    kd.input_grad(dz, s, e, *geo, wq, dx, self.gpad[w], self.dx_variant, int(init is not None))
            return
        dWc = self.dWc[w]
        started = False
        for s, e in self.chunks(n0, n1):
            rows = (e - s) * hw
            if dz is None:
                dzc = scratch.get("dz", rows, O, self.dtype)
                k_pool.pool2_relu_bwd(g_pool, self.y, self.arg, s, e - s, self.Ho, self.Wo, dzc)
            else:
                dzc = dz[s * hw:e * hw]
            cols = scratch.get("cols", rows, K + self.has_bias, self.dtype)
            k_conv.im2col(x, s, e, kh, kw, sh, sw, ph, pw, self.Ho, self.Wo, cols, self.has_bias)
            if not started:
                gemm_dw(cols.T, dzc, out=dWc)
                started = True
            else:
                part = scratch.get("dWpart", K + self.has_bias, O, self.dtype)
                gemm_dw(cols.T, dzc, out=part)
                dWc += part
            if dx is not None:
                dcols = scratch.get("dcols", rows, K, self.dtype)
                gemm_dx(dzc, self.WcT, out=dcols)
                k_conv.col2im(dcols, s, e, kh, kw, sh, sw, ph, pw, self.Ho, self.Wo, dx,
                              dx if init is None else init, init is not None)
        if not started:
            dWc[:] = 0

    def bn_backward(self, w, g, a, b, mode, n0, n1, sync, stats):
        """Worker w: dz rows of its images from g = dL/dy of the batch norm's output, y masked by
        mode (``k_norm.bwd_sums``); the batch sums cross the barrier. Returns (dgamma, dbeta)."""
        hw = self.hw
        mean, inv_std = stats[0], stats[1]
        r0, r1 = n0 * hw, n1 * hw
        a = g if a is None else a                  # numba needs arrays; unused unless the mode reads them
        b = np.ones(1, self.dtype) if b is None else b
        bw = b[n0:n1] if mode == k_norm.MASK_SAMPLE else b
        k_norm.bwd_sums(g[r0:r1], a[r0:r1], bw, mode, self.z[r0:r1], mean, inv_std,
                        hw, self.sum_g, self.sum_gx, n0, mean, mean)
        sync()
        tot_g = self.sum_g.sum(axis=0)
        tot_gx = self.sum_gx.sum(axis=0)
        m = self.N * hw
        dt = self.dtype
        coef = (self.bn.weight.value.astype(np.float64) * inv_std / m).astype(dt)
        k_norm.bwd_apply(g[r0:r1], a[r0:r1], bw, mode, self.z[r0:r1], mean, inv_std, coef, tot_g.astype(dt),
                         tot_gx.astype(dt), dt.type(m), hw, self.dz[r0:r1], mean, mean)
        return tot_gx.astype(dt), tot_g.astype(dt)

    def grads(self, n_workers):
        """(dW, db) of the whole batch: the partial sums added in order (direct: one per fixed chunk
        of images, so the bits do not depend on the number of workers; im2col: one per worker)."""
        if self.method == "direct":
            O = self.O                 # lanes past O hold what the tiles read past a row: never summed
            dwp = self.dwp[0][..., :O].copy()
            db = self.db[0].copy()
            for k in range(1, len(self.dwp)):
                dwp += self.dwp[k][..., :O]
                db += self.db[k]
            return kd.unpack_weight_grad(dwp, self.conv.weight.value.shape), (db if self.has_bias else None)
        total = self.dWc[0].copy()
        for w in range(1, n_workers):
            total += self.dWc[w]
        return k_conv.weight_grad_to_oihw(total, self.conv.weight.value.shape)
