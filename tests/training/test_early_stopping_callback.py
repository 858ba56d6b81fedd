"""The ``EarlyStopping`` callback's rule, epoch by epoch, on a scripted validation curve: it stops
after exactly ``patience`` epochs without an improvement larger than ``min_delta``, maximises a
monitored accuracy, minimises a loss, and carries its counter through a checkpoint.

Planted bugs these catch (``scripts/plant_bugs.py``), each of which survived every other fast test:
training-01 (``wait > patience``: one epoch too many), training-02 (``min_delta`` with the wrong
sign: a change smaller than min_delta counted as progress), training-03 (a monitored
``val_accuracy`` minimised), training-05 (the counter not restored on resume) and training-04
(``restore_best`` dropped from the final restore: a run resumed with restore_best=False from a
checkpoint written with restore_best=True put the old best weights back).
"""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.training import Callback, EarlyStopping, Trainer


class Script(Callback):
    """Replaces the monitored field of each epoch's record with the next scripted value."""

    def __init__(self, field, values):
        self.field, self.values = field, list(values)

    def on_epoch_end(self, trainer, epoch, record):
        record[self.field] = self.values[epoch]


def run(values, field="val_loss", epochs=None, **kw):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    es = EarlyStopping(monitor=field, **kw)
    t = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.01), batch_size=None,
                epochs=epochs or len(values), rng=0, callbacks=[Script(field, values), es])
    h = t.fit(X, y, validation_data=(X, y))
    return len(h), h, es


def test_it_stops_after_exactly_patience_epochs_without_improvement():
    n, h, es = run([1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], patience=2, restore_best=False)
    assert n == 4 and h.stopped_early and h.best_epoch == 1     # epochs 2 and 3 did not improve
    n, h, _ = run([1.0, 0.5, 0.6, 0.4, 0.45, 0.47, 0.3], patience=2, restore_best=False)
    assert n == 6 and h.best_epoch == 3                         # the improvement at 3 reset the count


def test_a_change_smaller_than_min_delta_is_no_improvement():
    n, h, _ = run([1.0, 0.95, 0.93, 0.5, 0.4], patience=2, min_delta=0.1, restore_best=False)
    assert n == 3 and h.best_epoch == 0
    n, h, _ = run([1.0, 0.85, 0.7, 0.55, 0.4], patience=1, min_delta=0.1, restore_best=False)
    assert n == 5 and not h.stopped_early


def test_an_accuracy_is_maximised():
    n, h, _ = run([0.5, 0.7, 0.6, 0.65, 0.9], field="val_accuracy", patience=2, restore_best=False)
    assert n == 4 and h.best_epoch == 1


def test_the_counter_survives_a_checkpoint():
    _, _, es = run([1.0, 0.5, 0.6], patience=5, restore_best=False)
    assert (es.best, es.best_epoch, es.wait) == (0.5, 1, 1)
    again = EarlyStopping(patience=5, restore_best=False)
    again.set_state(*es.get_state())
    assert (again.best, again.best_epoch, again.wait) == (0.5, 1, 1)


def test_restore_best_false_never_restores_even_from_a_checkpoint_holding_best_weights():
    _, _, es = run([1.0, 0.5, 0.6], patience=5, restore_best=True)
    arrays, meta = es.get_state()
    assert arrays                                                     # the best weights, as a checkpoint holds them
    resumed = EarlyStopping(patience=5, restore_best=False)
    resumed.set_state(arrays, meta)
    net = nn.Sequential(nn.Linear(3, 2, rng=1))
    before = {k: v.copy() for k, v in net.state_dict().items()}

    class Holder:
        model = net

    resumed.on_train_end(Holder())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
