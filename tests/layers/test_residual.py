"""Residual and stochastic depth, checked exactly: the keep rate, the 1/p scaling, each mode,
evaluation as the identity of the expectation, the gradients under the drawn mask, the container
rules, the decay rule, and resume from a checkpoint with the masks' generator."""
import numpy as np
import pytest

from chainrule import losses, nn, optim, registry
from chainrule.grad import check_gradients
from chainrule.layers import residual as RS
from chainrule.training import Callback, Checkpoint, Trainer

F64 = np.float64


class Spy(nn.Linear):
    """A Linear block that counts its forward and backward calls."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.calls = {"forward": 0, "backward": 0}

    def forward(self, x):
        self.calls["forward"] += 1
        return super().forward(x)

    def backward(self, g, *, need_input_grad=True):
        self.calls["backward"] += 1
        return super().backward(g, need_input_grad=need_input_grad)


def block_and_data(n=8, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return Spy(d, d, rng=seed, dtype=F64), rng.standard_normal((n, d))


def test_row_mode_keeps_each_sample_with_probability_p_and_scales_it_by_1_over_p():
    block, _ = block_and_data()
    p = 0.7
    res = nn.Residual(block, survival_prob=p, rng=42)
    x = np.random.default_rng(1).standard_normal((20000, 5))
    out = res.forward(x)
    b = res.last_mask
    # the draw is exactly z = U < p with U the generator's next uniforms
    np.testing.assert_array_equal(b, (np.random.default_rng(42).random(20000) < p) / p)
    assert set(np.unique(b)) == {0.0, 1 / p}
    assert abs((b > 0).mean() - p) < 4 * np.sqrt(p * (1 - p) / 20000)      # keep rate
    f = block.forward(x)
    kept, dropped = b > 0, b == 0
    np.testing.assert_array_equal(out[dropped], x[dropped])                   # shortcut only
    np.testing.assert_array_equal(out[kept], x[kept] + (1 / p) * f[kept])        # kept branch / p
    assert abs(b.mean() - 1.0) < 4 * np.sqrt((1 - p) / p / 20000)              # E[b] = p (1/p) = 1


def test_batch_mode_draws_once_and_a_dropped_block_computes_nothing():
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(5, dtype=F64)
    block = nn.Sequential(Spy(5, 5, rng=0, dtype=F64), bn)
    spy = block[0]
    p = 0.6
    res = nn.Residual(block, survival_prob=p, mode="batch", rng=7)
    twin = np.random.default_rng(7)
    kept = 0
    for _ in range(400):
        x = rng.standard_normal((6, 5))
        before = (spy.calls["forward"], bn.running_mean.copy(), int(bn.num_batches_tracked))
        out = res.forward(x)
        keep = twin.random() < p
        b = res.last_mask
        assert b.shape == () and float(b) == (1 / p if keep else 0.0)
        spy.zero_grad()
        dx = res.backward(np.ones_like(out))
        if keep:
            kept += 1
            assert spy.calls["forward"] == before[0] + 1 and spy.weight.grad is not None
        else:
            np.testing.assert_array_equal(out, x)
            np.testing.assert_array_equal(dx, np.ones_like(x))
            # no forward, no backward, no running statistics for this batch
            assert spy.calls["forward"] == before[0] and spy.weight.grad is None
            np.testing.assert_array_equal(bn.running_mean, before[1])
            assert int(bn.num_batches_tracked) == before[2]
    assert spy.calls["backward"] == kept
    assert abs(kept / 400 - p) < 4 * np.sqrt(p * (1 - p) / 400)


def test_evaluation_is_the_expectation_of_training():
    block, x = block_and_data(n=4)
    res = nn.Residual(block, survival_prob=0.5, rng=0)
    res.eval()
    state = res.rng.bit_generator.state
    expected = x + block.forward(x)
    np.testing.assert_array_equal(res.forward(x), expected)                   # shortcut(x) + block(x)
    assert res.last_mask is None and res.rng.bit_generator.state == state     # no draw in evaluation
    res.train()
    mean = np.mean([res.forward(x) for _ in range(20000)], axis=0)
    np.testing.assert_allclose(mean, expected, atol=0.05 * np.abs(block.forward(x)).max())


def test_survival_one_never_drops_and_draws_nothing():
    block, x = block_and_data()
    res = nn.Residual(block, survival_prob=1.0, rng=0)
    state = res.rng.bit_generator.state
    np.testing.assert_array_equal(res.forward(x), x + block.forward(x))
    assert res.rng.bit_generator.state == state and res.last_mask is None


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_gradients_under_the_drawn_mask(mode):
    """dL/dx = g + block'(x)^T (b g), with the b of this forward; and the numerical check replays it."""
    rng = np.random.default_rng(5)
    for seed in range(6):                       # batch mode: some seeds drop the block, some keep it
        block = nn.Sequential(nn.Linear(4, 4, rng=seed, dtype=F64), nn.Tanh())
        res = nn.Residual(block, survival_prob=0.5, mode=mode, rng=seed)
        x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
        res.forward(x)
        b = np.broadcast_to(np.asarray(res.last_mask).reshape(-1, 1), (6, 1))
        res.zero_grad()
        dx = res.backward(g)
        block.zero_grad()
        block.forward(x)
        np.testing.assert_allclose(dx, g + block.backward(g * b, need_input_grad=True), rtol=1e-13)
        state = res.rng.bit_generator.state
        report = check_gradients(res, x)
        assert report.passed, str(report)
        assert res.rng.bit_generator.state == state            # the check rewinds the generator


