"""An optimizer's step count survives ``state_dict``/``load_state_dict`` (a checkpoint): it is public
(``opt.steps``) and a diverged update names it ("Adam step 7: ...").

Planted bug this catches (``scripts/plant_bugs.py``): optim-19, ``load_state_dict`` leaving
``steps`` at 0, which survived every other fast test (Adam's bias correction counts in the
per-parameter state, so the weights still resumed bit for bit).
"""
import numpy as np
import pytest

from chainrule import optim
from chainrule.core.parameter import Parameter
from chainrule.errors import TrainingDiverged


def _stepped(rule, n):
    p = Parameter(np.array([1.0, -2.0]))
    opt = rule([p], lr=0.1)
    for _ in range(n):
        p.grad = np.array([0.5, 0.25])
        opt.step()
    return p, opt


@pytest.mark.parametrize("rule", [optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad])
def test_the_step_count_comes_back_from_a_state_dict(rule):
    p, opt = _stepped(rule, 5)
    arrays, scalars = opt.state_dict()
    fresh = rule([Parameter(p.value.copy())], lr=0.1)
    fresh.load_state_dict(arrays, scalars)
    assert opt.steps == 5 and fresh.steps == 5


def test_a_resumed_optimizer_counts_on_in_its_divergence_message():
    p, opt = _stepped(optim.Adam, 6)
    arrays, scalars = opt.state_dict()
    q = Parameter(p.value.copy())
    resumed = optim.Adam([q], lr=0.1)
    resumed.load_state_dict(arrays, scalars)
    q.grad = np.array([np.finfo(np.float64).max, 1.0])      # g^2 overflows
    with pytest.raises(TrainingDiverged, match=r"^Adam step 7: "):
        resumed.step()
