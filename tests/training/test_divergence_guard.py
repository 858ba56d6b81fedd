"""The divergence guard's limit is ``divergence_factor`` times max(|first objective|, 1): a run whose
first loss is tiny (a good start) is not stopped when a later batch's loss is merely ordinary.

Planted bug this catches (``scripts/plant_bugs.py``): training-20, the reference without its floor
of 1 (a first loss of 1e-4 made a loss of 0.5 a "divergence"), which survived every other fast test.
"""
import math

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.errors import TrainingDiverged
from chainrule.training import History, Trainer
from chainrule.training.guards import DivergenceGuard


def test_the_reference_is_at_least_one():
    guard, history = DivergenceGuard(1e3), History()
    guard.check(1e-4, epoch=0, batch=0, lr=0.1, history=history)       # the first batch sets the reference
    assert guard.reference == 1.0 and guard.limit == 1e3
    guard.check(50.0, epoch=0, batch=1, lr=0.1, history=history)       # ordinary: no divergence
    with pytest.raises(TrainingDiverged, match="exploded above 1e"):
        guard.check(2e3, epoch=0, batch=2, lr=0.1, history=history)
    big = DivergenceGuard(1e3)
    big.check(-40.0, epoch=0, batch=0, lr=0.1, history=history)
    assert big.reference == 40.0 and math.isinf(DivergenceGuard(1e3).limit)


def test_a_run_that_starts_near_zero_loss_trains_on():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0], np.float32)).reshape(-1, 1)
    net = nn.Sequential(nn.Linear(2, 1, bias=False, rng=0))
    net[0].weight.value[:] = [[1.0, -2.0]]
    y[32:] += 3.0                                                      # later batches: a loss of about 9
    t = Trainer(net, losses.L2Loss(), optim.SGD(net, lr=1e-3), batch_size=32, epochs=2, shuffle=False,
                task="regression", rng=0, divergence_factor=100.0)
    h = t.fit(X, y)
    assert len(h) == 2 and not h.diverged
