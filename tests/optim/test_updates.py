"""Hand-derived one-step updates of every optimizer, and two steps of Adam."""
import math

import numpy as np
import pytest

from chainrule import optim
from chainrule.core.parameter import Parameter
from chainrule.regularizers import MaxNorm


def param(w, g):
    p = Parameter(np.array(w, dtype=np.float64))
    p.grad = np.array(g, dtype=np.float64)
    return p


def test_plain_sgd_step():
    p = param([1.0, -2.0], [0.5, 0.25])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [1.0 - 0.05, -2.0 - 0.025], rtol=0, atol=1e-15)


def test_momentum_two_steps():
    # v1 = g1 = 0.5; w1 = 1 - 0.1 * 0.5 = 0.95
    # v2 = 0.9 * 0.5 + g2 (= 1.0) = 1.45; w2 = 0.95 - 0.1 * 1.45 = 0.805
    p = param([1.0], [0.5])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    assert p.value[0] == pytest.approx(0.95, abs=1e-15)
    p.grad = np.array([1.0])
    opt.step()
    assert p.value[0] == pytest.approx(0.805, abs=1e-15)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [1.45])


def test_nesterov_two_steps():
    # step 1: v = 0.5, update g + mu v = 0.5 + 0.45 = 0.95 -> w = 1 - 0.095 = 0.905
    # step 2: v = 0.45 + 1.0 = 1.45, update 1.0 + 0.9 * 1.45 = 2.305 -> w = 0.905 - 0.2305 = 0.6745
    p = param([1.0], [0.5])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    opt.step()
    assert p.value[0] == pytest.approx(0.905, abs=1e-15)
    p.grad = np.array([1.0])
    opt.step()
    assert p.value[0] == pytest.approx(0.6745, abs=1e-15)


def test_weight_decay_is_added_to_the_gradient():
    # g' = g + wd w = 0.5 + 0.01 * 2 = 0.52; w = 2 - 0.1 * 0.52 = 1.948
    p = param([2.0], [0.5])
    optim.SGD([p], lr=0.1, weight_decay=0.01).step()
    assert p.value[0] == pytest.approx(1.948, abs=1e-15)
    np.testing.assert_allclose(p.grad, [0.5])  # the gradient itself is not modified
    q = param([2.0], [0.5])
    optim.Adam([q], lr=0.1, weight_decay=0.01).step()
    # Adam's first step moves by lr * sign(g') regardless of the size of g' (bias correction)
    assert q.value[0] == pytest.approx(2.0 - 0.1 * 0.52 / (0.52 + 1e-8), abs=1e-12)


def test_adam_first_step_with_bias_correction():
    # m1 = 0.1 g, v1 = 0.001 g^2; m_hat = g, v_hat = g^2 -> w -= lr * g / (|g| + eps)
    p = param([1.0, 1.0], [0.2, -3.0])
    optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.value, [1 - 0.01 * 0.2 / (0.2 + 1e-8), 1 + 0.01 * 3.0 / (3.0 + 1e-8)], rtol=1e-14)


def test_adam_two_steps_equal_the_formula():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.05
    g1, g2, w = 0.3, -0.7, 1.5
    p = param([w], [g1])
    opt = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    opt.step()
    p.grad = np.array([g2])
    opt.step()
    m, v = 0.0, 0.0
    for t, g in ((1, g1), (2, g2)):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (math.sqrt(v_hat) + eps)
    assert p.value[0] == pytest.approx(w, rel=1e-14)
    assert opt.state[0]["exp_avg"][0] == pytest.approx(m, rel=1e-14)
    assert opt.state[0]["exp_avg_sq"][0] == pytest.approx(v, rel=1e-14)


def test_constraint_is_applied_after_the_step():
    p = param([[3.0, 4.0]], [[-1.0, 0.0]])
    p.constraint = MaxNorm(1.0)
    optim.SGD([p], lr=1.0).step()           # w = (4, 4), then projected onto the unit ball
    np.testing.assert_allclose(p.value, [[math.sqrt(0.5), math.sqrt(0.5)]])


def test_float32_parameters_stay_float32():
    p = Parameter(np.ones(3, np.float32))
    p.grad = np.full(3, 0.5, np.float32)
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), optim.Adam([p])):
        opt.step()
        assert p.value.dtype == np.float32
        assert all(a.dtype == np.float32 for st in opt.state for a in st.values() if isinstance(a, np.ndarray))


