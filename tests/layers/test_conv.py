"""Conv2d: the kernel pair against a loop written from the definition and against float64 central
differences, both patch layouts, evaluation-mode chunks, memory layouts, initialisation, state."""
import numpy as np
import pytest

from chainrule import nn, registry
from chainrule.grad import numerical_gradient, relative_error
from chainrule.layers import _im2col as IC
from chainrule.layers import conv as CV

F64 = np.float64


def reference_conv(x, W, b, stride, padding):
    """y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] xp[n, c, i s + u, j s + v], by loops."""
    (sh, sw), (ph, pw) = stride, padding
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    y = np.zeros((N, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("ncuv,ocuv->no", patch, W) + (0 if b is None else b)
    return y


# in_channels, out_channels, kernel, stride, padding, image (H, W), bias; C < 8 and C >= 8 build
# the patch matrix in its two layouts
GEOMETRIES = [
    (1, 4, (3, 3), (1, 1), (1, 1), (6, 5), True),
    (3, 2, (3, 2), (2, 1), (0, 1), (7, 6), False),
    (2, 3, (1, 1), (2, 2), (0, 0), (5, 5), True),
    (2, 2, (3, 3), (3, 3), (2, 2), (4, 4), True),
    (9, 3, (3, 3), (1, 1), (1, 1), (5, 6), True),
    (10, 4, (2, 3), (2, 1), (1, 0), (6, 5), False),
    (8, 2, (5, 5), (1, 1), (0, 0), (5, 5), True),
    (12, 3, (1, 1), (2, 2), (0, 0), (5, 4), False),
]
IDS = [f"C{g[0]}-k{g[2][0]}x{g[2][1]}-s{g[3][0]}{g[3][1]}-p{g[4][0]}{g[4][1]}" for g in GEOMETRIES]


def _args(geom, rng):
    C, O, k, s, p, hw, bias = geom
    x = rng.standard_normal((3, C) + hw)
    W = rng.standard_normal((O, C) + k)
    b = rng.standard_normal(O) if bias else None
    return x, W, b, s, p


@pytest.mark.parametrize("geom", GEOMETRIES, ids=IDS)
def test_forward_kernel_matches_the_definition(geom):
    x, W, b, s, p = _args(geom, np.random.default_rng(0))
    ref = reference_conv(x, W, b, s, p)
    y, _ = CV.conv2d_forward(x, W, b, s, p)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geom", GEOMETRIES, ids=IDS)
def test_backward_kernel_matches_central_differences(geom):
    rng = np.random.default_rng(1)
    x, W, b, s, p = _args(geom, rng)
    y, cache = CV.conv2d_forward(x, W, b, s, p)
    G = rng.standard_normal(y.shape)
    dx, dW, db = CV.conv2d_backward(G, cache, W)

    def f(xx=x, WW=W, bb=b):
        return float(np.sum(G * CV.conv2d_forward(xx, WW, bb, s, p)[0]))

    assert relative_error(dx, numerical_gradient(lambda v: f(xx=v), x)) < 1e-8
    assert relative_error(dW, numerical_gradient(lambda v: f(WW=v), W)) < 1e-8
    if b is not None:
        assert relative_error(db, numerical_gradient(lambda v: f(bb=v), b)) < 1e-8
    else:
        assert db is None


def test_kernels_never_modify_their_arguments_and_compute_only_what_is_asked():
    rng = np.random.default_rng(2)
    for C in (2, 9):
        x, W, b = rng.standard_normal((2, C, 5, 5)), rng.standard_normal((3, C, 3, 3)), rng.standard_normal(3)
        copies = [a.copy() for a in (x, W, b)]
        y, cache = CV.conv2d_forward(x, W, b, (1, 1), (1, 1))
        g = rng.standard_normal(y.shape)
        g0 = g.copy()
        dx, dW, db = CV.conv2d_backward(g, cache, W, need_dx=False)
        assert dx is None and dW.shape == W.shape and db.shape == (3,)
        for a, c in zip((x, W, b, g), copies + [g0]):
            np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("geom", [GEOMETRIES[0], GEOMETRIES[3], GEOMETRIES[4], GEOMETRIES[5]], ids=str)
def test_patches_are_built_a_few_images_at_a_time_with_the_same_result(monkeypatch, geom):
    """No batch size builds the whole patch matrix: forward and backward go chunk by chunk."""
    rng = np.random.default_rng(3)
    C, O, k, s, p, hw, bias = geom
    x, W = rng.standard_normal((7, C) + hw), rng.standard_normal((O, C) + k)
    b = rng.standard_normal(O) if bias else None
    y, cache = CV.conv2d_forward(x, W, b, s, p)                  # 7 small images: one chunk
    G = rng.standard_normal(y.shape)
    whole = CV.conv2d_backward(G, cache, W)
    built = []
    real = IC.im2col
    per_image = (y.shape[2] * y.shape[3]) * (C * k[0] * k[1] + bias) * 8
    monkeypatch.setattr(IC, "CHUNK_BYTES", 2 * per_image)          # two images' patches at a time
    monkeypatch.setattr(IC, "im2col", lambda xp_, *a, **kw: built.append(xp_.shape[0]) or real(xp_, *a, **kw))
    y2, cache2 = CV.conv2d_forward(x, W, b, s, p)
    np.testing.assert_allclose(y2, y, rtol=1e-13)
    for a, e in zip(CV.conv2d_backward(G, cache2, W), whole):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-13)
    assert built == [2, 2, 2, 1] * 2                             # forward, then backward


def test_output_is_a_channels_last_view_and_any_input_layout_works():
    rng = np.random.default_rng(4)
    conv = nn.Conv2d(3, 5, 3, padding=1, rng=0, dtype=F64)
    x = rng.standard_normal((2, 3, 6, 7))
    y = conv.forward(x)
    assert y.shape == (2, 5, 6, 7) and y.transpose(0, 2, 3, 1).flags.c_contiguous
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv.forward(x_cl), y, rtol=1e-13)
    np.testing.assert_allclose(conv.forward(np.asfortranarray(x)), y, rtol=1e-13)
    g = rng.standard_normal(y.shape)
    dx = conv.backward(g)
    assert dx.shape == x.shape and dx.transpose(0, 2, 3, 1).flags.c_contiguous
    conv.zero_grad()
    conv.forward(x)
    np.testing.assert_allclose(conv.backward(np.ascontiguousarray(g)), dx, rtol=1e-13)


