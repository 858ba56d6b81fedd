"""Numerical stability: huge scores, exact 0/1 probabilities, and dtype preservation."""
import numpy as np
import pytest

from chainrule import grad, losses, nn
from chainrule.losses import prob_floor

BIG = np.array([[1e4, -1e4, 0.0]])

# Limits as t -> infinity of scores t * (1, -1, 0), derived by hand (see the SoftmaxCrossEntropy
# docstring): p -> (1, 0, 0), 1 - p_0 ~ e^-t, and p_a r_k = p_a p_k / (1 - p_k) -> 1 when a is
# the last class and k the dominant one.
SLL_LIMITS = {0: (0.0, [0, 0, 0]), 1: (2e4, [1, -1, 0]), 2: (1e4, [1, 0, -1])}
SCE_LIMITS = {0: (0.0, [0, 0, 0]), 1: (3e4, [2, -1, -1]), 2: (2e4, [2, 0, -2])}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label", [0, 1, 2])
@pytest.mark.parametrize("cls,limits", [(losses.SoftmaxLogLikelihood, SLL_LIMITS),
                                        (losses.SoftmaxCrossEntropy, SCE_LIMITS)],
                         ids=["SoftmaxLogLikelihood", "SoftmaxCrossEntropy"])
def test_huge_scores_give_the_analytic_limit(cls, limits, label, dtype):
    loss = cls()
    value = loss(BIG.astype(dtype), [label])
    g = loss.backward()
    want_value, want_grad = limits[label]
    assert np.isfinite(value) and np.isfinite(g).all()
    assert value.dtype == dtype and g.dtype == dtype
    assert float(value) == pytest.approx(want_value, rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(g[0], want_grad, atol=1e-6)


@pytest.mark.parametrize("label", [0, 1, 2])
def test_softmax_cross_entropy_agrees_with_a_naive_formula_and_tends_to_the_limit(label):
    """At t = 8 the naive float64 formula is accurate (1 - p_0 ~ 3e-4 keeps 12 digits) and the
    fused loss and gradient agree with it; at t = 20 the fused gradient is within e^-20 of the
    hand-derived limit that t = 1e4 returns."""
    def naive(z):
        p = np.exp(z - z.max())
        p /= p.sum()
        return -np.log(p[0, label]) - sum(np.log(1 - p[0, k]) for k in range(3) if k != label)

    loss = losses.SoftmaxCrossEntropy()
    s = 8.0 * np.array([[1.0, -1.0, 0.0]])
    assert float(loss(s, [label])) == pytest.approx(naive(s), rel=1e-12)
    fused = loss.backward()
    # the chain rule through the separate pieces: Softmax, then CrossEntropy on probabilities
    sm, ce = nn.Softmax(), losses.CrossEntropy()
    ce(sm.forward(s), [label])
    np.testing.assert_allclose(fused, sm.backward(ce.backward()), rtol=1e-10, atol=1e-12)
    # and the numerical derivative (step 1e-4: the naive 1 - p_0 is exact to ~3e-13 only)
    np.testing.assert_allclose(fused, grad.numerical_gradient(naive, s, 1e-4), rtol=1e-6, atol=1e-7)
    loss(20.0 * np.array([[1.0, -1.0, 0.0]]), [label])
    np.testing.assert_allclose(loss.backward()[0], SCE_LIMITS[label][1], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_scores_in_batches_and_other_losses(dtype):
    rng = np.random.default_rng(0)
    s = (rng.choice([-1, 1], size=(64, 10)) * rng.uniform(1e3, 1e4, size=(64, 10))).astype(dtype)
    y = rng.integers(0, 10, 64)
    for loss in (losses.SoftmaxLogLikelihood(), losses.SoftmaxCrossEntropy(), losses.SigmoidCrossEntropy(),
                 losses.MulticlassHinge()):
        value = loss(s, y)
        g = loss.backward()
        assert np.isfinite(value) and np.isfinite(g).all(), type(loss).__name__
        assert g.dtype == dtype
    p = nn.Softmax().forward(s)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    sig = nn.Sigmoid()
    out = sig.forward(s)
    assert np.isfinite(out).all() and np.isfinite(sig.backward(np.ones_like(s))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probabilities_with_exact_zero_and_one_never_give_nan(dtype):
    p = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], dtype=dtype)
    y = np.array([0, 0, 2])  # row 0: p_y = 0 (infinite loss); row 1: p_y = 1, others exactly 0
    floor = prob_floor(dtype)
    for loss in (losses.LogLikelihood(reduction="none"), losses.CrossEntropy(reduction="none")):
        values = loss(p, y)
        g = loss.backward()
        assert np.isfinite(values).all() and np.isfinite(g).all(), type(loss).__name__
        assert values.dtype == dtype and g.dtype == dtype
        # the infinite value is clamped at the documented bound -log(prob_floor)
        assert values[0] >= -np.log(floor) * (1 - 1e-6)
    # CrossEntropy: p_j = 1 for j != y also hits log(1 - p_j) = log 0, clamped the same way
    ce = losses.CrossEntropy(reduction="none")
    v = ce(np.array([[0.5, 1.0]], dtype=dtype), [0])
    assert np.isfinite(v).all() and np.isfinite(ce.backward()).all()
    assert float(v[0]) == pytest.approx(-np.log(0.5) - np.log(floor), rel=1e-6)


def test_probability_floor_is_documented_value():
    assert prob_floor(np.float32) == pytest.approx(1.0842e-19, rel=1e-4)
    assert prob_floor(np.float64) == pytest.approx(1.4917e-154, rel=1e-4)
    # 1/p and (1/p)^2 stay finite at the floor
    for dt in (np.float32, np.float64):
        f = dt(prob_floor(dt))
        assert np.isfinite(dt(1) / f) and np.isfinite((dt(1) / f) ** 2)


# ---- float32 in, float32 out ---------------------------------------------------------------------
def _modules32():
    rng = np.random.default_rng(1)
    return [
        nn.Linear(4, 3, rng=rng), nn.Identity(), nn.ReLU(), nn.LeakyReLU(),
        nn.Sigmoid(), nn.Tanh(), nn.Softmax(), nn.Dropout(0.5, rng=rng), nn.Dropout(0.5).eval(),
        nn.BatchNorm1d(4), nn.BatchNorm1d(4).eval(),
        nn.Sequential(nn.Linear(4, 5, rng=rng), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.2, rng=rng),
                      nn.Linear(5, 4, rng=rng)),
    ]


