"""Every loss's kernel pair on its own, without the Loss class: ``<loss>_backward(cache)`` (the
per-sample gradients dL_i/d(input)) against float64 central differences of sum_i G_i L_i, and the
one stable softmax that the Softmax layer, the likelihood losses and the estimators share."""
import numpy as np
import pytest

from chainrule.grad import numerical_gradient, relative_error
from chainrule.grad_cases import away_from_zero
from chainrule.layers.activations import softmax
from chainrule.losses import _stable
from chainrule.losses import hinge as H
from chainrule.losses import likelihood as LL
from chainrule.losses import regression as R

TOL = 1e-7
N, C = 5, 4


def _labels(r):
    return r.integers(0, C, N)


def _hinge_scores(r):
    """Scores and labels whose margin terms s_j - s_y + 1 keep 0.05 away from the kink at 0."""
    y, s, rows = _labels(r), r.standard_normal((N, C)) * 2, np.arange(N)
    for _ in range(100):
        m = s - s[rows, y][:, None] + 1
        m[rows, y] = 1
        near = np.abs(m) < 0.05
        if not near.any():
            return s, y
        s[near] += 0.2
    raise RuntimeError("no scores away from the kinks")


def _binary_hinge(r):
    y = r.choice([-1.0, 1.0], N)
    s = r.standard_normal(N) * 2
    return np.where(np.abs(1 - y * s) < 0.05, s + 0.3, s), y


# name, forward, backward, draw(rng) -> (input, target), settings
PAIRS = [
    ("binary_hinge", H.binary_hinge_forward, H.binary_hinge_backward, _binary_hinge, {}),
    ("binary_hinge (N, 1)", H.binary_hinge_forward, H.binary_hinge_backward,
     lambda r: (lambda s, y: (s[:, None], y))(*_binary_hinge(r)), {}),
    ("multiclass_hinge", H.multiclass_hinge_forward, H.multiclass_hinge_backward,
     _hinge_scores, {}),
    ("multiclass_hinge (max, /C)", H.multiclass_hinge_forward, H.multiclass_hinge_backward,
     _hinge_scores, {"form": "max", "divide_by_classes": True}),
    ("log_likelihood", LL.log_likelihood_forward, LL.log_likelihood_backward,
     lambda r: (r.dirichlet(np.full(C, 2.0), N) * 0.9 + 0.1 / C, _labels(r)), {}),
    ("cross_entropy (one-hot)", LL.cross_entropy_forward, LL.cross_entropy_backward,
     lambda r: (r.uniform(0.05, 0.95, (N, C)), np.eye(C)[_labels(r)]), {}),
    ("cross_entropy (targets in [0, 1])", LL.cross_entropy_forward, LL.cross_entropy_backward,
     lambda r: (r.uniform(0.05, 0.95, (N, C)), r.uniform(0, 1, (N, C))), {}),
    ("cross_entropy (one neuron)", LL.cross_entropy_forward, LL.cross_entropy_backward,
     lambda r: (r.uniform(0.05, 0.95, N), r.integers(0, 2, N).astype(float)), {}),
    ("softmax_log_likelihood", LL.softmax_log_likelihood_forward, LL.softmax_log_likelihood_backward,
     lambda r: (r.standard_normal((N, C)) * 3, _labels(r)), {}),
    ("softmax_cross_entropy", LL.softmax_cross_entropy_forward, LL.softmax_cross_entropy_backward,
     lambda r: (r.standard_normal((N, C)) * 3, _labels(r)), {}),
    ("sigmoid_cross_entropy", LL.sigmoid_cross_entropy_forward, LL.sigmoid_cross_entropy_backward,
     lambda r: (r.standard_normal((N, C)) * 3, r.uniform(0, 1, (N, C))), {}),
    ("sigmoid_cross_entropy (one neuron)", LL.sigmoid_cross_entropy_forward, LL.sigmoid_cross_entropy_backward,
     lambda r: (r.standard_normal(N) * 3, r.integers(0, 2, N).astype(float)), {}),
    ("l1", R.l1_forward, R.l1_backward,
     lambda r: (lambda y: (y + away_from_zero(r, (N, C)), y))(r.standard_normal((N, C))), {}),
    ("l2", R.l2_forward, R.l2_backward, lambda r: (r.standard_normal((N, C)), r.standard_normal((N, C))), {}),
    ("l2 (1-D)", R.l2_forward, R.l2_backward, lambda r: (r.standard_normal(N), r.standard_normal(N)), {}),
    ("half_squared_error", R.half_squared_error_forward, R.half_squared_error_backward,
     lambda r: (r.standard_normal((N, C)), r.standard_normal((N, C))), {}),
    ("half_poisson_deviance", R.half_poisson_deviance_forward, R.half_poisson_deviance_backward,
     lambda r: (r.standard_normal((N, C)), r.poisson(2.0, (N, C)).astype(float)), {}),
]


