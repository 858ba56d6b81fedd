"""An MLP's chain (Linear [+ ReLU] ...) on the fused engine (``_compiled/dense.py``): the modules'
products on the same arrays, bias + ReLU and the mask in one compiled pass each, so training gives
the reference modules' bits, whatever the dtype, bias or input."""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule._compiled.dense import bias_relu

pytest.importorskip("numba")


def mlp(dtype, bias=True, last_relu=False):
    rng = np.random.default_rng(1)
    mods = [nn.Linear(12, 16, rng=rng, dtype=dtype, bias=bias), nn.ReLU(),
            nn.Linear(16, 8, rng=rng, dtype=dtype), nn.ReLU(), nn.Linear(8, 3, rng=rng, dtype=dtype, bias=bias)]
    return nn.Sequential(*(mods + [nn.ReLU()] if last_relu else mods))


def train(net, X, y, steps=6, accumulate=False):
    loss, opt = losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1, momentum=0.9)
    dxs = []
    for s in range(steps):
        rows = slice(8 * s, 8 * s + 8)
        if not accumulate:
            opt.zero_grad()
        loss.forward(net.forward(X[rows]), y[rows])
        dxs.append(net.backward(loss.backward(), need_input_grad=s % 2 == 0))
        opt.step()
    return dxs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias, last_relu", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_an_mlp_trains_to_the_reference_modules_bits(build, dtype, bias, last_relu, accumulate):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 12)).astype(dtype), rng.integers(0, 3, 48)
    fused, ref = build(lambda: mlp(dtype, bias, last_relu), True), build(lambda: mlp(dtype, bias, last_relu), False)
    dx_f, dx_r = train(fused, X, y, accumulate=accumulate), train(ref, X, y, accumulate=accumulate)
    assert fused._fused_ran and not ref._fused_ran
    assert fused.fused_modules() == {str(i) for i in range(len(fused))}
    for (name, p), q in zip(fused.named_parameters(), ref.parameters()):
        assert np.array_equal(p.value, q.value), name
        assert np.array_equal(p.grad, q.grad), name
    for a, b in zip(dx_f, dx_r):
        assert (a is None and b is None) or np.array_equal(a, b)


def test_integer_rows_are_converted_and_other_inputs_go_to_the_modules(build):
    net = build(lambda: mlp(np.float32), True)
    out = net.forward(np.ones((4, 12), np.uint8))
    assert net._fused_ran and out.dtype == np.float32
    assert net.forward(np.ones(12, np.float32)).shape == (3,) and not net._fused_ran    # one row: the modules
    with pytest.raises(TypeError, match="float64"):
        net.forward(np.ones((4, 12)))                                # a wider float: the layer's own error
    with pytest.raises(ValueError, match=r"Linear\(12, 16\)"):
        net.forward(np.ones((4, 11), np.float32))


def test_evaluation_mode_and_a_large_batch_give_the_reference_scores(build):
    X = np.random.default_rng(3).standard_normal((5000, 12)).astype(np.float32)
    fused, ref = build(lambda: mlp(np.float32), True).eval(), build(lambda: mlp(np.float32), False).eval()
    assert np.array_equal(fused.forward(X), ref.forward(X)) and fused._fused_ran


def test_bias_relu_gives_np_maximums_values_nan_and_signed_zeros_included():
    s = np.array([[-1.0, -0.0, 0.0, np.nan, 2.0, -np.inf, np.inf]], np.float32)
    b = np.array([0.5, 0.0, -0.0, 1.0, -3.0, 1.0, -1.0], np.float32)
    expected = np.maximum(s + b, 0)
    got = s.copy()
    bias_relu(got, b, True)
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(expected))
    got = s.copy()
    bias_relu(got, b, False)
    assert np.array_equal(got, s + b, equal_nan=True)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")          # 5 iterations on purpose
def test_mlp_classifier_fits_the_same_bits_with_the_compiled_kernels_on_and_off(build):
    from chainrule.models import MLPClassifier
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 6)), rng.integers(0, 3, 120)
    fits = [build(lambda: MLPClassifier((10, 7), max_iter=5, batch_size=32, random_state=0, n_threads=1,
                                        tol=0).fit(X, y), flag) for flag in (True, False)]
    assert fits[0].model_._fused_ran and not fits[1].model_._fused_ran
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        assert np.array_equal(a, b)
