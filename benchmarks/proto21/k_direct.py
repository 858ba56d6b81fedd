"""Direct convolution on channels-last images with the register-tiled micro-kernels of ``k_simd``.

The math is ``chainrule.layers.conv`` (the reference), without a patch matrix:

- forward: y[n, i, j, o] = sum over (u, v, c) of xp[n, i s_h + u, j s_w + v, c] W[o, c, u, v], xp the
  image zero-padded (one image at a time, into a worker's buffer), weights packed (u, v, c, o);
- weight gradient: dW[o, c, u, v] = sum over (n, i, j) of xp[n, i s_h + u, j s_w + v, c] g[n, i, j, o],
  one tap (u, v) and a few channels c at a time, images in batch order;
- input gradient: dx[n, h, w, c] = sum over the (u, v, o) with h = i s_h + u - p_h, w = j s_w + v - p_w
  of g[n, i, j, o] W[o, c, u, v]: for each residue class of (h mod s_h, w mod s_w) a convolution of
  the zero-padded g with the taps of that class (weights packed (u, v, o, c)), so every input pixel
  is written once (stride 1: one class, the flipped kernel).

Channels are padded to whole vectors in the packed weights and the weight gradient's buffer;
loads may run past a row's last channel into the ``SLACK`` every buffer carries (``alloc``), and
those lanes are never stored.
"""
from __future__ import annotations

import numba
import numpy as np

from . import k_norm, k_pool, k_simd

NB = dict(cache=True, nogil=True, boundscheck=False)
#: extra elements after every buffer the micro-kernels read (a tile's overhang)
SLACK = 8192


def lanes(dtype) -> int:
    return 16 if np.dtype(dtype).itemsize == 4 else 8


