"""The prototype's compiled kernels against chainrule's NumPy reference kernels (float64 to 1e-12
relative, float32 to 1e-5): patches, col2im, batch norm forward and backward with the masks,
the residual tail, max pooling with the ReLU, global average pooling.

    .venv/bin/python -m pytest benchmarks/proto21 -q -p no:cacheprovider
"""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.layers import _im2col as ref_ic
from chainrule.layers import activations as ref_act
from chainrule.layers import batchnorm as ref_bn
from chainrule.layers import conv as ref_conv
from chainrule.layers import pooling as ref_pool
from proto21 import k_conv, k_norm, k_pool

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


def close(ours, ref, dtype):
    """Largest difference relative to the reference's largest magnitude, within the dtype's tolerance."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    scale = max(np.abs(ref).max(), 1e-300)
    err = np.abs(ours - ref).max() / scale
    assert err <= TOL[dtype], f"relative error {err:.2e} > {TOL[dtype]:.0e}"


GEOMETRIES = [  # C, O, H, W, k, stride, padding
    (1, 32, 28, 28, 3, 1, 1), (3, 16, 32, 32, 3, 1, 1), (16, 16, 12, 12, 3, 1, 1), (16, 32, 12, 12, 3, 2, 1),
    (16, 32, 12, 12, 1, 2, 0), (8, 12, 11, 9, 5, 1, 2), (8, 12, 11, 9, 5, 2, 0), (4, 6, 7, 7, 3, 1, 0),
]


@pytest.mark.parametrize("geo", GEOMETRIES)
@pytest.mark.parametrize("ones", [False, True])
def test_im2col_is_the_references_patch_matrix(geo, ones):
    C, O, H, W, k, s, p = geo
    x = np.random.default_rng(0).standard_normal((5, H, W, C))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    ref = ref_ic.im2col(ref_ic.padded(x[1:4], (p, p)), (k, k), (s, s), (Ho, Wo), ones=ones)
    cols = np.full((3 * Ho * Wo, k * k * C + ones), np.nan)
    k_conv.im2col(x, 1, 4, k, k, s, s, p, p, Ho, Wo, cols, ones)
    np.testing.assert_array_equal(cols, ref)


@pytest.mark.parametrize("geo", GEOMETRIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_products_and_col2im_match_the_reference_kernels(geo, dtype):
    """Y = X_col W_col (+ b), dW_col = X_col^T G, dx = col2im(G W_col^T) against conv2d_forward/backward."""
    C, O, H, W, k, s, p = geo
    rng = np.random.default_rng(1)
    N = 3
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((O, C, k, k)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    y_ref, cache = ref_conv.conv2d_forward(x, Wt, b, (s, s), (p, p))
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    dx_ref, dW_ref, db_ref = ref_conv.conv2d_backward(g, cache, Wt)
    Ho, Wo = y_ref.shape[2:]
    xh = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    cols = np.empty((N * Ho * Wo, k * k * C + 1), dtype)
    k_conv.im2col(xh, 0, N, k, k, s, s, p, p, Ho, Wo, cols, True)
    Wc = k_conv.weight_matrix(Wt, b)
    y = cols @ Wc
    close(y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2), y_ref, dtype)
    G = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, O)
    dW, db = k_conv.weight_grad_to_oihw(cols.T @ G, Wt.shape)
    close(dW, dW_ref, dtype)
    close(db, db_ref, dtype)
    dcols = G @ np.ascontiguousarray(Wc[:-1].T)
    dx = np.empty((N, H, W, C), dtype)
    init = rng.standard_normal((N, H, W, C)).astype(dtype)
    k_conv.col2im(dcols, 0, N, k, k, s, s, p, p, Ho, Wo, dx, dx, False)
    close(dx.transpose(0, 3, 1, 2), dx_ref, dtype)
    k_conv.col2im(dcols, 0, N, k, k, s, s, p, p, Ho, Wo, dx, init, True)
    close(dx.transpose(0, 3, 1, 2), dx_ref + init.transpose(0, 3, 1, 2), dtype)


def _bn_case(dtype, N=4, H=5, W=6, C=7, shift=3.0):
    rng = np.random.default_rng(2)
    z = (rng.standard_normal((N, C, H, W)) * rng.uniform(0.5, 2, (1, C, 1, 1)) + shift).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, C).astype(dtype)
    beta = rng.standard_normal(C).astype(dtype)
    return rng, z, gamma, beta


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_statistics_merged_per_image_equal_the_references(dtype):
    rng, z, gamma, beta = _bn_case(dtype, shift=50.0)      # a large mean: no cancellation allowed
    N, C, H, W = z.shape
    rows = np.ascontiguousarray(z.transpose(0, 2, 3, 1)).reshape(-1, C)
    means, m2s = np.empty((N, C)), np.empty((N, C))
    k_norm.image_stats(rows[:2 * H * W], H * W, means, m2s, 0)     # two workers' calls
    k_norm.image_stats(rows[2 * H * W:], H * W, means, m2s, 2)
    mean, var, inv_std = k_norm.finish_stats(means, m2s, H * W, 1e-5, dtype)
    z64 = z.astype(np.float64)
    close(mean, z64.mean(axis=(0, 2, 3)), dtype)
    close(var, z64.var(axis=(0, 2, 3)), dtype)
    y_ref, _, _ = ref_bn.batchnorm_forward(z, gamma, beta, dtype(1e-5))
    y = np.empty_like(rows)
    k_norm.bn_apply(rows, mean, gamma * inv_std, beta, False, y)
    close(y.reshape(N, H, W, C).transpose(0, 3, 1, 2), y_ref, dtype)
    k_norm.bn_apply(rows, mean, gamma * inv_std, beta, True, y)
    close(y.reshape(N, H, W, C).transpose(0, 3, 1, 2), np.maximum(y_ref, 0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", [k_norm.MASK_NONE, k_norm.MASK_RELU, k_norm.MASK_SAMPLE, k_norm.MASK_BN_RELU])
def test_batchnorm_backward_with_each_mask_equals_the_reference(dtype, mode):
    """dz, dgamma, dbeta for gy = g, g (relu(y) > 0) or g b[n], against batchnorm_backward."""
    rng, z, gamma, beta = _bn_case(dtype)
    N, C, H, W = z.shape
    hw = H * W
    y_ref, cache, _ = ref_bn.batchnorm_forward(z, gamma, beta, dtype(1e-5))
    g = rng.standard_normal(z.shape).astype(dtype)
    b = np.array([0, 2, 2, 0], dtype)
    if mode in (k_norm.MASK_RELU, k_norm.MASK_BN_RELU):         # the mask from the output, or recomputed
        a_ref, mask = ref_act.relu_forward(y_ref)
        gy = ref_act.relu_backward(g, mask)
    elif mode == k_norm.MASK_SAMPLE:
        gy = g * b[:, None, None, None]
    else:
        gy = g
    dz_ref, dgamma_ref, dbeta_ref = ref_bn.batchnorm_backward(gy, cache, gamma)
    to_rows = lambda t: np.ascontiguousarray(t.transpose(0, 2, 3, 1)).reshape(-1, C)  # noqa: E731
    rows_z, rows_g = to_rows(z), to_rows(g)
    a = to_rows(np.maximum(y_ref, 0))
    means, m2s = np.empty((N, C)), np.empty((N, C))
    k_norm.image_stats(rows_z, hw, means, m2s, 0)
    mean, var, inv_std = k_norm.finish_stats(means, m2s, hw, 1e-5, dtype)
    sum_g, sum_gx = np.empty((N, C)), np.empty((N, C))
    k_norm.bwd_sums(rows_g, a, b, mode, rows_z, mean, inv_std, hw, sum_g, sum_gx, 0, gamma * inv_std, beta)
    tot_g, tot_gx = sum_g.sum(0), sum_gx.sum(0)
    close(tot_g, dbeta_ref, dtype)
    close(tot_gx, dgamma_ref, dtype)
    m = N * hw
    coef = (gamma * inv_std / m).astype(dtype)
    dz = np.empty_like(rows_z)
    k_norm.bwd_apply(rows_g, a, b, mode, rows_z, mean, inv_std, coef, tot_g.astype(dtype), tot_gx.astype(dtype),
                     dtype(m), hw, dz, gamma * inv_std, beta)
    close(dz.reshape(N, H, W, C).transpose(0, 3, 1, 2), dz_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("projection", [False, True])
def test_residual_tail_is_relu_of_shortcut_plus_factor_times_batchnorm(dtype, projection):
    rng = np.random.default_rng(3)
    N, hw, C = 3, 10, 5
    z, s = (rng.standard_normal((2, N * hw, C)) + 1).astype(dtype)
    mean, scale, beta, smean, sscale, sbeta = rng.standard_normal((6, C)).astype(dtype)
    b = np.array([0, 1, 1.25], dtype)
    out = np.empty_like(z)
    k_norm.residual_tail(z, mean, scale, beta, s, projection, smean, sscale, sbeta, b, hw, out)
    S = (s - smean) * sscale + sbeta if projection else s
    ref = np.maximum(S + np.repeat(b, hw)[:, None] * ((z - mean) * scale + beta), 0)
    close(out, ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", [(8, 6), (7, 9)])
def test_fused_relu_maxpool_equals_relu_then_maxpool(dtype, hw):
    """Forward values and the gradient, with ties (rounded inputs) and negative windows."""
    H, W = hw
    rng = np.random.default_rng(4)
    N, C = 3, 5
    z = np.round(rng.standard_normal((N, C, H, W)) * 2).astype(dtype)      # many ties, many <= 0
    a, mask = ref_act.relu_forward(z)
    y_ref, pcache = ref_pool.maxpool2d_forward(a, (2, 2), (2, 2))
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    dz_ref = ref_act.relu_backward(ref_pool.maxpool2d_backward(g, pcache), mask)
    rows = np.ascontiguousarray(z.transpose(0, 2, 3, 1)).reshape(-1, C)
    y = np.empty((N, H // 2, W // 2, C), dtype)
    arg = np.empty(y.shape, np.uint8)
    k_pool.pool2_relu_fwd(rows, N, H, W, np.zeros(C, dtype), y, arg, 0)
    np.testing.assert_array_equal(y.transpose(0, 3, 1, 2), y_ref)
    dz = np.full_like(rows, np.nan)
    k_pool.pool2_relu_bwd(np.ascontiguousarray(g.transpose(0, 2, 3, 1)), y, arg, 0, N, H, W, dz)
    np.testing.assert_array_equal(dz.reshape(N, H, W, C).transpose(0, 3, 1, 2), dz_ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_average_pooling_forward_and_backward(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6, 5, 3)).astype(dtype)             # (N, C, H, W)
    y_ref, shape = ref_pool.global_avgpool2d_forward(x)
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    dx_ref = ref_pool.global_avgpool2d_backward(g, shape)
    rows = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, 6)
    y = np.empty((4, 6), dtype)
    k_pool.gap_fwd(rows, 15, y, 0)
    close(y, y_ref, dtype)
    dx = np.empty_like(rows)
    k_pool.gap_bwd(g, 15, 0, dx)
    close(dx.reshape(4, 5, 3, 6).transpose(0, 3, 1, 2), dx_ref, dtype)
