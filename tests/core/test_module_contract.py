"""The Module contract: registration, names, state, modes, gradient accumulation."""
import numpy as np
import pytest

from chainrule import nn
from chainrule.core.parameter import Parameter


def mlp(rng=0, dtype=np.float32):
    r = np.random.default_rng(rng)
    return nn.Sequential(nn.Linear(4, 5, rng=r, dtype=dtype), nn.BatchNorm1d(5, dtype=dtype), nn.ReLU(),
                         nn.Dropout(0.5, rng=r), nn.Linear(5, 3, rng=r, dtype=dtype))


def test_names_follow_pytorch_sequential():
    net = mlp()
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                      "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"]
    assert net[0].weight.shape == (5, 4) and net.state_dict()["0.weight"].shape == (5, 4)


def test_state_dict_is_a_row_major_copy_and_round_trips():
    a, b = mlp(0), mlp(1)
    state = a.state_dict()
    assert all(v.flags.c_contiguous for v in state.values())
    state["0.weight"][0, 0] = 123.0
    assert a[0].weight.value[0, 0] != 123.0          # a copy, not a view
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(5).standard_normal((8, 4)).astype(np.float32)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert b[0].weight.value.flags.f_contiguous       # the fast layout is kept on load


def test_load_state_dict_errors():
    net = mlp()
    state = net.state_dict()
    del state["0.bias"]
    state["extra"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"missing keys \['0.bias'\]; unexpected keys \['extra'\]"):
        net.load_state_dict(state)
    net.load_state_dict(state, strict=False)   # tolerated when not strict
    bad = net.state_dict()
    bad["4.weight"] = np.zeros((3, 6))
    with pytest.raises(ValueError, match=r"state_dict\['4.weight'\] must have shape \(3, 5\); got \(3, 6\)"):
        net.load_state_dict(bad)


def test_train_and_eval_reach_every_module():
    net = mlp()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_grad_is_none_until_backward_and_backward_accumulates():
    lin = nn.Linear(3, 2, rng=0, dtype=np.float64)
    x = np.arange(6.0).reshape(2, 3)
    g = np.ones((2, 2))
    assert lin.weight.grad is None and lin.bias.grad is None
    lin.forward(x)
    lin.backward(g)
    once = lin.weight.grad.copy()
    np.testing.assert_allclose(once, g.T @ x)              # dL/dW = ds^T x
    lin.backward(g)                                        # accumulates
    np.testing.assert_allclose(lin.weight.grad, 2 * once)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None   # PyTorch's set-to-none
    lin.backward(g)                                        # written fresh, not added to a stale buffer
    np.testing.assert_allclose(lin.weight.grad, once)
    np.testing.assert_allclose(lin.bias.grad, g.sum(axis=0))


def test_weight_and_bias_zeroed_separately():
    lin = nn.Linear(3, 2, rng=0, dtype=np.float64)
    lin.forward(np.ones((2, 3)))
    lin.backward(np.ones((2, 2)))
    lin.weight.zero_grad()                                 # only the weight is zeroed by hand
    lin.backward(np.ones((2, 2)))
    np.testing.assert_allclose(lin.weight.grad, np.full((2, 3), 2.0))
    np.testing.assert_allclose(lin.bias.grad, [4.0, 4.0])


def _sgd_run(read_grad_first: bool, dtype=np.float64):
    from chainrule import losses, optim
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(6, 5, rng=1, dtype=dtype), nn.ReLU(), nn.Linear(5, 3, rng=2, dtype=dtype))
    opt = optim.SGD(net, lr=0.37, momentum=0.9)
    loss = losses.SoftmaxLogLikelihood()
    for _ in range(4):
        x, y = rng.standard_normal((8, 6)).astype(dtype), rng.integers(0, 3, 8)
        opt.zero_grad()
        if read_grad_first:
            _ = [p.grad for p in net.parameters()]        # a read between zero_grad and backward
        loss.forward(net.forward(x), y)
        net.backward(loss.backward())
        if read_grad_first:
            _ = [p.grad for p in net.parameters()]
        opt.step()
    return net.state_dict()


def test_reading_grad_never_changes_a_run():
    a, b = _sgd_run(False), _sgd_run(True)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_zero_grad_then_backward_gives_the_bits_of_a_fresh_network():
    x = np.random.default_rng(0).standard_normal((16, 7)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)

    def make():
        return nn.Sequential(nn.Linear(7, 9, rng=0), nn.Tanh(), nn.Linear(9, 4, rng=1))

    fresh = make()
    fresh.forward(x)
    fresh.backward(g)
    used = make()
    for _ in range(2):                                     # earlier batches leave gradients behind
        used.forward(x * 3)
        used.backward(g * 2)
    used.zero_grad()
    used.forward(x)
    used.backward(g)
    for (name, p), (_, q) in zip(fresh.named_parameters(), used.named_parameters()):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)


