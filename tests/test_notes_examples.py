"""The lecture notes' worked examples, computed by the library (natural log throughout)."""
import math

import numpy as np
import pytest

from chainrule import grad, losses, nn

# Rows are the notes' three training images (cat, car, frog); columns the class scores.
SCORES = np.array([[3.2, 5.1, -1.7],
                   [1.3, 4.9, 2.0],
                   [2.2, 2.5, -3.1]])
LABELS = np.array([0, 1, 2])  # cat, car, frog

P_NOTES = np.array([0.1, 0.7, 0, 0, 0, 0, 0, 0, 0, 0.2])


def test_hinge_table_per_example_and_mean():
    per = losses.MulticlassHinge(reduction="none")(SCORES, LABELS)
    np.testing.assert_allclose(per, [2.9, 0.0, 12.9], atol=1e-12)
    mean = losses.MulticlassHinge()(SCORES, LABELS)
    assert round(float(mean), 4) == 5.2667
    assert float(losses.MulticlassHinge(reduction="sum")(SCORES, LABELS)) == pytest.approx(15.8)


def test_hinge_each_max_term_of_the_notes():
    loss = losses.MulticlassHinge(reduction="none")

    def term(i, j):
        """max(0, s_j - s_y + 1) of image i, computed by the library: its loss on classes {y_i, j}."""
        return float(loss(SCORES[i:i + 1, [LABELS[i], j]], [0])[0])

    # cat: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0
    assert term(0, 1) == pytest.approx(2.9) and term(0, 2) == 0.0
    # frog: max(0, 2.2 - (-3.1) + 1) + max(0, 2.5 - (-3.1) + 1) = 6.3 + 6.6
    assert term(2, 0) == pytest.approx(6.3) and term(2, 1) == pytest.approx(6.6)
    assert loss(SCORES[2:], [2])[0] == pytest.approx(6.3 + 6.6)
    # only the active term (car) counts in the cat's gradient: d/ds = (-1, +1, 0)
    total = losses.MulticlassHinge(reduction="sum")
    total(SCORES[:1], [0])
    np.testing.assert_array_equal(total.backward()[0], [-1.0, 1.0, 0.0])


def test_doubling_the_car_scores_still_gives_zero():
    loss = losses.MulticlassHinge(reduction="none")
    assert loss(SCORES[1:2], [1])[0] == 0.0
    assert loss(2 * SCORES[1:2], [1])[0] == 0.0


def test_softmax_probabilities_two_decimals():
    p = nn.Softmax().forward(SCORES[:1])[0]
    np.testing.assert_array_equal(np.round(p, 2), [0.13, 0.87, 0.00])
    # the notes' unnormalised probabilities e^s = 24.5, 164.0, 0.18, divided by their sum
    np.testing.assert_allclose(p, np.array([24.5, 164.0, 0.18]) / (24.5 + 164.0 + 0.18), atol=2e-4)


def _digits(value, printed):
    """The issue prints these values cut to four decimals (2.040355 -> 2.0403), not rounded."""
    return printed <= float(value) < printed + 1e-4


def test_softmax_log_likelihood_for_cat_is_natural_log():
    value = losses.SoftmaxLogLikelihood()(SCORES[:1], [0])
    assert _digits(value, 2.0403)
    exact = math.log(sum(math.exp(v) for v in SCORES[0])) - SCORES[0, 0]
    assert float(value) == pytest.approx(exact, rel=1e-15)
    # the notes print 0.89: the base-10 logarithm of the same probability
    p_cat = nn.Softmax().forward(SCORES[:1])[0, 0]
    assert round(-math.log10(p_cat), 2) == 0.89


def test_softmax_cross_entropy_for_cat():
    value = losses.SoftmaxCrossEntropy()(SCORES[:1], [0])
    assert _digits(value, 4.0742)
    # and equals CrossEntropy applied to the softmax probabilities
    p = nn.Softmax().forward(SCORES[:1])
    assert float(losses.CrossEntropy()(p, [0])) == pytest.approx(float(value), rel=1e-12)


def test_log_likelihood_value_and_gradient():
    loss = losses.LogLikelihood()
    value = loss(P_NOTES[None, :], [1])
    assert float(value) == pytest.approx(-math.log(0.7), rel=1e-15)
    g = loss.backward()[0]
    expected = np.zeros(10)
    expected[1] = -1 / 0.7
    np.testing.assert_allclose(g, expected, rtol=1e-15)