def padded_to(n: int, lane: int) -> int:
    """Channels as the tiles cover them: one vector, or whole pairs of vectors."""
    return lane if n <= lane else -(-n // (2 * lane)) * 2 * lane


def alloc(shape, dtype, zero=False):
    """An array of ``shape`` followed by ``SLACK`` readable elements (the micro-kernels' overhang)."""
    size = int(np.prod(shape))
    flat = (np.zeros if zero else np.empty)(size + SLACK, dtype)
    flat[size:] = 0                    # what a tile reads past the end: zeros, never NaN or denormals
    return flat[:size].reshape(shape)


def pack_forward(W, lane):
    """(kh, kw, C, O_pad) from (O, C, kh, kw): the forward's vectors run over output channels."""
    O, C, kh, kw = W.shape
    out = alloc((kh, kw, C, padded_to(O, lane)), W.dtype, zero=True)
    out[..., :O] = W.transpose(2, 3, 1, 0)
    return out


def pack_input_grad(W, lane):
    """(kh, kw, O, C_pad) from (O, C, kh, kw): the input gradient's vectors run over input channels."""
    O, C, kh, kw = W.shape
    out = alloc((kh, kw, O, padded_to(C, lane)), W.dtype, zero=True)
    out[..., :C] = W.transpose(2, 3, 0, 1)
    return out


def unpack_weight_grad(dwp, shape):
    """(O, C, kh, kw) from the (kh, kw, C, O_pad) weight-gradient buffer."""
    O = shape[0]
    return np.ascontiguousarray(dwp[..., :O].transpose(3, 2, 0, 1))


def conv_variant(n_vec_lanes: int, lane: int, width: int) -> int:
    """Which conv tile: 0 = (16 pixels, 1 vector), 1 = (8, 2), 2 = (7, 2)."""
    if n_vec_lanes <= lane:
        return 0
    return 2 if width % 7 == 0 and width % 8 != 0 else 1


def wgrad_variant(o_pad: int, lane: int, k_row: int) -> int:
    """Which weight-gradient tile for O_pad output channels and kernel rows of k_row = kw C values:
    0 = (4 channels, 1 vector), 1 = (16, 1), 2 = (4, 2), 3 = (8, 2)."""
    if o_pad <= lane:
        return 0 if k_row < 8 else 1
    return 2 if k_row < 8 else 3


@numba.njit(**NB)
def _tile(variant, x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv, npv, nov, add):
    if variant == 0:
        k_simd.conv_tile_16_1(x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
                              npv, nov, add)
    elif variant == 1:
        k_simd.conv_tile_8_2(x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
                             npv, nov, add)
    else:
        k_simd.conv_tile_7_2(x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
                             npv, nov, add)


@numba.njit(**NB)
def pad_image(x, n, ph, pw, xpad, tf):
    """The interior of the zero-bordered (H + 2 ph, W + 2 pw, C) buffer ``xpad`` (flat) = x[n], or,
    with the input transform tf = (1, mean, scale, beta), max(0, (x[n] - mean) scale + beta): the
    batch norm and ReLU of the layer before, applied on the way in (its output is never stored).
    Explicit loops over a 3-d view: measured 2.3 us for a 32 x 32 x 16 image, 6 x a flat loop."""
    _, H, W, C = x.shape
    Wp = W + 2 * pw
    xp3 = xpad[:(H + 2 * ph) * Wp * C].reshape(H + 2 * ph, Wp, C)
    if tf[0] == 0:
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    xp3[h + ph, w + pw, c] = x[n, h, w, c]
    else:
        mean, scale, beta = tf[1], tf[2], tf[3]
        zero = xpad.dtype.type(0)
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    v = (x[n, h, w, c] - mean[c]) * scale[c] + beta[c]
                    xp3[h + ph, w + pw, c] = v if v > zero or v != v else zero


@numba.njit(**NB)
def _image_source(x, n, ph, pw, xpad, tf):
    """(buffer, offset of image n's pixel (0, 0)) to read image n zero-padded (and transformed):
    x itself when there is neither padding nor transform."""
    _, H, W, C = x.shape
    if ph == 0 and pw == 0 and tf[0] == 0:
        return x.reshape(-1), n * H * W * C
    pad_image(x, n, ph, pw, xpad, tf)
    return xpad, 0


def no_transform(dtype):
    """The input transform that leaves the input as it is."""
    d = np.zeros(1, dtype)
    return (0, d, d, d)


def bn_relu_transform(mean, scale, beta):
    """x -> max(0, (x - mean) scale + beta) per channel, applied when a convolution reads x."""
    return (1, mean, scale, beta)


@numba.njit(**NB)
def conv_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, y0, xpad, variant, tf):
    """Rows y[y0 .. y0 + Ho Wo) (flat offset y0 O) = the convolution of image n of x (N, H, W, C)."""
    _, H, W, C = x.shape
    O = y.shape[1]
    Opad = wp.shape[3]
    Wp = W + 2 * pw
    P = 16 if variant == 0 else (8 if variant == 1 else 7)
    ov = (16 if x.itemsize == 4 else 8) * (1 if variant == 0 else 2)
    src, base = _image_source(x, n, ph, pw, xpad, tf)
    for i in range(Ho):
        for j0 in range(0, Wo, P):
            for o0 in range(0, Opad, ov):
                # a kernel row's taps and channels (v, c) are kw C adjacent values in the image and in
                # the packed weight: one reduction of kw C per kernel row (fewer, longer loops)
                _tile(variant, src, base + (i * sh * Wp + j0 * sw) * C, sw * C, Wp * C, 0,
                      wp, o0, kw * C * Opad, 0, Opad,
                      y, (y0 + i * Wo + j0) * O + o0, O, kw * C, kh, 1,
                      min(P, Wo - j0), O - o0, 0)


@numba.njit(**NB)
def conv_forward(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, xpad, variant, tf):
    """y (N Ho Wo, O) rows of images [n0, n1) = the convolution of x (N, H, W, C) with packed wp."""
    for n in range(n0, n1):
        conv_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, n * Ho * Wo, xpad, variant, tf)


@numba.njit(**NB)
def conv_forward_stats(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, xpad, variant, tf, means, m2s):
    """``conv_forward``, then each image's batch-norm statistics while its output is in cache."""
    hw = Ho * Wo
    for n in range(n0, n1):
        conv_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, n * hw, xpad, variant, tf)
        k_norm.image_stats(y[n * hw:(n + 1) * hw], hw, means, m2s, n)


