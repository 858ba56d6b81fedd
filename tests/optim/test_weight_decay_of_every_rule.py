"""Weight decay is the same thing in every rule: a step with weight_decay = lambda on gradient g is the
step without it on gradient g + lambda W (coupled decay, as PyTorch's SGD, Adam, RMSprop and Adagrad).

Planted bug this catches (``scripts/plant_bugs.py``): optim-13, RMSprop's decay computed as lambda g
instead of lambda W, which survived every other fast test (no test stepped RMSprop with weight decay);
the same check guards SGD's, Adam's and Adagrad's decay.
"""
import numpy as np
import pytest

from chainrule import optim
from chainrule.core.parameter import Parameter

W0 = np.array([[0.8, -1.5, 2.0], [0.1, 0.0, -0.7]])
GRADS = [np.array([[0.3, -0.2, 0.05], [1.0, -0.4, 0.2]]), np.array([[-0.1, 0.25, 0.3], [0.2, 0.6, -0.5]])]
RULES = [(optim.SGD, {"lr": 0.1, "momentum": 0.9}), (optim.SGD, {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
         (optim.Adam, {"lr": 0.01}), (optim.Adam, {"lr": 0.01, "amsgrad": True}),
         (optim.RMSprop, {"lr": 0.01}), (optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
         (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.1})]


@pytest.mark.parametrize("rule,kw", RULES, ids=lambda v: getattr(v, "__name__", None) or "-".join(map(str, v.values())))
def test_a_step_with_weight_decay_is_a_step_on_the_decayed_gradient(rule, kw):
    wd = 0.05
    decayed, by_hand = Parameter(W0.copy()), Parameter(W0.copy())
    a, b = rule([decayed], weight_decay=wd, **kw), rule([by_hand], **kw)
    for g in GRADS:
        decayed.grad = g.copy()
        by_hand.grad = g + wd * by_hand.value          # the decayed gradient, from the weight before the step
        a.step()
        b.step()
        np.testing.assert_allclose(decayed.value, by_hand.value, rtol=1e-12, atol=1e-15)
    assert not np.allclose(decayed.value, W0)
