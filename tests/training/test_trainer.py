"""The training loop: batching, objective, validation, divergence, Ctrl-C, callbacks, checkpoints."""
import io
import json
import os
import signal

import numpy as np
import pytest

from chainrule import TrainingDiverged, losses, nn, optim, regularizers
from chainrule.training import (Callback, Checkpoint, EarlyStopping, History, ProgressBar, Trainer,
                                batch_slices, stratified_split)


class RowSpy(nn.Identity):
    """Records which rows (column 0 holds the row id) each training batch contained."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, x):
        if self.training:
            self.batches.append(x[:, 0].astype(int).tolist())
        return x


def blobs(n=300, d=5, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    centers = rng.standard_normal((c, d)) * 3
    X = centers[y] + rng.standard_normal((n, d))
    return X.astype(np.float32), y


def make_trainer(model=None, lr=0.05, epochs=3, batch_size=32, seed=0, **kw):
    model = model or nn.Sequential(nn.Linear(5, 3, rng=seed))
    return Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=lr, momentum=0.9),
                   batch_size=batch_size, epochs=epochs, rng=seed, **kw)


@pytest.mark.parametrize("n,batch_size", [(100, 32), (100, 64), (256, 128), (1000, 256), (50, 50), (50, None)])
def test_each_epoch_visits_every_sample_once_and_keeps_the_last_partial_batch(n, batch_size):
    spy = RowSpy()
    X = np.column_stack([np.arange(n), np.random.default_rng(0).standard_normal((n, 4))]).astype(np.float32)
    y = np.arange(n) % 3
    model = nn.Sequential(spy, nn.Linear(5, 3, rng=0))
    make_trainer(model, epochs=2, batch_size=batch_size).fit(X, y)
    per_epoch = len(batch_slices(n, batch_size))
    spy.batches = spy.batches[-2 * per_epoch:]   # drop the single-row probe of the output shape
    assert len(spy.batches) == 2 * per_epoch
    for e in range(2):
        rows = [r for b in spy.batches[e * per_epoch:(e + 1) * per_epoch] for r in b]
        assert sorted(rows) == list(range(n))
        sizes = [len(b) for b in spy.batches[e * per_epoch:(e + 1) * per_epoch]]
        bs = batch_size or n
        assert sizes[:-1] == [bs] * (per_epoch - 1) and sizes[-1] == n - bs * (per_epoch - 1)
    if batch_size is not None and batch_size < n:
        assert spy.batches[0] != spy.batches[per_epoch]   # reshuffled between epochs


def test_batch_norm_never_gets_a_single_sample_batch():
    assert [s.stop - s.start for s in batch_slices(65, 32, min_batch=2)] == [32, 33]
    assert [s.stop - s.start for s in batch_slices(65, 32)] == [32, 32, 1]
    X, y = blobs(65)
    sizes = []

    class BatchSizes(nn.Identity):
        def forward(self, x):
            if self.training:
                sizes.append(x.shape[0])
            return super().forward(x)

    with pytest.raises(ValueError, match="BatchNorm1d needs at least 2"):
        nn.BatchNorm1d(4).forward(X[:1, :4])
    model = nn.Sequential(nn.Linear(5, 4, rng=0), BatchSizes(), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3, rng=1))
    h = make_trainer(model, epochs=2).fit(X, y)
    assert sizes == [32, 33, 32, 33]           # the last sample joins the previous batch
    assert len(h) == 2 and all(np.isfinite(h["loss"]))


def test_full_batch_is_gradient_descent():
    X, y = blobs(40)
    model = nn.Sequential(nn.Linear(5, 3, rng=0, dtype=np.float64))
    w0 = model[0].weight.value.copy()
    b0 = model[0].bias.value.copy()
    Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=0.1), batch_size=None, epochs=1,
            rng=0).fit(X.astype(np.float64), y)
    # one step of W <- W - lr dL/dW on the whole set, computed by hand
    s = X.astype(np.float64) @ w0.T + b0
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(40), y] -= 1
    np.testing.assert_allclose(model[0].weight.value, w0 - 0.1 * (p.T @ X) / 40, rtol=1e-6)


def test_objective_adds_penalties_of_weights_only():
    X, y = blobs(60)
    model = nn.Sequential(nn.Linear(5, 3, rng=0, dtype=np.float64))
    model[0].weight.regularizer = regularizers.L2(0.5)
    t = Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=1e-9), batch_size=None, epochs=1, rng=0)
    W = model[0].weight.value.copy()
    h = t.fit(X.astype(np.float64), y)
    assert h["loss"][0] == pytest.approx(h["data_loss"][0] + 0.5 * np.sum(W**2), rel=1e-6)
    assert h["loss"][0] > h["data_loss"][0]


def test_validation_fraction_is_stratified_and_seeded():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va = stratified_split(y, 0.2, np.random.default_rng(0))
    assert np.bincount(y[va]).tolist() == [10, 6, 4]
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(100))
    tr2, va2 = stratified_split(y, 0.2, np.random.default_rng(0))
    np.testing.assert_array_equal(va, va2)
    X, yb = blobs(200)
    h = make_trainer(epochs=2).fit(X, yb, validation_fraction=0.25)
    assert "val_loss" in h.fields() and "val_accuracy" in h.fields()


def test_history_fields_and_json_round_trip(tmp_path):
    X, y = blobs()
    h = make_trainer(epochs=3).fit(X, y, validation_data=blobs(90, seed=1))
    for field in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(h[field]) == 3, field
    assert h["accuracy"][-1] > 0.9
    path = tmp_path / "history.json"
    h.save(path)
    back = History.load(path)
    assert back.records == h.records and back.interrupted is False
    assert json.loads(path.read_text())["records"][0]["epoch"] == 0
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_regression_task_records_rmse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    model = nn.Sequential(nn.Linear(3, 1, rng=0))
    h = Trainer(model, losses.L2Loss(), optim.SGD(model, lr=0.05), batch_size=20, epochs=30, rng=0,
                task="regression").fit(X, y)
    assert h["error"][-1] < 0.05 < h["error"][0]


def test_divergence_names_epoch_batch_and_lr_and_keeps_history():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5)).astype(np.float32) * 10
    y = X @ rng.standard_normal((5, 2)).astype(np.float32)
    model = nn.Sequential(nn.Linear(5, 2, rng=0))
    t = Trainer(model, losses.L2Loss(), optim.SGD(model, lr=0.5), batch_size=32, epochs=5, rng=0, task="regression")
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 1, batch \d+: the loss exploded .* learning rate 0\.5\. Try a smaller learning rate, e.g. lr=0\.05") as info:
        t.fit(X, y)
    err = info.value
    assert err.lr == 0.5 and err.epoch == 0 and err.history is t.history and err.history.diverged
    assert all(np.isfinite(p.value).all() for p in t.model.parameters())   # last good weights restored


class InterruptAt(Callback):
    """Sends a real SIGINT to this process at a given batch and records the weights there."""

    def __init__(self, epoch, batch, twice=False):
        self.at, self.twice, self.state = (epoch, batch), twice, None

    def on_batch_end(self, trainer, epoch, batch, loss):
        if (epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGINT)
            if self.twice:
                os.kill(os.getpid(), signal.SIGINT)
            self.state = trainer.model.state_dict()


def test_ctrl_c_stops_after_the_current_batch_and_keeps_the_weights(ctrl_c_as_in_a_terminal):
    X, y = blobs()
    spy = InterruptAt(1, 3)
    t = make_trainer(epochs=5, callbacks=[spy])
    h = t.fit(X, y)
    assert h.interrupted and len(h) == 1                 # epoch 0 complete, epoch 1 cut short
    for k, v in t.model.state_dict().items():
        np.testing.assert_array_equal(v, spy.state[k])  # exactly the weights after that batch
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_raises(ctrl_c_as_in_a_terminal):
    X, y = blobs()
    with pytest.raises(KeyboardInterrupt):
        make_trainer(epochs=3, callbacks=[InterruptAt(0, 1, twice=True)]).fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_ignored_when_the_run_began_stays_ignored():
    # a job started in the background of a script (``cmd &``) ignores SIGINT; Python leaves it so, and so do runs
    X, y = blobs()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        h = make_trainer(epochs=3, callbacks=[InterruptAt(0, 1, twice=True)]).fit(X, y)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not h.interrupted and len(h) == 3


def test_early_stopping_restores_the_best_weights():
    X, y = blobs(200, seed=3)
    Xv, yv = blobs(100, seed=4)
    yv = (yv + 1) % 3                                   # validation labels that training makes worse

    class Snap(Callback):
        states = {}

        def on_epoch_end(self, trainer, epoch, record):
            Snap.states[epoch] = trainer.model.state_dict()

    es = EarlyStopping(patience=2)
    t = make_trainer(epochs=30, callbacks=[Snap(), es])
    h = t.fit(X, y, validation_data=(Xv, yv))
    assert h.stopped_early and len(h) < 30
    best = int(np.argmin(h["val_loss"]))
    assert h.best_epoch == best
    for k, v in t.model.state_dict().items():
        np.testing.assert_array_equal(v, Snap.states[best][k])


def _resumable(seed=0):
    model = nn.Sequential(nn.Linear(5, 8, rng=seed), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.2, rng=seed + 1), nn.Linear(8, 3, rng=seed))
    return model


def test_checkpoint_resume_equals_an_uninterrupted_run(tmp_path, ctrl_c_as_in_a_terminal):
    X, y = blobs(250)

    def trainer(cbs):
        model = _resumable()
        return Trainer(model, losses.SoftmaxLogLikelihood(), optim.Adam(model, lr=0.01), batch_size=32,
                       epochs=6, rng=7, lr_schedule="cosine", callbacks=cbs)

    full = trainer([])
    full.fit(X, y, validation_fraction=0.2)
    path = tmp_path / "ckpt.npz"
    first = trainer([Checkpoint(path), InterruptAt(3, 2)])
    first.fit(X, y, validation_fraction=0.2)           # Ctrl-C during epoch 4: checkpoint holds 3 epochs
    assert first.history.interrupted
    resumed = trainer([Checkpoint(path)]).resume(path)
    assert resumed.start_epoch == 3
    h = resumed.fit(X, y, validation_fraction=0.2)
    assert len(h) == 6 and not h.interrupted
    for k, v in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v, err_msg=k)
    assert h["val_loss"] == full.history["val_loss"]


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    X, y = blobs(64)
    path = tmp_path / "ckpt.npz"
    t = make_trainer(epochs=1, callbacks=[Checkpoint(path)])
    t.fit(X, y)
    good = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        t.save_checkpoint(path)
    assert path.read_bytes() == good                   # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temporary file left behind


def test_damaged_checkpoint_is_refused_with_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"is not a readable chainrule checkpoint"):
        make_trainer().resume(bad)


def test_progress_output_modes():
    X, y = blobs(64)
    quiet = io.StringIO()
    make_trainer(epochs=2, callbacks=[ProgressBar(0, stream=quiet)]).fit(X, y)
    assert quiet.getvalue() == ""
    lines = io.StringIO()                               # not a terminal: one line per epoch
    make_trainer(epochs=3, callbacks=[ProgressBar(1, stream=lines)]).fit(X, y)
    out = lines.getvalue().strip().splitlines()
    assert len(out) == 3 and out[0].startswith("epoch 1/3") and "loss" in out[0] and "acc" in out[0]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()                                    # a terminal: tqdm bars
    make_trainer(epochs=2, callbacks=[ProgressBar(1, stream=tty)]).fit(X, y)
    assert "\r" in tty.getvalue() and "batch" in tty.getvalue()


def test_same_seed_gives_identical_bits_and_another_seed_does_not():
    X, y = blobs()

    def run(seed):
        model = _resumable(seed)
        Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=0.05, momentum=0.9),
                batch_size=32, epochs=3, rng=seed).fit(X, y, validation_fraction=0.1)
        return model.state_dict()

    a, b, c = run(1), run(1), run(2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_trainer_argument_errors():
    model = nn.Sequential(nn.Linear(5, 3))
    opt = optim.SGD(model, lr=0.1)
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer or None; got 0"):
        Trainer(model, losses.L2Loss(), opt, batch_size=0)
    with pytest.raises(TypeError, match=r"loss must be a Loss; got str"):
        Trainer(model, "l2", opt)
    with pytest.raises(ValueError, match=r"X and y must have the same number of samples; got 10 and 9"):
        Trainer(model, losses.SoftmaxLogLikelihood(), opt).fit(np.zeros((10, 5)), np.zeros(9, int))
    with pytest.raises(ValueError, match=r"target must hold integer class labels in \[0, 3\); got 7 at index 9"):
        Trainer(model, losses.SoftmaxLogLikelihood(), opt).fit(np.zeros((10, 5)), np.r_[np.zeros(9, int), 7])


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    import stat
    from chainrule.io.atomic import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o644
        os.chmod(tmp_path / "new.txt", 0o640)
        atomic_write_text(tmp_path / "new.txt", "y")          # an existing file keeps its mode
        assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    finally:
        os.umask(old)


@pytest.mark.parametrize("penalty", [None, regularizers.L2(0.01)])
def test_gradients_after_a_training_batch_are_the_true_gradients(penalty):
    """After a training batch p.grad is dL/dp of that batch (plus the penalty's gradient): no factor travels
    between the loop, the optimizer and the parameters."""
    X, y = blobs(64)
    X = X.astype(np.float64)
    model = nn.Sequential(nn.Linear(5, 4, rng=0, dtype=np.float64), nn.ReLU(), nn.Linear(4, 3, rng=1, dtype=np.float64))
    if penalty is not None:
        model[0].weight.regularizer = penalty
    before = model.state_dict()
    t = Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=0.3, momentum=0.9), batch_size=None,
                epochs=1, rng=0)
    t.fit(X, y)
    reference = nn.Sequential(nn.Linear(5, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 3, dtype=np.float64))
    reference.load_state_dict(before)
    loss = losses.SoftmaxLogLikelihood()
    reference.zero_grad()
    loss(reference.forward(X), y)
    reference.backward(loss.backward())
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        expected = q.grad + (penalty.gradient(before[name]) if (penalty is not None and name == "0.weight") else 0)
        np.testing.assert_allclose(p.grad, expected, rtol=1e-10, atol=1e-12, err_msg=name)


def test_progress_bar_draws_in_a_jupyter_kernel(monkeypatch, capsys):
    """In a notebook sys.stderr is no terminal, yet a bar is wanted (tqdm's auto mode)."""
    import types

    class ZMQInteractiveShell:                          # the class name Jupyter's kernel shell has
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()
    monkeypatch.setitem(__import__("sys").modules, "IPython", fake)
    X, y = blobs(64)
    make_trainer(epochs=2, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "batch" in err and "|" in err     # tqdm's bar, not only the epoch lines
    monkeypatch.delitem(__import__("sys").modules, "IPython")
    make_trainer(epochs=1, verbose=1).fit(X, y)
    assert "|" not in capsys.readouterr().err                       # a pipe: one line per epoch
