"""The compiled SGD updates (``_compiled/sgd.py``, numba) give exactly the NumPy updates' bits, and an
optimizer takes them when it is built, never the NumPy reference itself."""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule import _compiled
from chainrule._compiled import sgd as _fused

pytest.importorskip("numba")


@pytest.fixture
def numpy_path():
    """Build optimizers with the compiled kernels on or off, then restore the setting."""
    before = _compiled.enabled()
    yield lambda flag: _compiled.set_enabled(flag)
    _compiled.set_enabled(before)


def _steps(fused, switch, dtype, order, momentum, nesterov, wd):
    switch(fused)
    rng = np.random.default_rng(0)
    w = np.asarray(rng.standard_normal((37, 23)), dtype=dtype, order=order)
    p = nn.Parameter(w)
    opt = optim.SGD([p], lr=0.037, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    for lr in (0.037, 0.037, 0.011, 0.005):
        opt.lr = lr
        p.grad = np.asarray(rng.standard_normal((37, 23)), dtype=dtype, order=order)
        opt.step()
    return p.value, opt.state[0].get("momentum_buffer")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum,nesterov,wd", [(0.0, False, 0.0), (0.0, False, 1e-3), (0.9, False, 0.0),
                                                  (0.9, True, 0.0), (0.5, True, 5e-4)])
def test_fused_sgd_is_bit_identical_to_numpy(numpy_path, dtype, order, momentum, nesterov, wd):
    ref_w, ref_v = _steps(False, numpy_path, dtype, order, momentum, nesterov, wd)
    got_w, got_v = _steps(True, numpy_path, dtype, order, momentum, nesterov, wd)
    np.testing.assert_array_equal(got_w, ref_w)
    if ref_v is not None:
        np.testing.assert_array_equal(got_v, ref_v)


def test_a_training_run_gives_the_same_bits_on_both_paths(numpy_path):
    from chainrule.training import Trainer
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((200, 20)).astype(np.float32), rng.integers(0, 4, 200)
    results = []
    for fused in (False, True):
        numpy_path(fused)
        net = nn.Sequential(nn.Linear(20, 32, rng=0), nn.ReLU(), nn.Linear(32, 4, rng=1))
        Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.05, momentum=0.9), batch_size=16,
                epochs=3, rng=0).fit(X, y)
        results.append(net.state_dict())
    for k in results[0]:
        np.testing.assert_array_equal(results[1][k], results[0][k], err_msg=k)


def test_mismatched_layouts_fall_back_to_numpy(numpy_path):
    numpy_path(True)
    w = np.asfortranarray(np.ones((3, 4), np.float32))
    g = np.ones((3, 4), np.float32)                     # row-major gradient of a column-major weight
    assert _fused._flat(w, g) is None
    assert not _fused.sgd_step(w, g, {}, 0.1, 0.0, False, 0.0)
    assert _fused.sgd_step(w, np.asfortranarray(g), {}, 0.1, 0.0, False, 0.0)
    np.testing.assert_allclose(w, 0.9)


def test_the_optimizer_keeps_the_kernels_it_was_built_with(numpy_path, monkeypatch):
    calls = []
    step = _fused.sgd_step
    monkeypatch.setattr(_fused, "sgd_step", lambda *a: calls.append(1) or step(*a))
    numpy_path(True)
    p = nn.Parameter(np.ones((3, 4), np.float32))
    built_on = optim.SGD([p], lr=0.1)
    numpy_path(False)
    built_off = optim.SGD([p], lr=0.1)
    p.grad = np.ones((3, 4), np.float32)
    built_off.step()
    assert calls == []
    built_on.step()
    assert calls == [1]
    np.testing.assert_allclose(p.value, 0.8)


def test_the_numpy_reference_update_never_calls_the_compiled_loop(numpy_path, monkeypatch):
    numpy_path(True)
    monkeypatch.setattr(_fused, "sgd_step", lambda *a: pytest.fail("the reference called the compiled loop"))
    w = np.ones((3, 4), np.float32)
    optim.sgd_update(w, np.ones((3, 4), np.float32), {}, lr=0.5)
    np.testing.assert_allclose(w, 0.5)
