"""Whole networks run fused against the same networks run module by module (the reference), and the
determinism the engine promises: the same bits every run and for any number of workers."""
import copy
import pickle

import numpy as np
import pytest

from chainrule import losses, optim
from chainrule.architectures import lenet, resnet
from fused_helpers import TOL, rel

pytest.importorskip("numba")


def train_steps(net, X, y, steps=3):
    """The notes' loop for ``steps`` batches; the scores of each step and the first step's gradients
    (later steps may route a pooling's near-tie differently in float32: a different subgradient)."""
    loss = losses.SoftmaxLogLikelihood()
    opt = optim.SGD(net, lr=0.05, momentum=0.9)
    scores = []
    for _ in range(steps):
        opt.zero_grad()
        s = net.forward(X)
        loss.forward(s, y)
        net.backward(loss.backward())
        scores.append(s)
        if not scores[:-1]:
            grads = {k: None if p.grad is None else p.grad.copy() for k, p in net.named_parameters()}
        opt.step()
    return scores, grads


def data(dtype, n=21, size=12, seed=0, channels=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, channels, size, size)).astype(dtype), rng.integers(0, 10, n)


#: small ResNets (width 4, two blocks per stage, 16 x 16 x 3 images): stochastic depth per row, per
#: batch (whole blocks dropped), none
RESNETS = {"resnet-row": (0.5, "row"), "resnet-batch": (0.3, "batch"), "resnet-no-sd": (1.0, "row")}


def small_resnet(case, dtype):
    p, mode = RESNETS[case]
    return lambda: resnet(3, 10, width=4, blocks_per_stage=2, p_last=p, mode=mode, rng=0, dtype=dtype)


def check_resnet(build, case, dtype, steps):
    """``steps`` SGD steps fused and module by module: scores, the first step's gradients, the
    running statistics and the weights after."""
    fused, ref = build(small_resnet(case, dtype), True), build(small_resnet(case, dtype), False)
    X, y = data(dtype, n=13, size=16, channels=3)
    s_f, g_f = train_steps(fused, X, y, steps)
    s_r, g_r = train_steps(ref, X, y, steps)
    assert fused._fused_ran
    for a, b in zip(s_f, s_r):
        assert rel(a, b) <= TOL[dtype] * 10
    for k in g_r:
        assert (g_f[k] is None) == (g_r[k] is None), k          # a dropped block gets no gradient
        assert g_r[k] is None or rel(g_f[k], g_r[k]) <= TOL[dtype], k
    after = 1e-3 if dtype == np.float32 else 1e-10
    for (k, a), (_, b) in zip(fused.state_dict().items(), ref.state_dict().items()):
        assert rel(a, b) <= after if a.dtype.kind == "f" else np.array_equal(a, b), k
    fused.eval()
    ref.eval()
    assert rel(fused.forward(X), ref.forward(X)) <= after


@pytest.mark.parametrize("case", sorted(RESNETS))
def test_a_resnet_training_step_matches_the_reference_float32(build, case):
    check_resnet(build, case, np.float32, steps=1)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RESNETS))
def test_resnet_training_steps_match_the_reference_float64(build, case):
    check_resnet(build, case, np.float64, steps=3)


def check_against_reference(build, dtype, n_threads, threads):
    threads(n_threads)
    make = lambda: lenet(1, 10, 12, rng=0, dtype=dtype)    # noqa: E731
    fused, ref = build(make, True), build(make, False)
    X, y = data(dtype)
    s_f, g_f = train_steps(fused, X, y)
    assert fused._fused_ran and not ref.__dict__.get("_fused_ran")
    s_r, g_r = train_steps(ref, X, y)
    for a, b in zip(s_f, s_r):
        assert rel(a, b) <= TOL[dtype] * 10        # three steps of SGD with momentum
    for k in g_r:
        assert (g_f[k] is None) == (g_r[k] is None), k          # a dropped block gets no gradient
        assert g_r[k] is None or rel(g_f[k], g_r[k]) <= TOL[dtype], k
    after = 1e-3 if dtype == np.float32 else 1e-10    # three steps: float32 rounding routes near-ties apart
    for (k, p), (_, q) in zip(fused.named_parameters(), ref.named_parameters()):
        assert rel(p.value, q.value) <= after, k


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_lenet_training_steps_match_the_reference_float32(build, threads, n_threads):
    check_against_reference(build, np.float32, n_threads, threads)


@pytest.mark.slow
@pytest.mark.parametrize("n_threads", [1, 2])
def test_lenet_training_steps_match_the_reference_float64(build, threads, n_threads):
    check_against_reference(build, np.float64, n_threads, threads)


def test_evaluation_mode_and_new_weights_are_read_at_every_call(build):
    make = lambda: lenet(1, 10, 12, rng=0)    # noqa: E731
    fused, ref = build(make, True), build(make, False)
    X, _ = data(np.float32, n=5)
    fused.eval()
    ref.eval()
    assert rel(fused.forward(X), ref.forward(X)) <= 1e-5
    state = lenet(1, 10, 12, rng=7).state_dict()
    fused.load_state_dict(state)
    ref.load_state_dict(state)
    assert rel(fused.forward(X), ref.forward(X)) <= 1e-5
    fused[0].weight.value = fused[0].weight.value * 2
    ref[0].weight.value = ref[0].weight.value * 2
    assert rel(fused.forward(X), ref.forward(X)) <= 1e-5
    assert rel(fused.forward(X[:3]), ref.forward(X[:3])) <= 1e-5       # another batch size: a new plan