def test_cross_entropy_value_and_signed_gradient():
    loss = losses.CrossEntropy()
    value = loss(P_NOTES[None, :], [1])
    assert float(value) == pytest.approx(-math.log(0.9) - math.log(0.7) - math.log(0.8), rel=1e-14)
    g = loss.backward()[0]
    expected = 1 / (1 - P_NOTES)          # +1/(1 - p_j) for j != y (the notes drop this sign)
    expected[1] = -1 / 0.7                # -1/p_y at the label
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    # the sign is the one the numerical derivative confirms
    num = grad.numerical_gradient(lambda p: loss(np.clip(p, 0, 1)[None, :], [1]),
                                  np.where(P_NOTES == 0, 0.3, P_NOTES))
    ana = loss.forward(np.where(P_NOTES == 0, 0.3, P_NOTES)[None, :], [1]) and loss.backward()[0]
    np.testing.assert_allclose(ana, num, rtol=1e-7)
    assert ana[0] > 0


def test_l1_regression_example():
    y = np.zeros(10)
    y[1] = 1
    assert float(losses.L1Loss()(P_NOTES[None, :], y[None, :])) == pytest.approx(0.6, abs=1e-15)


def test_jacobian_example():
    def f(x):
        return np.array([2 * x[0] + x[1] ** 2, -x[0] ** 2 + 3 * x[1], 4 * x[0] * x[1]])

    J = grad.jacobian(f, [2.0, 1.0])
    np.testing.assert_allclose(J, [[2, 2], [-4, 3], [4, 8]], atol=1e-8)


def _six_hump(x):
    x1, x2 = x
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def _six_hump_grad(x):
    x1, x2 = x
    return np.array([2 * x1**5 - 8.4 * x1**3 + 8 * x1 + x2, 16 * x2**3 - 8 * x2 + x1])


def test_hessian_example():
    H = grad.hessian(_six_hump, [0.0, 1.0])
    np.testing.assert_allclose(H, [[8, 1], [1, 40]], atol=1e-5)
    # the same Hessian as the Jacobian of the analytic gradient
    np.testing.assert_allclose(grad.hessian(_six_hump, [0.0, 1.0], grad=_six_hump_grad),
                               [[8, 1], [1, 40]], atol=1e-7)


@pytest.mark.parametrize("point", [(0.0, 1.0), (1.3, -0.7), (-2.0, 0.5)])
def test_gradient_formula_of_the_notes(point):
    np.testing.assert_allclose(grad.numerical_gradient(_six_hump, point), _six_hump_grad(np.array(point)),
                               rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("x", [-1.5, -0.3, 0.0, 0.7, 2.0])
def test_chain_rule_example(x):
    def h(t):
        return 2 * t**2 - 1

    def g(u):
        return 3 * u**2 - 2 * u + 5

    expected = 48 * x**3 - 32 * x
    # f'(x) numerically, and as g'(h(x)) h'(x) from the two pieces
    assert grad.derivative(lambda t: g(h(t)), x) == pytest.approx(expected, abs=1e-6)
    chained = grad.derivative(g, h(x)) * grad.derivative(h, x)
    assert chained == pytest.approx(expected, abs=1e-6)


def test_sigmoid_derivative_is_sigma_one_minus_sigma():
    x = np.linspace(-6, 6, 25)
    sig = nn.Sigmoid()
    y = sig.forward(x)
    np.testing.assert_allclose(sig.backward(np.ones_like(x)), y * (1 - y), rtol=1e-15)
    num = np.array([grad.derivative(lambda t: 1 / (1 + math.exp(-t)), t) for t in x])
    np.testing.assert_allclose(y * (1 - y), num, rtol=1e-7, atol=1e-9)


def test_softmax_jacobian_is_p_delta_minus_p():
    s = SCORES[0]
    J = grad.jacobian(lambda z: nn.Softmax().forward(z), s)
    p = nn.Softmax().forward(s)
    D = np.diag(p) - np.outer(p, p)        # D_ab = p_a (delta_ab - p_b)
    np.testing.assert_allclose(J, D, atol=1e-9)
    # and the module's backward is the vector-Jacobian product with D
    sm = nn.Softmax()
    sm.forward(s[None, :])
    g = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(sm.backward(g[None, :])[0], g @ D, rtol=1e-12)


def test_linear_layer_backprop_matches_the_notes():
    # dL/dW = dL/ds x^T, dL/db = dL/ds, dL/dx = W^T dL/ds for one image x
    layer = nn.Linear(4, 3, rng=0, dtype=np.float64)
    x = np.array([56.0, 231.0, 24.0, 2.0])      # the notes' 4-pixel image
    ds = np.array([0.5, -1.0, 2.0])
    layer.zero_grad()
    layer.forward(x)
    dx = layer.backward(ds)
    np.testing.assert_allclose(layer.weight.grad, np.outer(ds, x))
    np.testing.assert_allclose(layer.bias.grad, ds)
    np.testing.assert_allclose(dx, layer.weight.value.T @ ds)