def test_kernels_follow_torchvision_stochastic_depth():
    """torchvision: noise = Bernoulli(1 - p_drop) / (1 - p_drop), shaped (N, 1, ...) for 'row'."""
    rng = np.random.default_rng(0)
    s, f = rng.standard_normal((5, 2, 3, 3)), rng.standard_normal((5, 2, 3, 3))
    b = RS.stochastic_depth_mask(np.random.default_rng(1), 5, 0.8, "row", F64)
    out, cache = RS.residual_forward(s, f, b)
    np.testing.assert_allclose(out, s + f * b[:, None, None, None], rtol=1e-15)
    g = rng.standard_normal(out.shape)
    gs, gf = RS.residual_backward(g, cache)
    assert gs is g and np.array_equal(gf, g * b[:, None, None, None])
    assert RS.residual_forward(s, f, None)[0].tolist() == (s + f).tolist()


def test_linear_decay_rule():
    assert RS.linear_decay(4, 0.5) == [0.875, 0.75, 0.625, 0.5]                    # Huang et al., eq. 4
    np.testing.assert_allclose(RS.linear_decay(4, 0.5, count_input=False), [1, 5 / 6, 4 / 6, 0.5])
    assert RS.linear_decay(1, 0.3, count_input=False) == [0.3] and RS.linear_decay(3, 1.0) == [1.0] * 3
    with pytest.raises(ValueError, match=r"p_last must be a finite number > 0 and <= 1; got 0"):
        RS.linear_decay(3, 0)


def test_container_state_config_and_rules():
    block = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=0), nn.BatchNorm2d(3))
    shortcut = nn.Sequential(nn.Conv2d(2, 3, 1, rng=1, bias=False))
    res = nn.Residual(block, shortcut, survival_prob=0.8, mode="batch", rng=3)
    assert list(res.state_dict()) == ["block.0.weight", "block.0.bias", "block.1.weight", "block.1.bias",
                                      "block.1.running_mean", "block.1.running_var", "block.1.num_batches_tracked",
                                      "shortcut.0.weight"]
    spec = res.spec()
    assert registry.state_shapes(spec) == {k: v.shape for k, v in res.state_dict().items()}
    twin = registry.build_module(spec)
    assert (twin.survival_prob, twin.mode) == (0.8, "batch")
    twin.load_state_dict(res.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    res.eval(), twin.eval()
    np.testing.assert_array_equal(twin.forward(x), res.forward(x))
    assert res.rng in res.all_generators()                                   # checkpoints save it
    assert res.output_shape((2, 2, 4, 4)) == (2, 3, 4, 4)
    lin = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="same object"):                     # one module appears once
        nn.Residual(lin, lin)
    with pytest.raises(ValueError, match=r"Residual: the block's output has shape \(2, 3, 4, 4\) but the input "
                                         r"has shape \(2, 2, 4, 4\)"):
        nn.Residual(block).forward(x)
    with pytest.raises(ValueError, match=r"Residual survival_prob must be a finite number > 0 and <= 1; got 0"):
        nn.Residual(lin, survival_prob=0)
    with pytest.raises(ValueError, match=r"Residual mode must be one of \('row', 'batch'\); got 'sample'"):
        nn.Residual(lin, mode="sample")
    with pytest.raises(TypeError, match="Residual block must be a Module; got function"):
        nn.Residual(lambda v: v)


class StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, record):
        if epoch + 1 == self.epochs:
            trainer.stop_training = True


@pytest.mark.determinism
def test_resume_replays_the_masks_bit_for_bit(tmp_path):
    """The masks' generator is in the checkpoint: a resumed run ends with the bits of a full one."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 2, 6, 6)).astype(np.float32)
    y = (X[:, 0].mean(axis=(1, 2)) > 0).astype(int)

    def make(callbacks=()):
        from chainrule.architectures import resnet
        model = resnet(2, 2, width=2, blocks_per_stage=1, p_last=0.5, rng=1)
        return Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=0.05, momentum=0.9),
                       batch_size=16, epochs=4, rng=2, callbacks=list(callbacks))

    full = make()
    full.fit(X, y)
    path = tmp_path / "run.npz"
    make([Checkpoint(path), StopAfter(2)]).fit(X, y)
    resumed = make([Checkpoint(path)]).resume(path)
    resumed.fit(X, y)
    for k, v in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v, err_msg=k)
    assert resumed.history["loss"] == full.history["loss"]


def test_rebuilding_without_the_registrys_helpers_is_refused_by_name():
    from chainrule.layers.residual import Residual
    config = {"block": {"type": "ReLU", "config": {}}, "shortcut": None, "survival_prob": 1.0, "mode": "row"}
    with pytest.raises(TypeError, match="needs build"):
        Residual.from_config(config)
    with pytest.raises(TypeError, match="needs shapes_of"):
        Residual.state_shapes(config)