def test_state_dict_round_trip_continues_identically():
    def run(split):
        p = param([1.0, -1.0], [0.0, 0.0])
        opt = optim.Adam([p], lr=0.1)
        grads = [[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2], [0.3, 0.3]]
        for i, g in enumerate(grads):
            if i == split:
                arrays, scalars = opt.state_dict()
                opt = optim.Adam([p], lr=0.5)           # a fresh optimizer, then its state restored
                opt.load_state_dict(arrays, scalars)
            p.grad = np.array(g)
            opt.step()
        return p.value.copy()

    np.testing.assert_array_equal(run(split=2), run(split=99))


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=0), r"lr must be a finite number > 0; got 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=1.0), r"momentum must be a finite number >= 0 and < 1; got 1.0"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), r"nesterov=True needs a momentum > 0"),
    (lambda p: optim.Adam(p, betas=(0.9,)), r"betas must be a pair"),
    (lambda p: optim.SGD([], lr=0.1), r"params must contain at least one Parameter"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([param([1.0], [0.0])])


@pytest.mark.parametrize("schedule,expected", [
    (optim.Constant(), [0.1, 0.1, 0.1, 0.1]),
    (optim.StepDecay(step_size=2, gamma=0.5), [0.1, 0.1, 0.05, 0.05]),
    (optim.ExponentialDecay(gamma=0.5), [0.1, 0.05, 0.025, 0.0125]),
    (optim.Cosine(total_epochs=4), [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05, 0.1 * (1 + math.cos(3 * math.pi / 4)) / 2]),
])
def test_schedules(schedule, expected):
    np.testing.assert_allclose([schedule(0.1, e) for e in range(4)], expected, rtol=1e-14)
    assert optim.make_schedule("cosine", epochs=10)(0.1, 10) == 0.0
    with pytest.raises(ValueError, match=r"lr_schedule must be one of"):
        optim.make_schedule("linear")


def _reference_sgd(w, grads, lrs, mu, nesterov, wd):
    """The textbook update (PyTorch's) in float64, step by step."""
    w = np.array(w, dtype=np.float64)
    v = None
    for g, lr in zip(grads, lrs):
        g = g + wd * w
        v = g.copy() if v is None else mu * v + g
        w = w - lr * ((g + mu * v) if nesterov else v)
    return w


@pytest.mark.parametrize("mu,nesterov,wd", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0),
                                            (0.9, False, 0.01), (0.5, True, 0.05)])
def test_sgd_with_changing_learning_rates_follows_the_textbook(mu, nesterov, wd):
    """A schedule changes lr between steps: the momentum v is kept in PyTorch's convention (no lr in it)."""
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(4) for _ in range(5)]
    lrs = [0.1, 0.1, 0.05, 0.02, 0.02]
    p = param(rng.standard_normal(4), np.zeros(4))
    w0 = p.value.copy()
    opt = optim.SGD([p], lr=lrs[0], momentum=mu, nesterov=nesterov, weight_decay=wd)
    for g, lr in zip(grads, lrs):
        opt.lr = lr
        p.grad = g
        opt.step()
    np.testing.assert_allclose(p.value, _reference_sgd(w0, grads, lrs, mu, nesterov, wd), rtol=1e-13)


def test_rmsprop_steps_equal_the_formula():
    # PyTorch's RMSprop: v = a v + (1 - a) g^2; centered: c = a c + (1 - a) g, denom = sqrt(v - c^2) + eps;
    # momentum: b = mu b + g / denom, w -= lr b
    alpha, eps, lr, mu = 0.9, 1e-8, 0.01, 0.5
    for centered in (False, True):
        for momentum in (0.0, mu):
            w, v, c, b = 1.5, 0.0, 0.0, 0.0
            p = param([w], [0.0])
            opt = optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered)
            for g in (0.3, -0.7, 0.2):
                p.grad = np.array([g])
                opt.step()
                v = alpha * v + (1 - alpha) * g * g
                c = alpha * c + (1 - alpha) * g
                denom = math.sqrt(v - c * c if centered else v) + eps
                if momentum:
                    b = momentum * b + g / denom
                    w -= lr * b
                else:
                    w -= lr * g / denom
            assert p.value[0] == pytest.approx(w, rel=1e-13), (centered, momentum)


