"""The direct (register-tiled, no patch matrix) convolution against chainrule's reference kernels:
forward, weight gradient and input gradient (written and added) for 1 x 1, 3 x 3 and 5 x 5
kernels, strides 1 and 2, paddings 0 to 2, channel counts that fill whole vectors and that do not
(1, 2, 3, 6, 12 channels), float64 to 1e-12 and float32 to 1e-5 relative.
"""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.layers import conv as ref_conv
from proto21 import k_direct as kd

TOL = {np.float64: 1e-12, np.float32: 1e-5}

GEOMETRIES = [  # C, O, H, W, k, stride, padding
    (16, 16, 8, 8, 3, 1, 1), (1, 32, 28, 28, 3, 1, 1), (3, 16, 32, 32, 3, 1, 1), (16, 32, 12, 12, 3, 2, 1),
    (16, 32, 12, 12, 1, 2, 0), (8, 12, 11, 9, 5, 1, 2), (8, 12, 11, 9, 5, 2, 0), (4, 6, 7, 7, 3, 1, 0),
    (32, 64, 14, 14, 3, 1, 1), (64, 64, 8, 8, 3, 1, 1), (2, 6, 13, 13, 5, 1, 2), (6, 40, 9, 10, 3, 2, 2),
]


def rel(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("geo", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_direct_convolution_forward_weight_and_input_gradients(geo, dtype):
    C, O, H, W, k, s, p = geo
    N = 3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((O, C, k, k)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    y_ref, cache = ref_conv.conv2d_forward(x, Wt, b, (s, s), (p, p))
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    dx_ref, dW_ref, db_ref = ref_conv.conv2d_backward(g, cache, Wt)
    Ho, Wo = y_ref.shape[2:]
    L = kd.lanes(dtype)
    xh = kd.alloc((N, H, W, C), dtype)
    xh[...] = x.transpose(0, 2, 3, 1)
    wp, wq = kd.pack_forward(Wt, L), kd.pack_input_grad(Wt, L)
    xpad = kd.alloc(((H + 2 * p) * (W + 2 * p) * C,), dtype, zero=True)
    y = kd.alloc((N * Ho * Wo, O), dtype)
    tf = kd.no_transform(dtype)
    kd.conv_forward_bias_relu(xh, 0, N, k, k, s, s, p, p, Ho, Wo, wp, y, xpad, kd.conv_variant(wp.shape[3], L, Wo),
                              tf, b, False)
    assert rel(y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2), y_ref) <= TOL[dtype]
    G = kd.alloc((N * Ho * Wo, O), dtype)
    G[...] = g.transpose(0, 2, 3, 1).reshape(-1, O)
    dwp = kd.alloc(wp.shape, dtype, zero=True)
    wv = kd.wgrad_variant(wp.shape[3], L, k * C)
    kd.weight_grad(xh, 0, 2, k, k, s, s, p, p, Ho, Wo, G, dwp, xpad, tf, wv)     # two calls, as two chunks
    kd.weight_grad(xh, 2, N, k, k, s, s, p, p, Ho, Wo, G, dwp, xpad, tf, wv)
    assert rel(kd.unpack_weight_grad(dwp, Wt.shape), dW_ref) <= TOL[dtype]
    db = np.zeros(O, dtype)
    kd.bias_grad(G, 0, N * Ho * Wo, db)
    assert rel(db, db_ref) <= TOL[dtype]
    dx = kd.alloc((N, H, W, C), dtype)
    gpad = kd.alloc(((Ho + 2 * k + 2) * (Wo + 2 * k + 2) * O,), dtype, zero=True)
    variant = kd.conv_variant(wq.shape[3], L, W)
    kd.input_grad(G, 0, N, k, k, s, s, p, p, Ho, Wo, wq, dx, gpad, variant, 0)
    assert rel(dx.transpose(0, 3, 1, 2), dx_ref) <= TOL[dtype]
    init = rng.standard_normal(dx.shape).astype(dtype)
    dx[...] = init
    kd.input_grad(G, 0, N, k, k, s, s, p, p, Ho, Wo, wq, dx, gpad, variant, 1)
    assert rel(dx.transpose(0, 3, 1, 2), dx_ref + init.transpose(0, 3, 1, 2)) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stride", [1, 2])
def test_a_convolution_reads_its_input_through_batch_norm_and_relu(dtype, stride):
    """conv(max(0, (z - mean) scale + beta)) with the transform applied while padding (forward and
    weight gradient) equals the reference convolution of the transformed input; zeros stay zeros
    in the padding (the transform is not applied to them)."""
    rng = np.random.default_rng(1)
    N, C, O, H, k, p = 3, 16, 32, 9, 3, 1
    z = rng.standard_normal((N, H, H, C)).astype(dtype)
    mean, scale, beta = rng.standard_normal((3, C)).astype(dtype)
    a = np.maximum((z - mean) * scale + beta, 0)
    Wt = rng.standard_normal((O, C, k, k)).astype(dtype)
    y_ref, cache = ref_conv.conv2d_forward(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), Wt, None, (stride,) * 2,
                                           (p, p))
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    _, dW_ref, _ = ref_conv.conv2d_backward(g, cache, Wt, need_dx=False)
    Ho = y_ref.shape[2]
    L = kd.lanes(dtype)
    zh = kd.alloc(z.shape, dtype)
    zh[...] = z
    tf = kd.bn_relu_transform(mean, scale, beta)
    wp = kd.pack_forward(Wt, L)
    xpad = kd.alloc(((H + 2 * p) ** 2 * C,), dtype, zero=True)
    y = kd.alloc((N * Ho * Ho, O), dtype)
    kd.conv_forward(zh, 0, N, k, k, stride, stride, p, p, Ho, Ho, wp, y, xpad, kd.conv_variant(wp.shape[3], L, Ho), tf)
    assert rel(y.reshape(N, Ho, Ho, O).transpose(0, 3, 1, 2), y_ref) <= TOL[dtype]
    G = kd.alloc((N * Ho * Ho, O), dtype)
    G[...] = g.transpose(0, 2, 3, 1).reshape(-1, O)
    dwp = kd.alloc(wp.shape, dtype, zero=True)
    wv = kd.wgrad_variant(wp.shape[3], L, k * C)
    kd.weight_grad(zh, 0, N, k, k, stride, stride, p, p, Ho, Ho, G, dwp, xpad, tf, wv)
    assert rel(kd.unpack_weight_grad(dwp, Wt.shape), dW_ref) <= TOL[dtype]
