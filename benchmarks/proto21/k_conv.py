"""Compiled convolution pieces on channels-last (NHWC) images: patches (im2col), their adjoint (col2im).

The math is ``chainrule.layers.conv`` (the reference): with X_col the patch matrix (rows (n, i, j),
columns (u, v, c)) and W_col (kh kw C x O), Y = X_col W_col, dW_col = X_col^T G and
dX_col = G W_col^T, which col2im adds back where each patch entry was read. Here the patches of
a few images at a time are written by a compiled loop straight from the unpadded images (the
padding is never materialised), the product is one BLAS call on that chunk (one BLAS thread per
worker), and col2im is a gather: every input pixel sums the patch entries that read it, so it is
written once and the order of its additions is fixed (offsets in row-major order).

All loops release the GIL (``nogil``) so two workers run them at once on their own images.
"""
from __future__ import annotations

import numba
import numpy as np

NB = dict(cache=True, nogil=True, boundscheck=False)


@numba.njit(**NB)
def im2col(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, cols, ones):
    """cols[(n - n0) Ho Wo + i Wo + j, (u kw + v) C + c] = x[n, i sh + u - ph, j sw + v - pw, c]
    (0 outside the image) for images n0 <= n < n1; with ``ones`` column kh kw C is 1 (the bias's)."""
    _, H, W, C = x.shape
    K = kh * kw * C
    one = cols.dtype.type(1)
    zero = cols.dtype.type(0)
    r = 0
    for n in range(n0, n1):
        for i in range(Ho):
            for j in range(Wo):
                for u in range(kh):
                    h = i * sh + u - ph
                    inside_h = 0 <= h < H
                    for v in range(kw):
                        w = j * sw + v - pw
                        base = (u * kw + v) * C
                        if inside_h and 0 <= w < W:
                            for c in range(C):
                                cols[r, base + c] = x[n, h, w, c]
                        else:
                            for c in range(C):
                                cols[r, base + c] = zero
                if ones:
                    cols[r, K] = one
                r += 1


@numba.njit(**NB)
def col2im(dcols, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, dx, init, has_init):
    """dx[n, h, w, c] = init[n, h, w, c] (or 0) + sum over the patch entries (u, v) that read input
    pixel (h, w) (offsets in row-major order) of dcols[(n - n0) Ho Wo + i Wo + j, (u kw + v) C + c],
    with h = i sh + u - ph and w = j sw + v - pw, for images n0 <= n < n1."""
    _, H, W, C = dx.shape
    for n in range(n0, n1):
        rn = (n - n0) * Ho
        for h in range(H):
            for w in range(W):
                if has_init:
                    for c in range(C):
                        dx[n, h, w, c] = init[n, h, w, c]
                else:
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
                        r = (rn + ii // sh) * Wo + jj // sw
                        off = (u * kw + v) * C
                        for c in range(C):
                            dx[n, h, w, c] += dcols[r, off + c]


def weight_matrix(W, b, out=None):
    """W_col (kh kw C [+ 1], O) in the patches' (u, v, c) order, the bias as a last row."""
    O, C, kh, kw = W.shape
    K = kh * kw * C
    if out is None:
        out = np.empty((K + (b is not None), O), dtype=W.dtype)
    out[:K] = W.transpose(2, 3, 1, 0).reshape(K, O)
    if b is not None:
        out[K] = b
    return out


def weight_grad_to_oihw(dWc, shape):
    """dW (O, C, kh, kw) and db (O,) or None from dW_col (kh kw C [+ 1], O)."""
    O, C, kh, kw = shape
    K = kh * kw * C
    dW = np.ascontiguousarray(dWc[:K].reshape(kh, kw, C, O).transpose(3, 2, 0, 1))
    return dW, (dWc[K].copy() if dWc.shape[0] > K else None)
