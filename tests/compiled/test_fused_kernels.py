"""Each fused step (``_compiled/steps.py`` on the kernels of ``direct.py``, ``simd.py``, ``pool.py``)
against the reference modules it replaces: a one-group Sequential run fused and run module by
module, forward, dL/dx and every parameter gradient, float32 to 1e-5 relative (float64 to 1e-12
in the slow tests: a second dtype is a second compilation). The shapes cover every tile the
drivers choose (16 pixels x 1 vector, 8 x 2, 7 x 2; the four weight-gradient tiles), strides,
padding, no bias, odd sizes under pooling, and channels past one vector."""
import numpy as np
import pytest

from chainrule import losses, nn
from chainrule._compiled import fuse

from fused_helpers import TOL, rel

pytest.importorskip("numba")

#: (C, O, kernel, stride, padding, (H, W), bias)
CONVS = [
    (1, 32, 3, 1, 1, (12, 12), True),      # lenet's first: 1 vector, 4-channel weight-gradient tiles
    (32, 64, 3, 1, 1, (6, 6), True),       # lenet's second: 2 vectors
    (3, 8, 5, 2, 2, (11, 9), False),       # stride 2, no bias: two residue classes for dx
    (5, 20, (3, 2), (2, 1), (0, 1), (9, 14), True),
    (17, 6, 1, 1, 0, (7, 7), True),        # 1 x 1, width 7 (the 7 x 2 tile when channels need 2 vectors)
    (40, 40, 3, 1, 1, (7, 14), True),      # width 7 x 2: the 7-pixel tile
]


def chain(conv, relu, pool, dtype, seed=0):
    C, O, k, s, p, _, bias = conv
    rng = np.random.default_rng(seed)
    mods = [nn.Conv2d(C, O, k, s, p, bias=bias, rng=rng, dtype=dtype)]
    mods += [nn.ReLU()] if relu else []
    mods += [nn.MaxPool2d(2)] if pool else []
    return lambda: nn.Sequential(*mods)


def compare(build, make, x, dtype, need_input_grad=True):
    fused, ref = build(make, True), build(make, False)
    ref.load_state_dict(fused.state_dict())
    y = fused.forward(x)
    assert fused._fused_ran, "the chain did not run fused"
    y_ref = ref.forward(x)
    assert y.shape == y_ref.shape and rel(y, y_ref) <= TOL[dtype]
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx, dx_ref = fused.backward(g, need_input_grad=need_input_grad), ref.backward(g, need_input_grad=need_input_grad)
    if need_input_grad:
        assert dx.shape == x.shape and rel(dx, dx_ref) <= TOL[dtype]
    else:
        assert dx is None and dx_ref is None
    for (name, p), (_, q) in zip(fused.named_parameters(), ref.named_parameters()):
        assert rel(p.grad, q.grad) <= TOL[dtype], name


def images(conv, dtype, n=11, seed=2):
    C, hw = conv[0], conv[5]
    return np.random.default_rng(seed).standard_normal((n, C) + hw).astype(dtype)


@pytest.mark.parametrize("conv", CONVS, ids=[f"conv{i}" for i in range(len(CONVS))])
@pytest.mark.parametrize("tail", ["conv", "relu", "relu+pool"])
def test_a_fused_convolution_matches_the_reference_float32(build, conv, tail):
    make = chain(conv, "relu" in tail, "pool" in tail, np.float32)
    compare(build, make, images(conv, np.float32), np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("conv", CONVS, ids=[f"conv{i}" for i in range(len(CONVS))])
@pytest.mark.parametrize("tail", ["conv", "relu", "relu+pool"])
def test_a_fused_convolution_matches_the_reference_float64(build, conv, tail):
    make = chain(conv, "relu" in tail, "pool" in tail, np.float64)
    compare(build, make, images(conv, np.float64), np.float64)


def test_the_first_layer_gives_no_input_gradient_unless_asked(build):
    make = chain(CONVS[0], True, True, np.float32)
    compare(build, make, images(CONVS[0], np.float32), np.float32, need_input_grad=False)


def test_pooling_keeps_nan_and_ties_as_the_reference(build):
    """NaN wins a window and a tie goes to the first offset, as the reference's comparisons."""
    conv = (2, 3, 1, 1, 0, (6, 5), True)
    make = chain(conv, True, True, np.float32)
    fused, ref = build(make, True), build(make, False)
    ref.load_state_dict(fused.state_dict())
    x = np.round(images(conv, np.float32, n=3), 0)
    x[1, 0, 2, 3] = np.nan
    y, y_ref = fused.forward(x), ref.forward(x)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_ref))
    ok = ~np.isnan(y_ref)
    assert rel(y[ok], y_ref[ok]) <= 1e-5


