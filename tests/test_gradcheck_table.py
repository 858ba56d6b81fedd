"""Table-driven gradient check: every registered layer's own cases (train and eval where they
differ), small networks, every loss (each reduction) and every penalty, at several shapes, float64,
relative error below 1e-6.

Kinks: ReLU and LeakyReLU use the subgradient of x <= 0 at x = 0; the hinge losses and L1 use 0
at their kinks (margin exactly 0, residual exactly 0, weight exactly 0). The inputs below keep
at least 0.05 away from every kink, far beyond the 1e-6 step of the central differences, so the
numerical derivative never straddles one. The cases come from ``chainrule.grad_cases``, the table
that ``chainrule gradcheck`` runs too.
"""
import numpy as np
import pytest

from chainrule import losses, nn, registry
from chainrule.grad import check_gradients
from chainrule.grad_cases import LOSSES, NETWORKS, PENALTIES, away_from_zero, module_cases, seed_of

TOL = 1e-6
F64 = np.float64
BATCHES = [(3, 3), (5, 4), (7, 6)]  # batch norm in training mode is degenerate at N = 2
MODULES = module_cases()


def test_every_registered_layer_declares_its_cases():
    """A layer type without gradient-check cases would pass this file by being absent."""
    for name, cls in registry.LAYERS.items():
        if name != "Sequential":                       # its cases are the networks
            assert vars(cls).get("grad_cases"), f"{name} declares no grad_cases"
    assert len(MODULES) >= len(registry.LAYERS) - 1 + len(NETWORKS)


@pytest.mark.parametrize("shape", BATCHES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name,make,inputs", MODULES, ids=[m[0] for m in MODULES])
def test_module_gradients(name, make, inputs, shape):
    rng = np.random.default_rng(seed_of(name, shape))
    module = make(shape[1], rng)
    x = inputs(shape, rng)
    report = check_gradients(module, x)
    assert report.max_error < TOL, str(report)
    n_params = len(module.parameters())
    assert len(report.errors) == 1 + n_params  # the input and every parameter were checked


_SINGLE = [m for m in MODULES if "(train)" not in m[0]]   # batch norm cannot train on one sample


@pytest.mark.parametrize("name,make,inputs", _SINGLE, ids=[m[0] for m in _SINGLE])
def test_module_gradients_single_sample(name, make, inputs):
    rng = np.random.default_rng(len(name))
    report = check_gradients(make(4, rng), inputs((1, 4), rng))
    assert report.max_error < TOL, str(report)


def test_identically_zero_gradient_counts_as_zero():
    """A bias in front of a training-mode batch norm has gradient 0 (the batch mean is removed)."""
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=F64), nn.BatchNorm1d(4, dtype=F64))
    x = rng.standard_normal((6, 3))
    net.zero_grad()
    net.forward(x)
    net.backward(rng.standard_normal((6, 4)))
    assert np.abs(net[0].bias.grad).max() < 1e-12
    report = check_gradients(net, x)
    assert report.errors["0.bias"] == 0.0 and report.passed, str(report)


# ---- losses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,c", [(1, 2), (4, 3), (6, 10)], ids=lambda v: str(v))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,make,data", LOSSES, ids=[entry[0] for entry in LOSSES])
def test_loss_gradients(name, make, data, reduction, n, c):
    rng = np.random.default_rng(seed_of(name, reduction, n, c))
    x, target = data(n, c, rng)
    report = check_gradients(make(reduction), x, target)
    assert report.max_error < TOL, str(report)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,make,data", LOSSES, ids=[entry[0] for entry in LOSSES])
def test_weighted_loss_gradients(name, make, data, reduction):
    rng = np.random.default_rng(seed_of(name, reduction, "w"))
    x, target = data(5, 3, rng)
    w = rng.uniform(0.2, 3.0, size=5)
    loss = make(reduction)
    base = check_gradients(_Weighted(loss, w), x, target)
    assert base.max_error < TOL, str(base)


class _Weighted(losses.Loss):
    """Wraps a loss so that check_gradients differentiates it with fixed sample weights."""

    def __init__(self, inner, w):
        super().__init__(inner.reduction)
        self.inner, self.w = inner, w

    def forward(self, input, target, sample_weight=None):
        return self.inner.forward(input, target, sample_weight=self.w)

    def backward(self, grad_output=None):
        return self.inner.backward(grad_output)


def test_unit_weights_change_nothing_and_weights_act_like_repetition():
    rng = np.random.default_rng(0)
    s, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    a, b = losses.SoftmaxLogLikelihood(), losses.SoftmaxLogLikelihood()
    assert a(s, y) == b(s, y, sample_weight=np.ones(4))
    np.testing.assert_allclose(a.backward(), b.backward())
    # with 'sum', weight 2 on a sample equals that sample appearing twice; 'mean' is 1/N sum w L
    rep = losses.SoftmaxLogLikelihood(reduction="sum")
    v_rep = rep(np.vstack([s, s[:1]]), np.append(y, y[0]))
    w = np.array([2.0, 1, 1, 1])
    v_w = losses.SoftmaxLogLikelihood(reduction="sum")(s, y, sample_weight=w)
    assert float(v_w) == pytest.approx(float(v_rep), rel=1e-12)
    per = losses.SoftmaxLogLikelihood(reduction="none")(s, y)
    assert float(b(s, y, sample_weight=w)) == pytest.approx(float((w * per).sum() / 4), rel=1e-12)
    with pytest.raises(ValueError, match=r"sample_weight must be finite and >= 0"):
        b(s, y, sample_weight=np.array([1.0, -1, 1, 1]))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\); got \(3,\)"):
        b(s, y, sample_weight=np.ones(3))


# ---- penalties ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 4), (5,), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name,make", PENALTIES, ids=[p[0] for p in PENALTIES])
def test_penalty_gradients(name, make, shape):
    rng = np.random.default_rng(len(name) * 31 + len(shape))
    W = away_from_zero(rng, shape, 0.05, 1.5)
    report = check_gradients(make(), W)
    assert report.max_error < TOL, str(report)


def test_a_wrong_gradient_is_caught():
    """The check can fail: a Sigmoid whose backward forgets the (1 - y) factor is reported."""

    class BrokenSigmoid(nn.Sigmoid):
        def backward(self, grad_output, *, need_input_grad=True):
            return grad_output * self._cache     # the cache is y: the (1 - y) factor is missing

    report = check_gradients(BrokenSigmoid(), np.random.default_rng(0).standard_normal((3, 4)))
    assert not report.passed
    assert report.max_error > 0.1