@numba.njit(**NB)
def conv_forward_bias_relu(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, xpad, variant, tf, b, relu):
    """``conv_forward``, then + b and max(0, .) (when ``relu``) on each image while in cache."""
    hw = Ho * Wo
    O = y.shape[1]
    zero = y.dtype.type(0)
    for n in range(n0, n1):
        conv_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, y, n * hw, xpad, variant, tf)
        for r in range(n * hw, (n + 1) * hw):
            for o in range(O):
                v = y[r, o] + b[o]
                if relu:
                    v = v if v > zero or v != v else zero
                y[r, o] = v


@numba.njit(**NB)
def conv_forward_pool(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, zimg, xpad, variant, tf, b, y, arg):
    """Per image: the convolution into ``zimg`` (Ho Wo, O), then y = max(0, maxpool2(z + b)) (``k_pool``)."""
    for n in range(n0, n1):
        conv_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wp, zimg, 0, xpad, variant, tf)
        k_pool.pool2_relu_fwd(zimg, 1, Ho, Wo, b, y, arg, n)


@numba.njit(**NB)
def weight_grad_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, g, gr0, dwp, xpad, tf, wv):
    """dwp (kh, kw, C, O_pad) += each tap's x^T g over image n of x, whose output gradient is
    rows g[gr0 .. gr0 + Ho Wo), with weight-gradient tile ``wv`` (``wgrad_variant``)."""
    _, H, W, C = x.shape
    O = g.shape[1]
    Opad = dwp.shape[3]
    Wp = W + 2 * pw
    L = 16 if x.itemsize == 4 else 8
    src, base = _image_source(x, n, ph, pw, xpad, tf)
    g0 = gr0 * O
    K = kw * C              # a kernel row's taps and channels (v, c): adjacent in x and in dwp's rows
    for u in range(kh):
        xb = base + u * Wp * C
        db = u * K * Opad
        if wv == 0:
            for c0 in range(0, K, 4):
                k_simd.wgrad_tile_4_1(src, xb + c0, sh * Wp * C, sw * C, g, g0, Wo * O, O,
                                      Ho, Wo, dwp, db + c0 * Opad, Opad, min(4, K - c0))
        elif wv == 1:
            for c0 in range(0, K, 16):
                k_simd.wgrad_tile_16_1(src, xb + c0, sh * Wp * C, sw * C, g, g0, Wo * O, O,
                                       Ho, Wo, dwp, db + c0 * Opad, Opad, min(16, K - c0))
        elif wv == 2:
            for o0 in range(0, Opad, 2 * L):
                for c0 in range(0, K, 4):
                    k_simd.wgrad_tile_4_2(src, xb + c0, sh * Wp * C, sw * C, g, g0 + o0, Wo * O, O,
                                          Ho, Wo, dwp, db + c0 * Opad + o0, Opad, min(4, K - c0))
        else:
            for o0 in range(0, Opad, 2 * L):
                for c0 in range(0, K, 8):
                    k_simd.wgrad_tile_8_2(src, xb + c0, sh * Wp * C, sw * C, g, g0 + o0, Wo * O, O,
                                          Ho, Wo, dwp, db + c0 * Opad + o0, Opad, min(8, K - c0))


@numba.njit(**NB)
def weight_grad(x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, g, dwp, xpad, tf, wv):
    """dwp (kh, kw, C, O_pad) += sum over images [n0, n1) (in order) of each tap's x^T g."""
    for n in range(n0, n1):
        weight_grad_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, g, n * Ho * Wo, dwp, xpad, tf, wv)


@numba.njit(**NB)
def bias_grad(g, r0, r1, db):
    """db += the sum of rows g[r0:r1] (in order)."""
    for r in range(r0, r1):
        for o in range(g.shape[1]):
            db[o] += g[r, o]


