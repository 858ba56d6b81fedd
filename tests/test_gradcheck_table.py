"""Table-driven gradient check: every module (train and eval where they differ), every loss
(each reduction) and every penalty, at several shapes, float64, relative error below 1e-6.

Kinks: ReLU and LeakyReLU use the subgradient of x <= 0 at x = 0; the hinge losses and L1 use 0
at their kinks (margin exactly 0, residual exactly 0, weight exactly 0). The inputs below keep
at least 0.05 away from every kink, far beyond the 1e-6 step of the central differences, so the
numerical derivative never straddles one.
"""
import zlib

import numpy as np
import pytest

from chainrule import losses, nn, regularizers
from chainrule.grad import check_gradients

TOL = 1e-6
F64 = np.float64
BATCHES = [(3, 3), (5, 4), (7, 6)]  # batch norm in training mode is degenerate at N = 2


def seed_of(*key) -> int:
    """A seed fixed by the test's parameters (hash() of strings changes with every process)."""
    return zlib.crc32(repr(key).encode())


def away_from_zero(rng, shape, low=0.1, high=2.0):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def _net(train, rng):
    net = nn.Sequential(
        nn.Linear(4, 6, rng=rng, dtype=F64), nn.BatchNorm1d(6, dtype=F64), nn.Tanh(),
        nn.Dropout(0.3, rng=rng), nn.Linear(6, 3, rng=rng, dtype=F64), nn.Sigmoid(),
    )
    if not train:
        # non-trivial running statistics for eval mode
        for _ in range(3):
            net.forward(rng.standard_normal((8, 4)) * 2 + 1)
        net.eval()
    return net


def _bn_eval(n, rng):
    bn = nn.BatchNorm1d(n, dtype=F64)
    bn.weight.value = rng.uniform(0.5, 2, n)
    bn.bias.value = rng.standard_normal(n)
    for _ in range(4):
        bn.forward(rng.standard_normal((6, n)) * 3 - 1)
    return bn.eval()


# name, factory(n_features, rng) -> module, input maker(shape, rng)
MODULES = [
    ("Linear", lambda d, r: nn.Linear(d, 3, rng=r, dtype=F64), lambda s, r: r.standard_normal(s)),
    ("Linear(bias=False)", lambda d, r: nn.Linear(d, 2, bias=False, rng=r, dtype=F64), lambda s, r: r.standard_normal(s)),
    ("Linear(he)", lambda d, r: nn.Linear(d, 5, rng=r, dtype=F64, init="he"), lambda s, r: r.standard_normal(s)),
    ("Identity", lambda d, r: nn.Identity(), lambda s, r: r.standard_normal(s)),
    ("Sigmoid", lambda d, r: nn.Sigmoid(), lambda s, r: r.standard_normal(s) * 3),
    ("Tanh", lambda d, r: nn.Tanh(), lambda s, r: r.standard_normal(s) * 2),
    ("ReLU", lambda d, r: nn.ReLU(), lambda s, r: away_from_zero(r, s)),
    ("LeakyReLU", lambda d, r: nn.LeakyReLU(0.1), lambda s, r: away_from_zero(r, s)),
    ("Softmax", lambda d, r: nn.Softmax(), lambda s, r: r.standard_normal(s) * 2),
    ("Dropout(train)", lambda d, r: nn.Dropout(0.4, rng=r), lambda s, r: r.standard_normal(s)),
    ("Dropout(eval)", lambda d, r: nn.Dropout(0.4, rng=r).eval(), lambda s, r: r.standard_normal(s)),
    ("BatchNorm1d(train)", lambda d, r: nn.BatchNorm1d(d, dtype=F64), lambda s, r: r.standard_normal(s) * 2 + 1),
    ("BatchNorm1d(eval)", _bn_eval, lambda s, r: r.standard_normal(s)),
]


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


@pytest.mark.parametrize("name,make,inputs", [m for m in MODULES if "BatchNorm1d(train)" not in m[0]],
                         ids=[m[0] for m in MODULES if "BatchNorm1d(train)" not in m[0]])
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


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_deep_network_with_every_layer(train):
    rng = np.random.default_rng(7)
    net = _net(train, rng)
    report = check_gradients(net, rng.standard_normal((6, 4)))
    assert report.max_error < TOL, str(report)
    assert set(report.errors) == {"input", "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"}


# ---- losses ---------------------------------------------------------------------------------------
def _labels(n, c, rng):
    return rng.integers(0, c, size=n)