def test_flatten_and_linear_steps_match_the_reference(build):
    rng = np.random.default_rng(0)
    make = lambda: nn.Sequential(nn.Conv2d(2, 4, 3, rng=rng), nn.ReLU(), nn.Flatten(),   # noqa: E731
                                 nn.Linear(4 * 3 * 4, 7, rng=rng), nn.ReLU(), nn.Linear(7, 5, bias=False, rng=rng))
    x = np.random.default_rng(3).standard_normal((10, 2, 5, 6)).astype(np.float32)
    compare(build, make, x, np.float32)


def test_the_engine_recognises_only_the_chains_it_runs():
    rng = np.random.default_rng(0)
    spec = lambda *mods: [m._fused_spec() for m in mods]   # noqa: E731
    conv, relu, pool = nn.Conv2d(1, 2, 3, rng=rng), nn.ReLU(), nn.MaxPool2d(2)
    assert fuse(spec(conv, relu, pool, nn.Flatten(), nn.Linear(2, 3, rng=rng))) is not None
    assert fuse(spec(conv, pool)) is None                           # pooling without the ReLU before it
    assert fuse(spec(conv, relu, nn.MaxPool2d(3))) is None          # a 3 x 3 window
    assert fuse(spec(conv, nn.Tanh())) is None                      # a layer the engine does not know
    lin = lambda a, b: nn.Linear(a, b, rng=rng)            # noqa: E731
    assert type(fuse(spec(lin(2, 3), relu, lin(3, 2)))).__name__ == "DenseChain"  # an MLP
    assert fuse(spec(lin(2, 3), lin(3, 2))) is None                 # no ReLU: nothing to fuse
    assert fuse(spec(lin(2, 3), relu, lin(4, 2))) is None           # 3 features into 4: the modules say so
    assert fuse(spec(lin(2, 3), nn.Tanh(), lin(3, 2))) is None      # an activation the engine does not know
    assert fuse(spec(lin(2, 3), relu, conv)) is None                # a convolution after a Linear
    assert fuse(spec(conv, relu, nn.Flatten(), nn.Linear(2, 3, rng=rng), nn.Dropout(0.5))) is None


def test_inputs_the_engine_does_not_take_go_to_the_reference_modules(build):
    """Wrong channels, too small, a list, a wider float: the reference modules run and raise their
    own errors (the 13 image bad-input messages stay the layers')."""
    make = chain(CONVS[0], True, True, np.float32)
    net = build(make, True)
    with pytest.raises(ValueError, match="channel"):
        net.forward(np.zeros((2, 3, 12, 12), np.float32))
    assert not net._fused_ran
    with pytest.raises(TypeError, match="float64"):
        net.forward(np.zeros((2, 1, 12, 12), np.float64))
    y = net.forward(np.zeros((2, 1, 12, 12), np.uint8))              # integers are converted, as the layers do
    assert net._fused_ran and y.dtype == np.float32


def test_a_loss_and_an_optimizer_see_the_same_gradients_through_the_public_api(build):
    rng = np.random.default_rng(0)
    from chainrule.architectures import lenet
    make = lambda: lenet(1, 10, 8, rng=0)    # noqa: E731
    fused, ref = build(make, True), build(make, False)
    X = rng.standard_normal((9, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 9)
    for net in (fused, ref):
        L = losses.SoftmaxLogLikelihood()
        L.forward(net.forward(X), y)
        net.backward(L.backward())
    for (name, p), (_, q) in zip(fused.named_parameters(), ref.named_parameters()):
        assert rel(p.grad, q.grad) <= 1e-5, name