@numba.njit(**NB)
def pad_grad(g, gr0, Ho, Wo, top, left, Gw, gpad):
    """Rows g[gr0 .. gr0 + Ho Wo) (one image of the output gradient) into the zero-bordered
    buffer gpad (flat, width Gw)."""
    O = g.shape[1]
    gp3 = gpad[:(Ho + 2 * top) * Gw * O].reshape(Ho + 2 * top, Gw, O)
    for i in range(Ho):
        r = gr0 + i * Wo
        for j in range(Wo):
            for o in range(O):
                gp3[i + top, j + left, o] = g[r + j, o]


@numba.njit(**NB)
def input_grad_image(g, gr0, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wq, dx, gpad, variant, add):
    """dx[n] (H, W, C) from the output gradient rows g[gr0 .. gr0 + Ho Wo) and wq (kh, kw, O,
    C_pad), written (add = 0) or added to what dx holds (add = 1); gpad has room for kh + 1 rows
    and kw + 1 columns of zero border on each side of an image of g."""
    _, H, W, C = dx.shape
    O = g.shape[1]
    Cpad = wq.shape[3]
    P = 16 if variant == 0 else (8 if variant == 1 else 7)
    cv = (16 if g.itemsize == 4 else 8) * (1 if variant == 0 else 2)
    top, left = kh + 1, kw + 1
    Gw = Wo + 2 * left
    pad_grad(g, gr0, Ho, Wo, top, left, Gw, gpad)
    for rh in range(sh):
        u0 = (rh + ph) % sh
        ntu = 0 if u0 >= kh else (kh - 1 - u0) // sh + 1
        dh = (rh + ph - u0) // sh
        Mh = 0 if rh >= H else (H - 1 - rh) // sh + 1
        for rw in range(sw):
            v0 = (rw + pw) % sw
            ntv = 0 if v0 >= kw else (kw - 1 - v0) // sw + 1
            dw_ = (rw + pw - v0) // sw
            Mw = 0 if rw >= W else (W - 1 - rw) // sw + 1
            for m in range(Mh):
                h = m * sh + rh
                for q0 in range(0, Mw, P):
                    w = q0 * sw + rw
                    for c0 in range(0, Cpad, cv):
                        _tile(variant, gpad, ((m + dh + top) * Gw + q0 + dw_ + left) * O, O, -Gw * O, -O,
                              wq, ((u0 * kw + v0) * O) * Cpad + c0, sh * kw * O * Cpad, sw * O * Cpad, Cpad,
                              dx, ((n * H + h) * W + w) * C + c0, sw * C, O, ntu, ntv,
                              min(P, Mw - q0), C - c0, add)


@numba.njit(**NB)
def input_grad(g, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, wq, dx, gpad, variant, add):
    """dx (N, H, W, C) of images [n0, n1) from g (N Ho Wo, O) (see ``input_grad_image``)."""
    for n in range(n0, n1):
        input_grad_image(g, n * Ho * Wo, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wq, dx, gpad, variant, add)


@numba.njit(**NB)
def pool_conv_backward(gy, y, arg, b_grad, x, n0, n1, kh, kw, sh, sw, ph, pw, Ho, Wo, dzimg, dwp, xpad,
                       wq, dx, gpad, variant, need_dx, tf, wv):
    """Per image of a conv + bias + ReLU + 2 x 2 max pooling unit: dz from the pooled gradient
    (``k_pool.pool2_relu_bwd``) into ``dzimg``, then dW (+=), db (+=) and dx (when ``need_dx``)."""
    hw = Ho * Wo
    for n in range(n0, n1):
        k_pool.pool2_relu_bwd(gy, y, arg, n, 1, Ho, Wo, dzimg)
        weight_grad_image(x, n, kh, kw, sh, sw, ph, pw, Ho, Wo, dzimg, 0, dwp, xpad, tf, wv)
        bias_grad(dzimg, 0, hw, b_grad)
        if need_dx:
            input_grad_image(dzimg, 0, n, kh, kw, sh, sw, ph, pw, Ho, Wo, wq, dx, gpad, variant, 0)
