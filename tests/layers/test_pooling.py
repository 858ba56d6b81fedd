"""MaxPool2d, AvgPool2d, GlobalAvgPool2d and Flatten: kernels against loops from the definition and
against float64 central differences; PyTorch's conventions (first maximum, floor mode, C-H-W order)."""
import numpy as np
import pytest

from chainrule import nn, registry
from chainrule.grad import numerical_gradient, relative_error
from chainrule.layers import pooling as P
from chainrule.layers import reshape as R

CASES = [((2, 2), (2, 2), (6, 6)), ((2, 2), (2, 2), (7, 5)), ((3, 3), (2, 2), (7, 7)), ((3, 3), (1, 1), (5, 6)),
         ((2, 3), (1, 2), (5, 7)), ((4, 4), (4, 4), (4, 4))]
IDS = [f"k{k[0]}x{k[1]}-s{s[0]}{s[1]}-{h}x{w}" for k, s, (h, w) in CASES]


def reference_pool(x, kernel, stride, reduce):
    (kh, kw), (sh, sw) = kernel, stride
    Ho, Wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    y = np.empty(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = reduce(x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(2, 3))
    return y


def distinct(shape, rng):
    """Values 0.05 apart at least: no ties inside a window, so max pooling is differentiable."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.05 - 2.0


@pytest.mark.parametrize("kernel,stride,hw", CASES, ids=IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_kernels_match_the_definition_and_central_differences(kind, kernel, stride, hw):
    rng = np.random.default_rng(len(IDS) + hw[0])
    x = distinct((2, 3) + hw, rng)
    fwd, bwd, reduce = ((P.maxpool2d_forward, P.maxpool2d_backward, np.max) if kind == "max"
                        else (P.avgpool2d_forward, P.avgpool2d_backward, np.mean))
    y, cache = fwd(x, kernel, stride)
    np.testing.assert_allclose(y, reference_pool(x, kernel, stride, reduce), rtol=1e-13)
    G = rng.standard_normal(y.shape)
    dx = bwd(G, cache)
    num = numerical_gradient(lambda v: float(np.sum(G * fwd(v, kernel, stride)[0])), x)
    assert relative_error(dx, num) < 1e-8
    assert dx.transpose(0, 2, 3, 1).flags.c_contiguous        # the gradient comes back channels-last


def test_max_pool_sends_a_tie_to_the_first_maximum_in_row_major_order_as_pytorch():
    x = np.array([[1.0, 5.0], [5.0, 0.0]]).reshape(1, 1, 2, 2)      # b and c tie: PyTorch picks b
    y, cache = P.maxpool2d_forward(x, (2, 2), (2, 2))
    assert y.item() == 5.0
    np.testing.assert_array_equal(P.maxpool2d_backward(np.ones((1, 1, 1, 1)), cache)[0, 0], [[0, 1], [0, 0]])
    flat = np.full((1, 1, 2, 2), 0.25)
    _, cache = P.maxpool2d_forward(flat, (2, 2), (2, 2))
    np.testing.assert_array_equal(P.maxpool2d_backward(np.ones((1, 1, 1, 1)), cache)[0, 0], [[1, 0], [0, 0]])


def test_max_pool_propagates_nan_as_pytorch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y, _ = P.maxpool2d_forward(x, (2, 2), (2, 2))
    assert np.isnan(y[0, 0, 0, 0]) and np.isfinite(y[0, 0, 1]).all() and y[0, 0, 0, 1] == 7


def test_overlapping_windows_add_their_gradients():
    x = np.arange(9.0).reshape(1, 1, 3, 3)          # the centre (4) is in all four 2 x 2 windows
    _, cache = P.avgpool2d_forward(x, (2, 2), (1, 1))
    dx = P.avgpool2d_backward(np.ones((1, 1, 2, 2)), cache)[0, 0]
    np.testing.assert_allclose(dx, [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    _, cache = P.maxpool2d_forward(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(P.maxpool2d_backward(np.ones((1, 1, 2, 2)), cache)[0, 0],
                                  [[0, 0, 0], [0, 1, 1], [0, 1, 1]])


def test_floor_mode_leaves_the_last_rows_out_and_their_gradient_zero():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    pool = nn.MaxPool2d(2)
    y = pool.forward(x)
    assert y.shape == (1, 2, 2, 2) == pool.output_shape(x.shape)
    dx = pool.backward(np.ones(y.shape))
    assert not dx[:, :, 4, :].any() and not dx[:, :, :, 4].any() and dx.sum() == 8


def test_global_average_pool():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5, 6))
    gap = nn.GlobalAvgPool2d()
    y = gap.forward(x)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3)), rtol=1e-13)
    G = rng.standard_normal((3, 4))
    num = numerical_gradient(lambda v: float(np.sum(G * P.global_avgpool2d_forward(v)[0])), x)
    assert relative_error(gap.backward(G), num) < 1e-8
    assert gap.output_shape((7, 4, 9, 9)) == (7, 4)
    assert gap.forward(x.astype(np.float32)).dtype == np.float32


def test_flatten_uses_pytorch_order_and_gives_the_gradient_in_the_input_layout():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 5))
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)    # what a conv returns
    flat = nn.Flatten()
    for inp in (x, x_cl):
        y = flat.forward(inp)
        np.testing.assert_array_equal(y, x.reshape(2, 60))       # channel, then row, then column
        g = rng.standard_normal((2, 60))
        dx = flat.backward(g)
        np.testing.assert_array_equal(dx, g.reshape(2, 3, 4, 5))
        assert dx.flags.c_contiguous == inp.flags.c_contiguous
    assert flat.output_shape((8, 3, 4, 5)) == (8, 60)
    y, cache = R.flatten_forward(x)
    np.testing.assert_array_equal(R.flatten_backward(y, cache), x)


def test_pool_state_config_and_repr():
    for cls in (nn.MaxPool2d, nn.AvgPool2d):
        pool = cls(3, stride=2)
        assert pool.state_dict() == {} and registry.state_shapes(pool.spec()) == {}
        twin = registry.build_module(pool.spec())
        assert (twin.kernel_size, twin.stride) == ((3, 3), (2, 2))
        assert repr(pool) == f"{cls.__name__}(kernel_size=3, stride=2)"
        assert cls(2).stride == (2, 2)          # stride defaults to the kernel size, as PyTorch
    for cls in (nn.GlobalAvgPool2d, nn.Flatten):
        assert isinstance(registry.build_module(cls().spec()), cls)