def test_float32_in_float32_out_and_integer_images_are_converted():
    conv = nn.Conv2d(1, 2, 3, rng=0)
    assert conv.weight.dtype == np.float32
    y = conv.forward(np.arange(50, dtype=np.uint8).reshape(2, 1, 5, 5))
    assert y.dtype == np.float32 and y.shape == (2, 2, 3, 3)
    assert conv.backward(np.ones(y.shape, np.float32)).dtype == np.float32


def test_initialisation_follows_pytorch_and_he():
    conv = nn.Conv2d(16, 64, 3, rng=0, dtype=F64)
    bound = 1 / np.sqrt(16 * 9)                       # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), +)
    w = conv.weight.value
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert np.abs(conv.bias.value).max() <= bound
    he = nn.Conv2d(16, 64, 3, rng=0, dtype=F64, init="he")
    assert abs(he.weight.value.std() - np.sqrt(2 / (16 * 9))) < 0.03 * np.sqrt(2 / (16 * 9))
    assert not he.bias.value.any()
    np.testing.assert_array_equal(nn.Conv2d(2, 3, 3, rng=5).weight.value, nn.Conv2d(2, 3, 3, rng=5).weight.value)
    old = he.weight.value.copy()
    he.reset_parameters(rng=1, init="uniform")
    assert he.init == "uniform" and not np.array_equal(he.weight.value, old) and he.bias.value.any()


def test_state_names_shapes_config_and_repr_follow_pytorch():
    conv = nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), bias=False, rng=0)
    assert list(conv.state_dict()) == ["weight"] and conv.weight.shape == (8, 3, 3, 5)
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), bias=False)"
    spec = conv.spec()
    assert registry.state_shapes(spec) == {"weight": (8, 3, 3, 5)}
    twin = registry.build_module(spec)
    twin.load_state_dict(conv.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(twin.forward(x), conv.forward(x))
    assert conv.output_shape((2, 3, 9, 9)) == conv.forward(x).shape == (2, 8, 5, 5)
    assert nn.Conv2d(1, 2, 3).state_dict()["bias"].shape == (2,)