def test_outputs_are_fresh_arrays_and_the_network_copies_and_pickles(build):
    net = build(lambda: lenet(1, 10, 12, rng=0), True)
    X, _ = data(np.float32, n=4)
    a = net.forward(X)
    b = net.forward(X + 1)
    assert not np.shares_memory(a, b) and not np.array_equal(a, b)
    twin = copy.deepcopy(net)
    np.testing.assert_array_equal(twin.forward(X), a)
    back = pickle.loads(pickle.dumps(net))       # noqa: S301 (our own object, in memory)
    np.testing.assert_array_equal(back.forward(X), a)


def test_summary_marks_the_layers_that_run_fused(build):
    fused = build(lambda: lenet(1, 10, 12, rng=0), True).summary((1, 12, 12))
    ref = build(lambda: lenet(1, 10, 12, rng=0), False).summary((1, 12, 12))
    assert fused.fused[:3] == ("0", "1", "2") and len(fused.fused) == 10
    assert str(fused).splitlines()[2].split() == ["0", "Conv2d", "(N,", "32,", "12,", "12)", "320", "fused"]
    assert ref.fused == () and "fused" not in str(ref)


@pytest.mark.determinism
@pytest.mark.parametrize("case", ["lenet", "resnet-row", "resnet-batch"])
def test_the_same_bits_every_run_and_for_any_number_of_workers(build, threads, case):
    X, y = data(np.float32, n=37) if case == "lenet" else data(np.float32, n=37, size=16, channels=3)
    make = (lambda: lenet(1, 10, 12, rng=0)) if case == "lenet" else small_resnet(case, np.float32)
    runs = []
    for n in [1, 2, 3, "auto", 2]:
        threads(n)
        net = build(make, True)
        scores, grads = train_steps(net, X, y, steps=3)
        runs.append((scores, grads, net.state_dict()))
    first = runs[0]
    for scores, grads, state in runs[1:]:
        for a, b in zip(scores, first[0]):
            np.testing.assert_array_equal(a, b)
        for k in grads:
            assert (grads[k] is None) == (first[1][k] is None), k
            if grads[k] is not None:
                np.testing.assert_array_equal(grads[k], first[1][k])
        for k in state:
            np.testing.assert_array_equal(state[k], first[2][k])


class _StopAfter:
    """A callback that ends the run after ``epochs`` complete epochs (as a kill after a checkpoint)."""

    def __init__(self, epochs):
        from chainrule.training import Callback
        stop = epochs

        class Stop(Callback):
            def on_epoch_end(self, trainer, epoch, record):
                if epoch + 1 == stop:
                    trainer.stop_training = True
        self.callback = Stop()


@pytest.mark.determinism
@pytest.mark.parametrize("n_threads", [1, 2])
def test_a_resumed_fused_run_ends_with_the_bits_of_an_uninterrupted_one(build, threads, tmp_path, n_threads):
    from chainrule.training import Checkpoint, Trainer
    threads(n_threads)
    X, y = data(np.float32, n=48, size=8)

    def trainer(callbacks=()):
        net = build(lambda: lenet(1, 10, 8, rng=0), True)
        return Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.05, momentum=0.9), batch_size=16,
                       epochs=4, rng=0, callbacks=list(callbacks))
    full = trainer()
    full.fit(X, y)
    assert full.model._fused_ran
    path = tmp_path / "run.npz"
    trainer([Checkpoint(path), _StopAfter(2).callback]).fit(X, y)
    resumed = trainer([Checkpoint(path)]).resume(path)
    resumed.fit(X, y)
    for k, v in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v, err_msg=k)
    assert resumed.history["loss"] == full.history["loss"]


def _forward_in_child(net, X, queue):
    queue.put(net.forward(X).sum())


def test_a_forked_process_runs_a_fused_network_with_its_own_workers(build, threads):
    import multiprocessing
    threads(2)
    net = build(lambda: lenet(1, 10, 12, rng=0), True)
    X, _ = data(np.float32, n=32)
    expected = net.forward(X).sum()                 # the parent's team of two workers exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forward_in_child, args=(net, X, queue))
    child.start()
    child.join(120)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0, "the child hung or failed (a team whose threads were not forked)"
    assert queue.get(timeout=5) == expected


def test_a_large_batch_in_evaluation_runs_in_pieces_and_its_gradient_is_the_layers(build):
    """Prediction batches (4096 rows) run in pieces of the plan's batch (a plan's buffers grow with
    its batch); a backward after such a forward (a saliency map) re-runs the modules."""
    fused, ref = (build(small_resnet("resnet-row", np.float32), c) for c in (True, False))
    X, y = data(np.float32, n=13, size=16, channels=3)
    train_steps(fused, X, y, 1)
    train_steps(ref, X, y, 1)
    fused.eval()
    ref.eval()
    big, _ = data(np.float32, n=30, size=16, channels=3, seed=1)
    out = fused.forward(big)
    assert fused._fused_chain().in_pieces and fused._fused_chain().plan.N == 13
    assert rel(out, ref.forward(big)) <= 1e-5
    g = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    assert rel(fused.backward(g, need_input_grad=True), ref.backward(g, need_input_grad=True)) <= 1e-5


@pytest.mark.determinism
def test_large_batches_take_larger_chunks_and_keep_their_bits(build, threads):
    X, y = data(np.float32, n=300, size=8)
    runs = []
    for n in (1, 2):
        threads(n)
        net = build(lambda: lenet(1, 10, 8, rng=0), True)
        runs.append(train_steps(net, X, y, steps=2))
        assert len(net._fused_chain().plan.bounds) == 19          # 300 images in chunks of 16
    ref = build(lambda: lenet(1, 10, 8, rng=0), False)
    s_r, g_r = train_steps(ref, X, y, steps=1)
    for k in g_r:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])
        assert rel(runs[0][1][k], g_r[k]) <= 1e-5, k