def test_a_module_applied_twice_is_refused_and_tied_weights_get_both_contributions():
    lin = nn.Linear(3, 3, rng=0, dtype=np.float64)
    with pytest.raises(ValueError, match=r"Linear at '2' is the same object as the one at '0'.*share one Parameter"):
        nn.Sequential(lin, nn.Tanh(), lin)
    inner = nn.Sequential(lin)
    with pytest.raises(ValueError, match=r"same object"):
        nn.Sequential(inner, nn.Tanh(), lin)               # also through a nested container
    # tied weights: two modules, one Parameter
    second = nn.Linear(3, 3, rng=1, dtype=np.float64)
    second.weight = lin.weight
    net = nn.Sequential(lin, nn.Tanh(), second)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.bias"]   # listed once
    x = np.random.default_rng(0).standard_normal((5, 3))
    report = __import__("chainrule").grad.check_gradients(net, x)
    assert report.passed, str(report)
    # both contributions: the tied gradient is the sum of what each use alone gives
    G = np.ones((5, 3))
    net.zero_grad()
    net.forward(x)
    net.backward(G)
    h = np.tanh(x @ lin.weight.value.T + lin.bias.value)
    ds1 = (G @ lin.weight.value) * (1 - h * h)
    np.testing.assert_allclose(lin.weight.grad, G.T @ h + ds1.T @ x, rtol=1e-12)


class Spy(nn.Identity):
    calls = 0

    def backward(self, grad_output, *, need_input_grad=True):
        Spy.calls += 1
        return grad_output


def test_sequential_skips_gradients_nobody_asked_for():
    Spy.calls = 0
    net = nn.Sequential(Spy(), nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    x = np.ones((5, 4), np.float32)
    net.forward(x)
    net.zero_grad()
    assert net.backward(np.ones((5, 2), np.float32)) is None   # a model computes no dL/dx unless asked
    assert Spy.calls == 0                             # nothing before the first Linear ran
    w_skip = net[1].weight.grad.copy()
    net.zero_grad()
    dx = net.backward(np.ones((5, 2), np.float32), need_input_grad=True)
    assert dx.shape == (5, 4) and Spy.calls == 1
    np.testing.assert_array_equal(net[1].weight.grad, w_skip)  # same parameter gradients either way


def test_parameters_reject_non_float_and_grad_shape():
    with pytest.raises(TypeError, match=r"Parameter value must be a floating-point array; got dtype int64"):
        Parameter(np.arange(3))
    p = Parameter(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"grad must have the parameter's shape \(2, 2\); got \(4,\)"):
        p.grad = np.zeros(4)
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear.weight is a Parameter"):
        lin.weight = np.zeros((2, 2))


def test_astype_converts_parameters_and_buffers():
    net = mlp(dtype=np.float32).astype(np.float64)
    assert all(p.value.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    out = net.forward(np.ones((3, 4)))
    assert out.dtype == np.float64


def test_linear_single_vector_and_integer_input():
    lin = nn.Linear(4, 3, rng=0)
    v = lin.forward(np.array([1, 2, 3, 4], dtype=np.uint8))
    assert v.shape == (3,) and v.dtype == np.float32
    np.testing.assert_allclose(v, lin.weight.value @ np.array([1, 2, 3, 4.0]) + lin.bias.value, rtol=1e-6)
    assert lin.backward(np.ones(3, np.float32)).shape == (4,)


def test_initialisations_have_the_documented_scale():
    n_in, n_out = 400, 300
    he = nn.Linear(n_in, n_out, rng=0, init="he", dtype=np.float64).weight.value
    assert he.std() == pytest.approx(np.sqrt(2 / n_in), rel=0.02)
    gl = nn.Linear(n_in, n_out, rng=0, init="glorot", dtype=np.float64).weight.value
    assert np.abs(gl).max() <= np.sqrt(6 / (n_in + n_out)) and gl.std() == pytest.approx(np.sqrt(2 / (n_in + n_out)), rel=0.02)
    un = nn.Linear(n_in, n_out, rng=0, dtype=np.float64)
    assert np.abs(un.weight.value).max() <= 1 / np.sqrt(n_in) and np.abs(un.bias.value).max() <= 1 / np.sqrt(n_in)
    # the same seed gives the same bits
    np.testing.assert_array_equal(nn.Linear(5, 4, rng=3).weight.value, nn.Linear(5, 4, rng=3).weight.value)


def test_dropout_and_batchnorm_modes():
    x = np.ones((1000, 10), np.float32)
    d = nn.Dropout(0.3, rng=0)
    y = d.forward(x)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert (y == 0).mean() == pytest.approx(0.3, abs=0.02)
    np.testing.assert_array_equal(d.eval().forward(x), x)            # identity in eval mode
    np.testing.assert_array_equal(nn.Dropout(1.0, rng=0).forward(x), 0)
    bn = nn.BatchNorm1d(2, momentum=0.5, dtype=np.float64)
    batch = np.array([[1.0, 10.0], [3.0, 30.0]])
    y = bn.forward(batch)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, [1.0, 10.0])          # 0.5 * 0 + 0.5 * (2, 20)
    np.testing.assert_allclose(bn.running_var, [0.5 + 0.5 * 2.0, 0.5 + 0.5 * 200.0])  # unbiased var
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    np.testing.assert_allclose(bn.forward(batch), (batch - bn.running_mean) / np.sqrt(bn.running_var + 1e-5))
