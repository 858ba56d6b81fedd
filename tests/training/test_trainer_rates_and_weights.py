"""Two things the training loop decides once per run: epoch e trains at the schedule's rate for e
(counted from 0), and sample weights count relative to their mean (a weight of 3 on every sample is
the unweighted run; weights 2 and 1 are a row seen twice and a row seen once).

Planted bugs these catch (``scripts/plant_bugs.py``), both survivors of every other fast test:
training-13 (the schedule evaluated one epoch ahead) and training-12 (sample weights not divided
by their mean, so a uniform weight of 3 tripled every step).
"""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.training import Trainer


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def trainer(epochs=3, **kw):
    net = nn.Sequential(nn.Linear(4, 3, rng=0))
    return Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=16, epochs=epochs,
                   rng=0, **kw)


@pytest.mark.parametrize("schedule,expected", [({"name": "step", "step_size": 1, "gamma": 0.5}, [0.1, 0.05, 0.025]),
                                               ({"name": "exponential", "gamma": 0.1}, [0.1, 0.01, 0.001]),
                                               ("cosine", [0.1, 0.075, 0.025])])
def test_epoch_e_trains_at_the_schedules_rate_for_e(schedule, expected):
    h = trainer(lr_schedule=schedule).fit(*data())
    np.testing.assert_allclose(h["lr"], expected, rtol=1e-12)


def test_a_uniform_sample_weight_is_the_unweighted_run():
    X, y = data()
    plain, weighted = trainer(), trainer()
    plain.fit(X, y)
    weighted.fit(X, y, sample_weight=np.full(len(y), 3.0))
    for k, v in plain.model.state_dict().items():
        np.testing.assert_allclose(weighted.model.state_dict()[k], v, rtol=1e-6, atol=1e-7, err_msg=k)
