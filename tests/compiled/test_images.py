"""The compiled image loops (``_compiled/images.py``, numba) against the NumPy kernels, the reference:
max pooling gives the same bits (values, winning offsets, gradients), the convolution's input
gradient by col2im agrees to rounding, and both pass float64 central differences."""
import numpy as np
import pytest

from chainrule.grad import numerical_gradient, relative_error
from chainrule import _compiled, nn
from chainrule._compiled import images as _image_loops
from chainrule.layers import conv, pooling

pytest.importorskip("numba")


@pytest.fixture
def switch():
    """Build modules with the compiled kernels on or off, then restore the setting."""
    before = _compiled.enabled()
    yield lambda flag: _compiled.set_enabled(flag)
    _compiled.set_enabled(before)


def channels_last(x):
    """The (N, C, H, W) view of a contiguous channels-last copy: what a layer's output looks like."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


POOLS = [((2, 2), (2, 2), (8, 6)), ((2, 2), (2, 2), (7, 5)), ((3, 3), (2, 2), (7, 7)), ((2, 3), (1, 2), (5, 7)),
         ((3, 3), (1, 1), (4, 5)), ((1, 1), (1, 1), (3, 3))]


@pytest.mark.parametrize("kernel,stride,hw", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_max_pool_gives_the_numpy_bits_with_ties_nan_and_overlaps(switch, dtype, kernel, stride, hw):
    rng = np.random.default_rng(hw[0] * 10 + kernel[1])
    x = np.round(rng.standard_normal((3, 4) + hw), 1).astype(dtype)   # rounding makes ties
    x[0, 1, 0, 0] = np.nan
    x[2, 3, -1, -1] = np.nan
    x = channels_last(x)
    runs = {}
    assert _image_loops.usable(x.transpose(0, 2, 3, 1))
    for flag in (False, True):
        switch(flag)
        pool = nn.MaxPool2d(kernel, stride)
        forward, backward = pool._forward, pool._backward
        assert (forward is pooling.maxpool2d_forward_compiled) == flag
        y, cache = forward(x, kernel, stride)
        g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        runs[flag] = (y, cache[0], backward(channels_last(g), cache))
    for got, ref in zip(runs[True], runs[False]):
        assert got.dtype == ref.dtype and got.shape == ref.shape and got.strides == ref.strides
        np.testing.assert_array_equal(got, ref)
    assert np.isnan(runs[True][0]).any()


def test_compiled_max_pool_passes_central_differences():
    rng = np.random.default_rng(3)
    x = channels_last(rng.permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7) * 0.05 - 2.0)
    forward, backward = pooling.maxpool2d_forward_compiled, pooling.maxpool2d_backward_compiled
    for kernel, stride in (((2, 2), (2, 2)), ((3, 3), (2, 2))):
        y, cache = forward(x, kernel, stride)
        G = rng.standard_normal(y.shape)
        dx = backward(channels_last(G), cache)
        num = numerical_gradient(lambda v: float(np.sum(G * forward(channels_last(v), kernel, stride)[0])), x)
        assert relative_error(dx, num) < 1e-8


CONVS = [(1, 4, (3, 3), (1, 1), (1, 1), (9, 9)), (9, 5, (3, 3), (1, 1), (1, 1), (8, 7)),
         (9, 5, (3, 2), (2, 1), (0, 1), (8, 7)), (10, 3, (1, 1), (2, 2), (0, 0), (7, 7)),
         (8, 6, (5, 5), (3, 2), (2, 2), (9, 11))]


@pytest.mark.parametrize("C,O,kernel,stride,padding,hw", CONVS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_conv_input_gradient_matches_numpy(switch, monkeypatch, dtype, C, O, kernel, stride, padding, hw):
    monkeypatch.setattr(conv, "GATHER_MIN_CHANNELS", 1)              # the gather for every channel count
    calls = []
    col2im = _image_loops.col2im
    monkeypatch.setattr(_image_loops, "col2im", lambda *a: calls.append(1) or col2im(*a))
    rng = np.random.default_rng(C * O)
    x = channels_last(rng.standard_normal((3, C) + hw).astype(dtype))
    W = rng.standard_normal((O, C) + kernel).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    runs = {}
    for flag in (False, True):
        switch(flag)
        backward = nn.Conv2d(C, O, kernel)._backward_kernel
        y, cache = conv.conv2d_forward(x, W, b, stride, padding)
        g = channels_last(np.random.default_rng(1).standard_normal(y.shape).astype(dtype))
        runs[flag] = (y,) + backward(g, cache, W)
        assert bool(calls) == flag
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for got, ref in zip(runs[True], runs[False]):
        assert got.dtype == ref.dtype and got.strides == ref.strides
        np.testing.assert_allclose(got, ref, **tol)


def test_compiled_conv_input_gradient_passes_central_differences():
    rng = np.random.default_rng(5)
    x = channels_last(rng.standard_normal((2, 3, 6, 5)))
    W, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    y, cache = conv.conv2d_forward(x, W, b, (2, 1), (1, 1))
    G = rng.standard_normal(y.shape)
    dx, _, _ = conv.conv2d_backward_compiled(channels_last(G), cache, W)
    num = numerical_gradient(lambda v: float(np.sum(G * conv.conv2d_forward(v, W, b, (2, 1), (1, 1))[0])), x)
    assert relative_error(dx, num) < 1e-8


def test_the_gather_is_used_from_32_channels_or_with_a_stride(monkeypatch):
    calls = []
    col2im = _image_loops.col2im
    monkeypatch.setattr(_image_loops, "col2im", lambda *a: calls.append(a[0].shape[1]) or col2im(*a))
    rng = np.random.default_rng(7)
    for C, stride, used in ((16, 1, False), (32, 1, True), (16, 2, True)):
        x = channels_last(rng.standard_normal((2, C, 6, 6)).astype(np.float32))
        W = rng.standard_normal((4, C, 3, 3)).astype(np.float32)
        y, cache = conv.conv2d_forward(x, W, None, (stride, stride), (1, 1))
        calls.clear()
        conv.conv2d_backward_compiled(channels_last(np.ones(y.shape, np.float32)), cache, W)
        assert bool(calls) == used, (C, stride)


def test_modules_take_the_kernels_of_the_switch_when_built_and_keep_them(switch, monkeypatch):
    monkeypatch.setattr(_image_loops, "col2im", lambda *a: pytest.fail("a reference kernel ran a compiled loop"))
    monkeypatch.setattr(_image_loops, "maxpool_forward", lambda *a: pytest.fail("a reference kernel ran a loop"))
    switch(True)
    on = (nn.Conv2d(32, 4, 3, padding=1, rng=0), nn.MaxPool2d(2))
    switch(False)
    off = (nn.Conv2d(32, 4, 3, padding=1, rng=0), nn.MaxPool2d(2))
    assert on[0]._backward_kernel is conv.conv2d_backward_compiled and on[1]._forward is pooling.maxpool2d_forward_compiled
    assert off[0]._backward_kernel is conv.conv2d_backward and off[1]._forward is pooling.maxpool2d_forward
    x = channels_last(np.random.default_rng(0).standard_normal((2, 32, 6, 6)).astype(np.float32))
    for module in off:                    # the NumPy path runs no loop (the patched ones would fail)
        y = module(x)
        module.backward(np.ones(y.shape, np.float32), need_input_grad=True)
    with pytest.raises(pytest.fail.Exception):
        on[1](x)


def test_usable_needs_c_contiguous_floats():
    assert _image_loops.usable(np.zeros((2, 2)))
    assert not _image_loops.usable(np.zeros((2, 2)).T[:1])
    assert not _image_loops.usable(np.zeros((2, 2), dtype=np.int64))