def test_adagrad_steps_equal_the_formula():
    # PyTorch's Adagrad: clr = lr / (1 + (t - 1) lr_decay); s += g^2; w -= clr g / (sqrt(s) + eps)
    lr, decay, eps, s0 = 0.1, 0.05, 1e-10, 0.2
    w, s = 1.0, s0
    p = param([w], [0.0])
    opt = optim.Adagrad([p], lr=lr, lr_decay=decay, eps=eps, initial_accumulator_value=s0)
    for t, g in enumerate((0.5, -0.25, 1.0), start=1):
        p.grad = np.array([g])
        opt.step()
        s += g * g
        w -= lr / (1 + (t - 1) * decay) * g / (math.sqrt(s) + eps)
    assert p.value[0] == pytest.approx(w, rel=1e-14)
    assert opt.state[0]["sum"][0] == pytest.approx(s, rel=1e-14) and opt.state[0]["step"] == 3


def test_update_functions_are_the_rules_themselves():
    """Each rule is a plain function of (w, g, state): usable without an optimizer object."""
    w, state = np.array([1.0, 2.0]), {}
    optim.sgd_update(w, np.array([1.0, -1.0]), state, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(w, [0.5, 2.5])
    np.testing.assert_allclose(state["momentum_buffer"], [1.0, -1.0])
    w2 = np.array([1.0])
    optim.adam_update(w2, np.array([4.0]), {}, lr=0.1)
    assert w2[0] == pytest.approx(0.9, abs=1e-8)


def test_parameters_without_gradient_are_not_stepped():
    p, q = param([1.0], [1.0]), Parameter(np.array([5.0]))
    opt = optim.Adam([p, q], lr=0.1)
    opt.step()
    assert q.value[0] == 5.0 and "exp_avg" not in opt.state[1]
    assert p.value[0] != 1.0


def test_adam_on_float32_limits_stops_with_the_cause_instead_of_stalling():
    from chainrule import TrainingDiverged
    p = Parameter(np.ones(3, np.float32))
    p.grad = np.array([1e20, 1.0, -3e25], np.float32)        # g * g overflows float32
    with pytest.raises(TrainingDiverged, match=r"overflowed.*largest gradient entry is 3e\+25.*Scale the input"):
        optim.Adam([p], lr=0.1).step()


def _adam_by_the_formulas(w, g, st, lr, b1, b2, eps, t):
    """Adam written as its formulas with NumPy temporaries (the reference for the in-place update)."""
    dt = w.dtype.type
    st["m"] = st["m"] * dt(b1) + dt(1 - b1) * g
    st["v"] = st["v"] * dt(b2) + dt(1 - b2) * (g * g)
    denom = np.sqrt(st["v"]) / dt(np.sqrt(1 - b2 ** t)) + dt(eps)
    return w - (st["m"] / denom) * dt(lr / (1 - b1 ** t))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_in_place_gives_the_formulas_bits_and_keeps_scratch_out_of_checkpoints(dtype):
    from chainrule.optim.adam import adam_update
    rng = np.random.default_rng(3)
    w = rng.standard_normal((31, 17)).astype(dtype)
    ref, st, state = w.copy(), {"m": np.zeros_like(w), "v": np.zeros_like(w)}, {}
    for t, lr in enumerate((1e-2, 1e-2, 3e-3, 1e-3), start=1):
        g = (rng.standard_normal(w.shape) * 10.0 ** rng.integers(-6, 3, w.shape)).astype(dtype)
        adam_update(w, g, state, lr=lr)
        ref = _adam_by_the_formulas(ref, g, st, lr, 0.9, 0.999, 1e-8, t)
        np.testing.assert_array_equal(w, ref)
        np.testing.assert_array_equal(state["exp_avg"], st["m"])
        np.testing.assert_array_equal(state["exp_avg_sq"], st["v"])
    p = Parameter(np.zeros(3, dtype))
    opt = optim.Adam([p], lr=1e-3)
    p.grad = np.ones(3, dtype)
    opt.step()
    arrays, _ = opt.state_dict()
    assert sorted(arrays) == ["0.exp_avg", "0.exp_avg_sq"]
