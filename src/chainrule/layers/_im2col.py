"""The patch matrix of a convolution (im2col) and its pieces, for ``conv.py``'s kernels.

X_col has one row per output pixel (n, i, j) and one column per kernel entry (u, v, c): row
(n, i, j) is the patch xp[n, i s_h + u, j s_w + v, c] of the zero-padded channels-last images
xp. A convolution is then one matrix product with W_col (kh kw C x O).

The kernels never build X_col for a whole batch: they build it for a few images at a time
(``CHUNK_BYTES`` of patches, which stay in the processor's cache while the matrix product reads
them) and rebuild it in backward for the weight gradient. Measured on lenet's second
convolution (batch 128, one thread): forward 11.5 ms in chunks against 14.4 ms for the whole
X_col (29 MB written, then read twice by the product), weight gradient 12.2 ms with the
rebuild against 13.7 ms from a stored X_col, and no X_col in memory between the passes.
Chunk size: 2 MB, about 9 images of lenet's second convolution, so a chunk's patches and its
products stay in one core's 1 MB L2 cache plus the shared L3. Measured on one thread (AMD EPYC,
2 x 1 MB L2): the weight-gradient product X_col^T G runs at 95 GFLOP/s with 3 to 12 images and
at 64 to 80 GFLOP/s with 18 (4 MB); the forward product at 100 against 93. Lenet's epoch on one
thread: 30.3 s of CPU with 4 MB chunks, 29.8 s with 2 MB. Earlier (with the input gradient as
kh kw small products per chunk) 1 to 4 MB had run alike.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _images as im

#: bytes of patches built at a time (a few images; they stay in cache while the product runs)
CHUNK_BYTES = 2 * 2**20
#: below this many input channels the patch matrix is built transposed (see ``im2col``)
FEW_CHANNELS = 8


def padded(xh, padding):
    """(N, H + 2 p_h, W + 2 p_w, C): channels-last images with zero borders (``xh`` itself if p = 0)."""
    ph, pw = padding
    if not (ph or pw):
        return xh
    N, H, W, C = xh.shape
    out = np.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=xh.dtype)
    out[:, ph:ph + H, pw:pw + W, :] = xh
    return out


def chunks(n_images: int, bytes_per_image: int):
    """(first, end) image ranges of about ``CHUNK_BYTES`` of patches each (at least one image)."""
    step = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    return [(s, min(n_images, s + step)) for s in range(0, n_images, step)]


def im2col(xpad, kernel, stride, out_hw, ones: bool = False):
    """X_col (n H_out W_out, kh kw C [+ 1]) of padded channels-last images ``xpad`` (n, Hp, Wp, C),
    rows (n, i, j), columns (u, v, c); with ``ones`` a last column of 1s (the bias's).

    With C >= ``FEW_CHANNELS`` the patches are one strided view of ``xpad``, copied once (runs
    of kw C adjacent values). With fewer channels (a first layer on grey or colour images) those
    runs would be a few values long, so X_col is built transposed instead, one kernel offset at a
    time (runs of W_out values; 6 x faster for C = 1), and returned as the (M, K) view of that
    (K, M) array. Both serve the same products.
    """
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
    N, Hp, Wp, C = xpad.shape
    if (Ho - 1) * sh + kh > Hp or (Wo - 1) * sw + kw > Wp:     # as_strided would read outside xpad
        raise ValueError(f"im2col: {Ho} x {Wo} windows of {kh} x {kw} with stride {(sh, sw)} do not fit in "
                         f"images of {Hp} x {Wp}")
    K = kh * kw * C
    if C < FEW_CHANNELS:
        colsT = np.empty((K + ones, N, Ho, Wo), dtype=xpad.dtype)
        by_offset = colsT[:K].reshape(kh, kw, C, N, Ho, Wo)
        for k, window in im.windows(xpad, kernel, stride, out_hw):
            np.copyto(by_offset[k // kw, k % kw], window.transpose(3, 0, 1, 2))
        if ones:
            colsT[K] = 1
        return colsT.reshape(K + ones, N * Ho * Wo).T
    sN, sH, sW, sC = xpad.strides
    patches = as_strided(xpad, (N, Ho, Wo, kh, kw, C), (sN, sH * sh, sW * sw, sH, sW, sC), writeable=False)
    cols = np.empty((N * Ho * Wo, K + ones), dtype=xpad.dtype)
    r, e = cols.strides
    np.copyto(as_strided(cols, patches.shape, (Ho * Wo * r, Wo * r, r, kw * C * e, C * e, e)), patches)
    if ones:
        cols[:, K] = 1
    return cols


class Patches:
    """X_col of a batch, built a chunk of images at a time: ``parts`` lists the (first, end)
    images of each chunk, ``most`` the largest chunk, ``build(s, e)`` the rows of images s to e."""

    def __init__(self, xh, kernel, stride, padding, out_hw, ones: bool):
        self.xh, self.kernel, self.stride, self.padding, self.out_hw = xh, kernel, stride, padding, out_hw
        self.ones = bool(ones)
        rows = out_hw[0] * out_hw[1]
        self.parts = chunks(xh.shape[0], rows * (kernel[0] * kernel[1] * xh.shape[3] + self.ones) * xh.itemsize)
        self.most = max((e - s for s, e in self.parts), default=0)

    def build(self, s: int, e: int):
        return im2col(padded(self.xh[s:e], self.padding), self.kernel, self.stride, self.out_hw, ones=self.ones)


def weight_matrix(W, b):
    """W_col (kh kw C [+ 1], O): the weight in the patches' (u, v, c) order, the bias as a last row."""
    O, C, kh, kw = W.shape
    K = kh * kw * C
    Wc = np.empty((K + (b is not None), O), dtype=W.dtype)
    Wc[:K] = W.transpose(2, 3, 1, 0).reshape(K, O)
    if b is not None:
        Wc[K] = b
    return Wc


def shifts(size_in: int, size_out: int, k: int, s: int, p: int):
    """Per kernel offset u along one axis: (first output i, end, first input i s + u - p) of the
    outputs whose input lies inside the image (not in the padding), or None when none does."""
    out = []
    for u in range(k):
        lo = max(0, -((u - p) // s))                   # smallest i with i s + u - p >= 0
        hi = min(size_out, (size_in - 1 - u + p) // s + 1)
        out.append((lo, hi, lo * s + u - p) if hi > lo else None)
    return out