@pytest.mark.parametrize("name,forward,backward,draw,settings", PAIRS, ids=[p[0] for p in PAIRS])
def test_loss_kernel_gradients_match_central_differences(name, forward, backward, draw, settings):
    rng = np.random.default_rng(len(name))
    x, t = draw(rng)
    losses, cache = forward(x, t, **settings)
    assert losses.shape == (x.shape[0],)
    G = rng.standard_normal(x.shape[0])                 # dJ/dL_i: one weight per sample's loss
    analytic = backward(cache) * G.reshape((-1,) + (1,) * (x.ndim - 1))
    assert analytic.shape == x.shape and analytic.dtype == x.dtype
    numeric = numerical_gradient(lambda v: float(G @ forward(v, t, **settings)[0]), x)
    assert relative_error(analytic, numeric) < TOL


@pytest.mark.parametrize("name,forward,backward,draw,settings", PAIRS, ids=[p[0] for p in PAIRS])
def test_loss_kernels_leave_their_arguments_alone_and_keep_float32(name, forward, backward, draw, settings):
    rng = np.random.default_rng(1)
    x, t = draw(rng)
    x = x.astype(np.float32)
    t = t.astype(np.float32) if t.dtype.kind == "f" else t
    x0, t0 = x.copy(), t.copy()
    losses, cache = forward(x, t, **settings)
    g = backward(cache)
    g[...] = 7                                          # the Loss class scales the result in place
    again = backward(cache)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)
    assert losses.dtype == np.float32 and again.dtype == np.float32
    assert not np.shares_memory(g, again) and not (again == 7).all()


# ---- the one stable softmax ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_softmax_plain_and_precise_agree_and_never_overflow(dtype):
    s = (np.random.default_rng(0).standard_normal((6, 5)) * 3).astype(dtype)
    s[0] = [1e4, -1e4, 0, 3, 2]
    p, logp = softmax(s, log=True)
    q, logq = softmax(s, log=True, precise=True)
    assert p.dtype == logp.dtype == dtype and np.isfinite(logp[1:]).all()
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=rtol)
    np.testing.assert_allclose(logp[1:], logq[1:], rtol=rtol)
    np.testing.assert_array_equal(softmax(s), p)                     # p alone is the same p
    np.testing.assert_allclose(_stable.logsumexp(s[1:]), (s - logp)[1:, 0], rtol=rtol)


def test_precise_softmax_keeps_the_digits_of_a_tiny_loss_and_works_on_any_shape():
    s = np.array([[25.0, 0.0, -3.0]])
    exact = np.log1p(np.exp(-25.0) + np.exp(-28.0))                  # -log p_0, about 1.4e-11
    assert -softmax(s, log=True, precise=True)[1][0, 0] == pytest.approx(exact, rel=1e-15, abs=0)
    assert -softmax(s, log=True)[1][0, 0] != pytest.approx(exact, rel=1e-6, abs=0)   # the plain log loses them
    cube = np.random.default_rng(2).standard_normal((2, 3, 4))
    np.testing.assert_allclose(softmax(cube, precise=True), softmax(cube), rtol=1e-14)
    np.testing.assert_allclose(softmax(cube[0, 0], precise=True), softmax(cube[0, 0]), rtol=1e-14)


def test_log_one_minus_softmax_from_the_other_scores():
    """1 - p_max = e^-20000 keeps its logarithm; elsewhere log1p(-p)."""
    s = np.array([[2e4, 0.0, -1.0], [0.1, 0.2, 0.3]])
    p, logp = softmax(s, log=True, precise=True)
    out = _stable.log1m_softmax(s, p, logp)
    assert out[0, 0] == pytest.approx(-2e4 + np.log1p(np.exp(-1.0)), rel=1e-12)
    np.testing.assert_allclose(out[1], np.log1p(-p[1]), rtol=1e-14)
