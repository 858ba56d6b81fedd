"""Resume is bit-identical on every BLAS kernel, and refuses a checkpoint of another run.

.ci/run runs the tests marked ``determinism`` twice more: with OPENBLAS_CORETYPE=Haswell and with it
unset, so that CI is red on any machine where the promise breaks (the tests never set it).
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from chainrule import losses, nn, optim
from chainrule.training import Callback, Checkpoint, Trainer

pytestmark = pytest.mark.determinism


def data(n=300, d=40, c=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = rng.standard_normal((c, d))[y] * 2 + rng.standard_normal((n, d))
    return X.astype(np.float32), y


OPTIMIZERS = {
    "sgd": lambda m: optim.SGD(m, lr=0.05),
    "momentum": lambda m: optim.SGD(m, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda m: optim.Adam(m, lr=0.005),
    "rmsprop": lambda m: optim.RMSprop(m, lr=0.002),
}


def make(opt="momentum", epochs=5, lr=None, batch_size=32, seed=0, width=64, callbacks=()):
    model = nn.Sequential(nn.Linear(40, width, rng=seed), nn.BatchNorm1d(width), nn.ReLU(),
                          nn.Dropout(0.3, rng=seed + 1), nn.Linear(width, 5, rng=seed + 2))
    o = OPTIMIZERS[opt](model)
    if lr is not None:
        o.lr = lr
    return Trainer(model, losses.SoftmaxLogLikelihood(), o, batch_size=batch_size, epochs=epochs, rng=seed,
                   lr_schedule="cosine", callbacks=list(callbacks))


class StopAfter(Callback):
    """Ends the run after ``epochs`` complete epochs (as a kill after a checkpoint would)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, record):
        if epoch + 1 == self.epochs:
            trainer.stop_training = True


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_resumed_run_ends_with_the_bits_of_an_uninterrupted_one(tmp_path, opt, threads):
    X, y = data()
    with threadpool_limits(threads):
        full = make(opt)
        full.fit(X, y, validation_fraction=0.2)
        path = tmp_path / "run.npz"
        make(opt, callbacks=[Checkpoint(path), StopAfter(2)]).fit(X, y, validation_fraction=0.2)
        resumed = make(opt, callbacks=[Checkpoint(path)]).resume(path)
        assert resumed.start_epoch == 2
        resumed.fit(X, y, validation_fraction=0.2)
    for k, v in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v, err_msg=k)
    assert resumed.history["loss"] == full.history["loss"]


_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from training.test_resume import make, data
    from chainrule.training import Checkpoint
    X, y = data(2000)
    path, out, resume = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    t = make("adam", epochs=8, width=128, callbacks=[Checkpoint(path)])
    if resume:
        t.resume(path)
    print("ready", flush=True)
    t.fit(X, y, validation_fraction=0.1)
    np.savez(out, **t.model.state_dict())
""")


def test_sigkill_at_a_random_moment_then_resume_ends_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT.format(tests=os.path.dirname(os.path.dirname(__file__))))
    env = dict(os.environ)

    def run(path, out, resume):
        return subprocess.run([sys.executable, str(script), str(path), str(out), "1" if resume else "0"],
                              env=env, capture_output=True, text=True, timeout=300)

    reference = tmp_path / "reference.npz"
    t0 = time.perf_counter()
    r = run(tmp_path / "ref.ckpt", reference, False)
    assert r.returncode == 0, r.stderr
    duration = time.perf_counter() - t0
    rng = np.random.default_rng(int(time.time()))
    for attempt in range(3):
        path, out = tmp_path / f"k{attempt}.ckpt", tmp_path / f"k{attempt}.npz"
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(out), "0"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.2, 0.8) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if path.exists():
            r = run(path, out, True)
        else:                                   # killed before the first checkpoint: start again
            r = run(path, out, False)
        assert r.returncode == 0, r.stderr
        with np.load(reference) as ref, np.load(out) as got:
            for k in ref.files:
                np.testing.assert_array_equal(got[k], ref[k], err_msg=f"attempt {attempt}: {k}")
        assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


# ---- refusals -----------------------------------------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path):
    X, y = data(120)
    path = tmp_path / "run.npz"
    make("momentum", callbacks=[Checkpoint(path), StopAfter(2)]).fit(X, y)
    return path


@pytest.mark.parametrize("change,named", [
    (dict(lr=0.5), r"optimizer.lr: checkpoint 0.05, this run 0.5"),
    (dict(opt="adam"), r"optimizer.type: checkpoint 'SGD', this run 'Adam'"),
    (dict(batch_size=16), r"batch_size: checkpoint 32, this run 16"),
    (dict(width=32), r"model.config.modules.0.config.out_features: checkpoint 64, this run 32"),
    (dict(seed=1), r"the random seed: checkpoint '[0-9a-f]+', this run '[0-9a-f]+'"),
    (dict(epochs=7), r"epochs: checkpoint 5, this run 7"),
])
def test_resume_with_another_setting_is_refused_naming_it(checkpoint, change, named):
    with pytest.raises(ValueError, match=r"was written by a run with other settings.*" + named):
        make(**change).resume(checkpoint)


def test_every_difference_is_named_in_one_message(checkpoint):
    with pytest.raises(ValueError) as info:
        make(lr=0.5, batch_size=16).resume(checkpoint)
    assert "optimizer.lr" in str(info.value) and "batch_size" in str(info.value)
    make().resume(checkpoint)                     # the same settings resume


def _rewrite_meta(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta.update(changes)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("done,match", [(-5, r"completed_epochs must be an integer >= 0; got -5"),
                                        (9, r"completed_epochs \(9\) is beyond the run's epochs \(5\)"),
                                        ("3", r"completed_epochs must be an integer >= 0; got '3'")])
def test_impossible_values_in_a_checkpoint_are_refused(checkpoint, done, match):
    _rewrite_meta(checkpoint, completed_epochs=done)
    with pytest.raises(ValueError, match=match):
        make().resume(checkpoint)
