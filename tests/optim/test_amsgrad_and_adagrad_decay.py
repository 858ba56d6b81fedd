"""Hand-derived steps of two rules no test pinned (issue 19.7): AMSGrad keeps the running maximum of
v (a planted minimum sent a weight to -5.4e7 in 3 steps, unnoticed), and Adagrad's weight decay
enters the gradient before the accumulator."""
import math

import numpy as np
import pytest

from chainrule import optim
from chainrule.core.parameter import Parameter


def param(w, g):
    p = Parameter(np.array(w, dtype=np.float64))
    p.grad = np.array(g, dtype=np.float64)
    return p


def _adam_by_hand(gs, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False, w=1.0):
    m = v = vmax = 0.0
    for t, g in enumerate(gs, start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        denom = math.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** t) + eps
        w -= lr / (1 - b1 ** t) * m / denom
    return w, vmax


def test_amsgrad_keeps_the_running_maximum_of_v():
    gs = [1.0, 0.01, 0.01]                        # v falls after the first step: the maximum holds it
    p = param([1.0], [gs[0]])
    opt = optim.Adam([p], lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    for g in gs:
        p.grad = np.array([g])
        opt.step()
    w, vmax = _adam_by_hand(gs, b2=0.5, amsgrad=True)
    assert p.value[0] == pytest.approx(w, rel=1e-12)
    np.testing.assert_allclose(opt.state[0]["max_exp_avg_sq"], [vmax], rtol=1e-12)
    assert vmax == pytest.approx(0.5) and opt.state[0]["exp_avg_sq"][0] < vmax / 3
    plain, _ = _adam_by_hand(gs, b2=0.5, amsgrad=False)
    assert abs(w - plain) > 0.01                   # the test tells AMSGrad from Adam


def test_amsgrad_steps_stay_bounded_by_the_learning_rate():
    """|step| <= lr * |m_hat| / (sqrt(v_hat) + eps) stays near lr when v only falls: the planted
    minimum (v_max starting at 0 and staying 0) divides by eps instead."""
    p = param([0.0], [1.0])
    opt = optim.Adam([p], lr=0.01, amsgrad=True)
    for g in [1.0] + [1e-3] * 5:
        p.grad = np.array([g])
        before = p.value[0]
        opt.step()
        assert abs(p.value[0] - before) <= 0.011


def test_adagrad_weight_decay_enters_the_gradient():
    # g' = g + wd w = 0.5 + 0.1 * 2 = 0.7; s = 1 + 0.49 = 1.49; w = 2 - 0.1 * 0.7 / (sqrt(1.49) + eps)
    p = param([2.0], [0.5])
    optim.Adagrad([p], lr=0.1, weight_decay=0.1, initial_accumulator_value=1.0).step()
    assert p.value[0] == pytest.approx(2.0 - 0.1 * 0.7 / (math.sqrt(1.49) + 1e-10), rel=1e-14)
    np.testing.assert_allclose(p.grad, [0.5])      # the gradient itself is not modified


def test_adagrad_weight_decay_over_two_steps():
    # step 1: g' = 0.5 + 0.1 * 2 = 0.7, s = 0.49, w1 = 2 - 0.1 * 0.7 / 0.7 = 1.9
    # step 2: g' = 0.5 + 0.1 * 1.9 = 0.69, s = 0.49 + 0.4761 = 0.9661, w2 = 1.9 - 0.1 * 0.69 / sqrt(0.9661)
    p = param([2.0], [0.5])
    opt = optim.Adagrad([p], lr=0.1, weight_decay=0.1)
    opt.step()
    assert p.value[0] == pytest.approx(2.0 - 0.1 * 0.7 / (0.7 + 1e-10), rel=1e-14)
    p.grad = np.array([0.5])
    opt.step()
    w1 = 2.0 - 0.1 * 0.7 / (0.7 + 1e-10)
    g2 = 0.5 + 0.1 * w1
    assert p.value[0] == pytest.approx(w1 - 0.1 * g2 / (math.sqrt(0.49 + g2 * g2) + 1e-10), rel=1e-14)
    without = param([2.0], [0.5])
    plain = optim.Adagrad([without], lr=0.1)
    plain.step()
    without.grad = np.array([0.5])
    plain.step()
    assert abs(without.value[0] - p.value[0]) > 1e-4         # the values above are good to 1e-14
