"""Whole networks: the prototype (``FusedNet``) against the chainrule network it was built from.

Training mode (scores, every parameter's gradient, the running statistics, the stochastic-depth
draws) and evaluation mode, float64 to 1e-12 relative and float32 to 1e-5, with 1, 2 and 3
workers (3 splits a batch unevenly); plus the determinism the issue asks for: at a fixed number of
workers, the same bits every run.
"""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.architectures import lenet, resnet
from proto21.net import FusedNet

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def small_resnet(rng, dtype, p_last=0.5, mode="row"):
    return resnet(3, 10, width=4, blocks_per_stage=2, p_last=p_last, mode=mode, rng=rng, dtype=dtype)


def conv_zoo(rng, dtype):
    """5 x 5 and 3 x 3, stride 1 and 2, padding 0 to 2, with and without bias, BN and pooling."""
    return nn.Sequential(
        nn.Conv2d(2, 6, 5, padding=2, rng=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False, rng=rng, dtype=dtype), nn.BatchNorm2d(8, dtype=dtype),
        nn.ReLU(),
        nn.Conv2d(8, 8, 5, padding=2, rng=rng, dtype=dtype), nn.ReLU(),
        nn.Conv2d(8, 6, 3, rng=rng, dtype=dtype), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * 1 * 1, 10, rng=rng, dtype=dtype))


CASES = {
    "lenet": (lambda rng, dt: lenet(1, 10, 12, rng=rng, dtype=dt), (1, 12, 12)),
    "resnet-row": (lambda rng, dt: small_resnet(rng, dt), (3, 16, 16)),
    "resnet-batch": (lambda rng, dt: small_resnet(rng, dt, 0.3, "batch"), (3, 16, 16)),
    "resnet-no-sd": (lambda rng, dt: small_resnet(rng, dt, 1.0), (3, 16, 16)),
    "conv-zoo": (conv_zoo, (2, 13, 13)),
}


def train_steps(net, fnet, X, y, steps=3):
    """The notes' loop for ``steps`` batches through ``fnet`` (or ``net`` when fnet is None);
    returns the scores of each step and every parameter's gradient of the last."""
    loss = losses.SoftmaxLogLikelihood()
    opt = optim.SGD(net, lr=0.05, momentum=0.9)
    scores = []
    for _ in range(steps):
        opt.zero_grad()
        if fnet is None:
            s = net.forward(X)
            loss.forward(s, y)
            net.backward(loss.backward())
        else:
            with fnet.threads():
                s = fnet.forward(X)
                loss.forward(s, y)
                fnet.backward(loss.backward())
        scores.append(s)
        grads = {k: None if p.grad is None else p.grad.copy() for k, p in net.named_parameters()}
        opt.step()
    return scores, grads


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_workers", [1, 2, 3])
@pytest.mark.parametrize("method", ["direct", "im2col"])
def test_training_steps_match_the_reference_network(case, dtype, n_workers, method):
    build, shape = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7,) + shape).astype(dtype)
    y = rng.integers(0, 10, 7)
    ref = build(np.random.default_rng(1), dtype)
    net = build(np.random.default_rng(1), dtype)
    fnet = FusedNet(net, shape, n_workers, method)
    try:
        s_ref, g_ref = train_steps(ref, None, X, y)
        s, g = train_steps(net, fnet, X, y)
        tol = TOL[dtype] * (10 if dtype == np.float32 else 1)     # three steps of SGD compound float32 rounding
        for a, b in zip(s, s_ref):
            assert rel(a, b) <= tol
        for k in g_ref:
            assert (g[k] is None) == (g_ref[k] is None), k          # a block dropped in batch mode: no gradient
            assert g[k] is None or rel(g[k], g_ref[k]) <= tol, k
        for (k, v), (_, v_ref) in zip(net.state_dict().items(), ref.state_dict().items()):
            assert rel(v, v_ref) <= tol, k                      # weights after 3 steps, running statistics
        ref.eval()
        net.eval()
        with fnet.threads():
            assert rel(fnet.forward(X), ref.forward(X)) <= tol
    finally:
        fnet.close()


@pytest.mark.parametrize("case", ["lenet", "resnet-row"])
def test_one_step_float32_within_1e_5(case):
    """A single step in float32 (no compounding): scores and gradients to 1e-5."""
    build, shape = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16,) + shape).astype(np.float32)
    y = rng.integers(0, 10, 16)
    ref, net = build(np.random.default_rng(1), np.float32), build(np.random.default_rng(1), np.float32)
    fnet = FusedNet(net, shape, 2)
    try:
        s_ref, g_ref = train_steps(ref, None, X, y, steps=1)
        s, g = train_steps(net, fnet, X, y, steps=1)
        assert rel(s[0], s_ref[0]) <= 1e-5
        for k in g_ref:
            assert rel(g[k], g_ref[k]) <= 1e-5, k
    finally:
        fnet.close()


@pytest.mark.determinism
@pytest.mark.parametrize("case", ["lenet", "resnet-row", "resnet-batch"])
@pytest.mark.parametrize("n_workers", [2, 3])
@pytest.mark.parametrize("method", ["direct", "im2col"])
def test_the_same_bits_every_run_at_a_fixed_number_of_workers(case, n_workers, method):
    """Five runs of 4 training steps from the same seed: every score, gradient and weight equal
    bit for bit (the workers' timing changes from run to run; the split and the order of every
    sum across workers do not)."""
    build, shape = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((21,) + shape).astype(np.float32)
    y = rng.integers(0, 10, 21)
    runs = []
    for _ in range(5):
        net = build(np.random.default_rng(1), np.float32)
        fnet = FusedNet(net, shape, n_workers, method)
        try:
            scores, grads = train_steps(net, fnet, X, y, steps=4)
        finally:
            fnet.close()
        runs.append((scores, grads, net.state_dict()))
    first = runs[0]
    for other in runs[1:]:
        for a, b in zip(first[0], other[0]):
            np.testing.assert_array_equal(a, b)
        for k in first[1]:
            assert (first[1][k] is None) == (other[1][k] is None)
            if first[1][k] is not None:
                np.testing.assert_array_equal(first[1][k], other[1][k])
        for k in first[2]:
            np.testing.assert_array_equal(first[2][k], other[2][k])


def test_a_network_the_prototype_cannot_fuse_is_refused_by_name():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    with pytest.raises(NotImplementedError, match="Tanh"):
        FusedNet(net, (1, 6, 6), 2)


@pytest.mark.determinism
@pytest.mark.parametrize("case", ["lenet", "resnet-row", "resnet-batch", "conv-zoo"])
def test_the_direct_path_gives_the_same_bits_with_1_2_or_3_workers_or_auto(case):
    """Weight gradients are summed per fixed chunk of 8 images and the chunks in order, batch
    statistics per image: the number of workers (and so a busy machine's choice of it) does not
    change a bit of four training steps on 21 images (3 chunks, split 3/0, 2/1 and 1/1/1)."""
    build, shape = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((21,) + shape).astype(np.float32)
    y = rng.integers(0, 10, 21)
    runs = []
    for n_workers in (1, 2, 3, "auto"):
        net = build(np.random.default_rng(1), np.float32)
        fnet = FusedNet(net, shape, n_workers)
        try:
            scores, grads = train_steps(net, fnet, X, y, steps=4)
        finally:
            fnet.close()
        runs.append((scores, net.state_dict()))
    for other in runs[1:]:
        for a, b in zip(runs[0][0], other[0]):
            np.testing.assert_array_equal(a, b)
        for k in runs[0][1]:
            np.testing.assert_array_equal(runs[0][1][k], other[1][k])
