"""The regression error a run records is the root of the mean squared error, for the training epochs
and for ``Trainer.evaluate`` (the validation error) alike.

Planted bug this catches (``scripts/plant_bugs.py``): training-21, ``metrics.rmse`` without its
square root (the validation error and ``evaluate`` reported the MSE), which survived every other
fast test: the test of recorded errors looked at the training epochs only.
"""
import math

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.training import Trainer, rmse


def test_rmse_is_the_root_of_the_mean_square():
    assert rmse([0.0, 0.0], [3.0, 4.0]) == pytest.approx(math.sqrt(12.5), rel=1e-15)
    assert rmse([[1.0], [2.0]], [[1.0], [2.0]]) == 0.0


def test_evaluate_and_the_validation_error_are_rmse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None] + 2.0
    net = nn.Sequential(nn.Linear(3, 1, rng=0))
    t = Trainer(net, losses.L2Loss(), optim.SGD(net, lr=0.01), batch_size=20, epochs=2, rng=0, task="regression")
    h = t.fit(X, y, validation_data=(X, y))
    scores = t.predict_scores(X).astype(np.float64)
    expected = math.sqrt(np.mean((scores - y) ** 2))
    assert t.evaluate(X, y)["error"] == pytest.approx(expected, rel=1e-6)
    assert h["val_error"][-1] == pytest.approx(expected, rel=1e-6)
    assert abs(expected - 1) > 0.05                                    # away from 1: root and square differ