def _hinge_scores(n, c, rng, margin=1.0):
    """Scores whose margin terms s_j - s_y + margin all keep 0.05 away from 0."""
    y = _labels(n, c, rng)
    s = rng.standard_normal((n, c)) * 2
    for _ in range(1000):
        m = s - s[np.arange(n), y][:, None] + margin
        m[np.arange(n), y] = 1.0
        near = np.abs(m) < 0.05
        if not near.any():
            return s, y
        s[near] += 0.2
    raise RuntimeError("could not draw hinge scores away from the kinks")


def _binary_hinge_data(n, c, rng):
    y = rng.choice([-1.0, 1.0], size=n)
    s = rng.standard_normal(n) * 2
    s = np.where(np.abs(1 - y * s) < 0.05, s + 0.3, s)
    return s, y


def _probs(n, c, rng):
    p = rng.uniform(0.05, 0.95, size=(n, c))
    return p, _labels(n, c, rng)


def _normalised_probs(n, c, rng):
    p = rng.dirichlet(np.full(c, 2.0), size=n) * 0.9 + 0.1 / c
    return p, _labels(n, c, rng)


def _scores(n, c, rng):
    return rng.standard_normal((n, c)) * 3, _labels(n, c, rng)


def _l1_data(n, c, rng):
    y = rng.standard_normal((n, c))
    return y + away_from_zero(rng, (n, c)), y


LOSSES = [
    ("BinaryHinge", lambda r: losses.BinaryHinge(reduction=r), _binary_hinge_data),
    ("BinaryHinge(N,1)", lambda r: losses.BinaryHinge(reduction=r),
     lambda n, c, g: (lambda s, y: (s[:, None], y))(*_binary_hinge_data(n, c, g))),
    ("MulticlassHinge", lambda r: losses.MulticlassHinge(reduction=r), _hinge_scores),
    ("MulticlassHinge(margin=2)", lambda r: losses.MulticlassHinge(2.0, reduction=r),
     lambda n, c, g: _hinge_scores(n, c, g, margin=2.0)),
    ("MulticlassHinge(max)", lambda r: losses.MulticlassHinge(reduction=r, form="max"), _hinge_scores),
    ("MulticlassHinge(/C)", lambda r: losses.MulticlassHinge(reduction=r, divide_by_classes=True), _hinge_scores),
    ("LogLikelihood", lambda r: losses.LogLikelihood(reduction=r), _normalised_probs),
    ("CrossEntropy", lambda r: losses.CrossEntropy(reduction=r), _probs),
    ("CrossEntropy(targets)", lambda r: losses.CrossEntropy(reduction=r),
     lambda n, c, g: (g.uniform(0.05, 0.95, (n, c)), g.uniform(0, 1, (n, c)))),
    ("CrossEntropy(binary)", lambda r: losses.CrossEntropy(reduction=r),
     lambda n, c, g: (g.uniform(0.05, 0.95, n), g.integers(0, 2, n))),
    ("SoftmaxLogLikelihood", lambda r: losses.SoftmaxLogLikelihood(reduction=r), _scores),
    ("SoftmaxCrossEntropy", lambda r: losses.SoftmaxCrossEntropy(reduction=r), _scores),
    ("SigmoidCrossEntropy", lambda r: losses.SigmoidCrossEntropy(reduction=r), _scores),
    ("SigmoidCrossEntropy(binary)", lambda r: losses.SigmoidCrossEntropy(reduction=r),
     lambda n, c, g: (g.standard_normal(n) * 3, g.integers(0, 2, n))),
    ("L1Loss", lambda r: losses.L1Loss(reduction=r), _l1_data),
    ("L1Loss(1-D)", lambda r: losses.L1Loss(reduction=r), lambda n, c, g: (lambda s, y: (s[:, 0], y[:, 0]))(*_l1_data(n, c, g))),
    ("L2Loss", lambda r: losses.L2Loss(reduction=r), lambda n, c, g: (g.standard_normal((n, c)), g.standard_normal((n, c)))),
    ("L2Loss(1-D)", lambda r: losses.L2Loss(reduction=r), lambda n, c, g: (g.standard_normal(n), g.standard_normal(n))),
]


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
PENALTIES = [
    ("L2", lambda: regularizers.L2(0.3)),
    ("L1", lambda: regularizers.L1(0.7)),
    ("ElasticNet", lambda: regularizers.ElasticNet(0.5, beta=0.25)),
]


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