@pytest.mark.parametrize("module", _modules32(), ids=lambda m: repr(m).split("\n")[0])
def test_float32_in_float32_out_modules(module):
    x = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    y = module.forward(x)
    assert y.dtype == np.float32
    module.zero_grad()
    dx = module.backward(np.ones_like(y), need_input_grad=True)
    assert dx.dtype == np.float32
    for name, p in module.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, name
    for name, b in module.named_buffers():
        assert b.dtype in (np.float32, np.int64), name


LOSS_DATA32 = [
    (losses.BinaryHinge(), lambda r: (r.standard_normal(5), r.choice([-1, 1], 5))),
    (losses.MulticlassHinge(), lambda r: (r.standard_normal((5, 3)), r.integers(0, 3, 5))),
    (losses.LogLikelihood(), lambda r: (r.dirichlet([1, 1, 1], 5), r.integers(0, 3, 5))),
    (losses.CrossEntropy(), lambda r: (r.dirichlet([1, 1, 1], 5), r.integers(0, 3, 5))),
    (losses.SoftmaxLogLikelihood(), lambda r: (r.standard_normal((5, 3)), r.integers(0, 3, 5))),
    (losses.SoftmaxCrossEntropy(), lambda r: (r.standard_normal((5, 3)), r.integers(0, 3, 5))),
    (losses.SigmoidCrossEntropy(), lambda r: (r.standard_normal((5, 3)), r.integers(0, 3, 5))),
    (losses.L1Loss(), lambda r: (r.standard_normal((5, 2)), r.standard_normal((5, 2)))),
    (losses.L2Loss(), lambda r: (r.standard_normal((5, 2)), r.standard_normal((5, 2)))),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss,data", LOSS_DATA32, ids=[type(entry[0]).__name__ for entry in LOSS_DATA32])
def test_float32_in_float32_out_losses(loss, data, reduction):
    loss.reduction = reduction
    x, t = data(np.random.default_rng(3))
    x = x.astype(np.float32)
    if isinstance(t, np.ndarray) and t.dtype.kind == "f" and t.ndim == x.ndim:
        t = t.astype(np.float32)
    value = loss(x, t)
    assert np.asarray(value).dtype == np.float32
    assert loss.backward().dtype == np.float32


def test_tiny_losses_keep_their_relative_precision():
    """A confident, correct prediction has a loss like 2e-9; computing log(1 + 2e-9) as the log of
    the rounded sum would keep only 7 of its 16 digits (and spoil gradient checks)."""
    s = np.array([[20.0, 0.0, -3.0]])
    exact_ll = np.log1p(np.exp(-20.0) + np.exp(-23.0))           # logsumexp(s) - s_0
    assert float(losses.SoftmaxLogLikelihood()(s, [0])) == pytest.approx(exact_ll, rel=1e-14)
    p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    exact_ce = exact_ll - np.log1p(-p[0, 1]) - np.log1p(-p[0, 2])
    assert float(losses.SoftmaxCrossEntropy()(s, [0])) == pytest.approx(exact_ce, rel=1e-13)
    q = np.array([[1 - 1e-12, 1e-12]])
    assert float(losses.CrossEntropy()(q, [0])) == pytest.approx(-np.log1p(-1e-12) - np.log1p(-1e-12), rel=1e-10)
