"""Every kernel pair on its own, without a module: the backward kernel's gradients (input and
parameters) against float64 central differences of sum(G * forward(...))."""
import numpy as np
import pytest

from chainrule.grad import numerical_gradient, relative_error
from chainrule.grad_cases import away_from_zero
from chainrule.layers import activations as A
from chainrule.layers import batchnorm as B
from chainrule.layers import dropout as D
from chainrule.layers import linear as L

TOL = 1e-7


def _elementwise(forward, backward, *args):
    """(forward(x) -> y, backward(g, x) -> [dx]) for a kernel pair without parameters."""
    return (lambda x: forward(x, *args)[0],
            lambda g, x: [backward(g, forward(x, *args)[1], *args)])


def _linear(bias=True):
    def fwd(x, W, b=None):
        return L.linear_forward(x, W, b)[0]

    def bwd(g, x, W, b=None):
        dx, dW, db = L.linear_backward(g, L.linear_forward(x, W, b)[1], W, need_db=b is not None)
        return [dx, dW] + ([db] if b is not None else [])
    return fwd, bwd


def _bn_train(x, gamma, beta):
    return B.batchnorm_forward(x, gamma, beta, 1e-5)[0]


def _bn_train_back(g, x, gamma, beta):
    _, cache, _ = B.batchnorm_forward(x, gamma, beta, 1e-5)
    return list(B.batchnorm_backward(g, cache, gamma))


def _bn_eval(mean, var):
    def fwd(x, gamma, beta):
        return B.batchnorm_eval_forward(x, gamma, beta, mean, var, 1e-5)[0]

    def bwd(g, x, gamma, beta):
        _, cache = B.batchnorm_eval_forward(x, gamma, beta, mean, var, 1e-5)
        return list(B.batchnorm_eval_backward(g, cache, gamma))
    return fwd, bwd


MASK = (np.random.default_rng(9).random((5, 4)) > 0.3) / 0.7

# name, (forward, backward), argument makers (rng -> array) in the forward's order
KERNELS = [
    ("linear", _linear(), [lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((3, 4)),
                           lambda r: r.standard_normal(3)]),
    ("linear (column-major W)", _linear(), [lambda r: r.standard_normal((5, 4)),
                                            lambda r: np.asfortranarray(r.standard_normal((3, 4))),
                                            lambda r: r.standard_normal(3)]),
    ("linear (no bias)", _linear(False), [lambda r: r.standard_normal((5, 4)), lambda r: r.standard_normal((2, 4))]),
    ("identity", _elementwise(A.identity_forward, A.identity_backward), [lambda r: r.standard_normal((5, 4))]),
    ("relu", _elementwise(A.relu_forward, A.relu_backward), [lambda r: away_from_zero(r, (5, 4))]),
    ("leaky_relu", _elementwise(A.leaky_relu_forward, A.leaky_relu_backward, 0.2),
     [lambda r: away_from_zero(r, (5, 4))]),
    ("sigmoid", _elementwise(A.sigmoid_forward, A.sigmoid_backward), [lambda r: 3 * r.standard_normal((5, 4))]),
    ("tanh", _elementwise(A.tanh_forward, A.tanh_backward), [lambda r: 2 * r.standard_normal((5, 4))]),
    ("softmax", _elementwise(A.softmax_forward, A.softmax_backward), [lambda r: 2 * r.standard_normal((5, 4))]),
    ("dropout", _elementwise(D.dropout_forward, lambda g, mask, _: D.dropout_backward(g, mask), MASK),
     [lambda r: r.standard_normal((5, 4))]),
    ("dropout (eval)", _elementwise(D.dropout_forward, lambda g, mask, _: D.dropout_backward(g, mask), None),
     [lambda r: r.standard_normal((5, 4))]),
    ("batchnorm (train, N x C)", (_bn_train, _bn_train_back),
     [lambda r: 2 * r.standard_normal((6, 3)) + 1, lambda r: r.uniform(0.5, 2, 3), lambda r: r.standard_normal(3)]),
    ("batchnorm (train, N x C x H x W)", (_bn_train, _bn_train_back),
     [lambda r: 2 * r.standard_normal((3, 2, 3, 2)) + 1, lambda r: r.uniform(0.5, 2, 2), lambda r: r.standard_normal(2)]),
    ("batchnorm (eval)", _bn_eval(np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, 4.0])),
     [lambda r: r.standard_normal((6, 3)), lambda r: r.uniform(0.5, 2, 3), lambda r: r.standard_normal(3)]),
]


@pytest.mark.parametrize("name,pair,makers", KERNELS, ids=[k[0] for k in KERNELS])
def test_kernel_gradients_match_central_differences(name, pair, makers):
    forward, backward = pair
    rng = np.random.default_rng(len(name))
    args = [m(rng) for m in makers]
    G = rng.standard_normal(forward(*args).shape)
    analytic = backward(G, *args)
    assert len(analytic) == len(args)
    for i, a in enumerate(analytic):
        def f(v, i=i):
            return float(np.sum(G * forward(*[v if j == i else arg for j, arg in enumerate(args)])))
        err = relative_error(a, numerical_gradient(f, args[i]))
        assert err < TOL, f"{name}: argument {i} relative error {err:.2e}"


def test_kernels_never_modify_their_arguments():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for fwd, bwd in [(A.relu_forward, A.relu_backward), (A.sigmoid_forward, A.sigmoid_backward),
                     (A.tanh_forward, A.tanh_backward), (A.softmax_forward, A.softmax_backward)]:
        x0, g0 = x.copy(), g.copy()
        y, cache = fwd(x)
        bwd(g, cache)
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(g, g0)


def test_linear_backward_computes_only_what_is_asked():
    rng = np.random.default_rng(1)
    x, W, ds = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    dx, dW, db = L.linear_backward(ds, x, W, need_dx=False, need_db=False)
    assert dx is None and db is None
    np.testing.assert_allclose(dW, ds.T @ x)
    Wf = np.asfortranarray(W)
    assert L.linear_backward(ds, x, Wf)[1].flags.f_contiguous      # dW in W's layout
