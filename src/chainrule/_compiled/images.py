"""Compiled loops (numba) for the image kernels' memory-bound passes.

The NumPy kernels in ``conv.py`` and ``pooling.py`` stay the reference. NumPy runs a 2 x 2 max
pooling as a compare, a maximum and an index update per window offset, each a trip through
memory; a compiled loop does the same arithmetic in one trip (lenet's first pooling, batch 128,
one thread: forward 3.7 -> 0.45 ms, backward 2.5 -> 0.9 ms). ``MaxPool2d`` and ``Conv2d`` take
them when they are built with the compiled kernels enabled (``_compiled.enabled()``), and use them
on C-contiguous (channels-last) arrays; the tests run both paths and compare them.

- ``maxpool_forward`` / ``maxpool_backward``: the same values, the same winning offsets and the
  same gradient bits as ``pooling.maxpool2d_*`` (same comparisons, same order of additions).
- ``col2im``: dL/dx from dL/dX_col = G W_col^T as a gather: every input pixel sums the patch
  entries that read it, so each is written once. With it the input gradient is one product
  with kh kw C columns per chunk instead of kh kw products with C columns (each a fork and a
  join of the BLAS threads) and as many strided additions.

The loops run on one thread: numba's parallel loops measured no faster on the pooling (it is
memory-bound) and up to 50 x slower when other processes load the cores.
"""
from __future__ import annotations

import numpy as np

_loops = None


def usable(*arrays) -> bool:
    """Every array C-contiguous floating point (the loops index them directly)."""
    return all(a.flags.c_contiguous and a.dtype.kind == "f" for a in arrays)


def loops():
    """The compiled loops, built (or read from numba's cache) at their first use."""
    global _loops
    if _loops is None:
        _loops = _build()
    return _loops


def _build():  # pragma: no cover - compiled
    import numba

    @numba.njit(cache=True, nogil=True)
    def maxpool_forward(x, kh, kw, sh, sw, y, arg):
        """y[n, i, j, c] = max of the window (NaN wins, as np.maximum); arg = first offset of the
        strict maximum in row-major order (as the NumPy kernel's np.greater)."""
        N, Ho, Wo, C = y.shape
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    r0, c0 = i * sh, j * sw
                    for c in range(C):
                        best = x[n, r0, c0, c]
                        a = 0
                        for u in range(kh):
                            for v in range(kw):
                                val = x[n, r0 + u, c0 + v, c]
                                take = val > best
                                best = val if take | (val != val) else best
                                a = u * kw + v if take else a
                        y[n, i, j, c] = best
                        arg[n, i, j, c] = a

    @numba.njit(cache=True, nogil=True)
    def maxpool2x2_forward(x, y, arg):
        """``maxpool_forward`` for 2 x 2 windows with stride 2 (branch-free: vectorised over c)."""
        N, Ho, Wo, C = y.shape
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    r, s = 2 * i, 2 * j
                    for c in range(C):
                        best = x[n, r, s, c]
                        a = 0
                        val = x[n, r, s + 1, c]
                        take = val > best
                        best = val if take | (val != val) else best
                        a = 1 if take else a
                        val = x[n, r + 1, s, c]
                        take = val > best
                        best = val if take | (val != val) else best
                        a = 2 if take else a
                        val = x[n, r + 1, s + 1, c]
                        take = val > best
                        best = val if take | (val != val) else best
                        a = 3 if take else a
                        y[n, i, j, c] = best
                        arg[n, i, j, c] = a

    @numba.njit(cache=True, nogil=True)
    def maxpool_backward(g, arg, kh, kw, sh, sw, tiles, dx):
        """dx[window entry k] (+)= g * (arg == k), offsets in increasing order (the NumPy kernel's
        order of additions). With ``tiles`` every entry of dx is in one window: written, not added."""
        N, Ho, Wo, C = g.shape
        one, zero = g.dtype.type(1), g.dtype.type(0)
        for n in range(N):
            if not tiles:
                dx[n] = zero
            for u in range(kh):
                for v in range(kw):
                    k = u * kw + v
                    for i in range(Ho):
                        for j in range(Wo):
                            r, s = i * sh + u, j * sw + v
                            for c in range(C):
                                m = one if arg[n, i, j, c] == k else zero
                                if tiles:
                                    dx[n, r, s, c] = g[n, i, j, c] * m
                                else:
                                    dx[n, r, s, c] += g[n, i, j, c] * m

    @numba.njit(cache=True, nogil=True)
    def col2im(dcols, kh, kw, sh, sw, ph, pw, Ho, Wo, dx):
        """dx[n, h, w, c] = sum over the patch entries (u, v) that read it (offsets in row-major
        order) of dcols[(n, i, j), (u, v, c)], where h = i s_h + u - p_h and w = j s_w + v - p_w."""
        N, H, W, C = dx.shape
        for t in range(N * H):
            n, h = t // H, t % H
            for w in range(W):
                for c in range(C):
                    dx[n, h, w, c] = 0
                for u in range(kh):
                    ii = h + ph - u
                    if ii < 0 or ii % sh != 0 or ii // sh >= Ho:
                        continue
                    for v in range(kw):
                        jj = w + pw - v
                        if jj < 0 or jj % sw != 0 or jj // sw >= Wo:
                            continue
                        r = (n * Ho + ii // sh) * Wo + jj // sw
                        off = (u * kw + v) * C
                        for c in range(C):
                            dx[n, h, w, c] += dcols[r, off + c]

    return {"maxpool_forward": maxpool_forward, "maxpool2x2_forward": maxpool2x2_forward,
            "maxpool_backward": maxpool_backward, "col2im": col2im}


def maxpool_forward(xh, kernel, stride, out_hw, itype):
    """(y, arg) channels-last for contiguous channels-last images ``xh`` (see ``pooling.py``)."""
    N, _, _, C = xh.shape
    y = np.empty((N,) + tuple(out_hw) + (C,), dtype=xh.dtype)
    arg = np.empty(y.shape, dtype=itype)
    if tuple(kernel) == (2, 2) and tuple(stride) == (2, 2):
        loops()["maxpool2x2_forward"](xh, y, arg)
    else:
        loops()["maxpool_forward"](xh, kernel[0], kernel[1], stride[0], stride[1], y, arg)
    return y, arg


def maxpool_backward(gh, arg, kernel, stride, tiles, dxh):
    """Fills ``dxh`` (N, H, W, C) with the gradient of ``maxpool_forward``."""
    loops()["maxpool_backward"](gh, arg, kernel[0], kernel[1], stride[0], stride[1], bool(tiles), dxh)
    return dxh


def col2im(dcols, kernel, stride, padding, out_hw, dxh):
    """dL/dx into ``dxh`` (n, H, W, C) from dL/dX_col ``dcols`` (n H_out W_out, >= kh kw C)."""
    loops()["col2im"](dcols, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                      out_hw[0], out_hw[1], dxh)
    return dxh
