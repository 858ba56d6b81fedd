"""AdaGrad (Duchi, Hazan and Singer, 2011), as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number
from .base import Optimizer


def adagrad_update(w, g, state, *, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0, initial_accumulator_value=0.0):
    r"""One step of AdaGrad on ``w``, in place, with t = ``state["step"]`` counted from 1.

    State: ``sum`` (s, starting at ``initial_accumulator_value``) and ``step``.

    Parameters
    ----------
    w : ndarray
        The weight, updated in place.
    g : ndarray
        dL/dw, the weight's shape (not modified).
    state : dict
        This weight's state between steps (created on the first step).
    lr : float
        The learning rate alpha.
    lr_decay : float, default 0
        lr_t = lr / (1 + (t - 1) lr_decay).
    eps : float, default 1e-10
        Added to the denominator.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    initial_accumulator_value : float, default 0
        The starting value of s.

    Notes
    -----
    .. math::
       s \leftarrow s + g^2, \qquad w \leftarrow w - \mathrm{lr}_t \frac{g}{\sqrt{s} + \epsilon}.
    """
    dt = w.dtype.type
    if weight_decay:
        g = g + dt(weight_decay) * w
    t = state["step"] = state.get("step", 0) + 1
    s = state.get("sum")
    if s is None:
        s = state["sum"] = np.full_like(w, initial_accumulator_value)
    s += g * g
    clr = lr / (1 + (t - 1) * lr_decay)
    denom = np.sqrt(s)
    denom += dt(eps)
    w -= dt(clr) * (g / denom)


class Adagrad(Optimizer):
    r"""AdaGrad (Duchi, Hazan and Singer, 2011): each weight's step shrinks with the sum of its
    squared gradients.

    PyTorch's definition and defaults; the formulas are in ``adagrad_update``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        What to update (a module stands for ``module.parameters()``).
    lr : float > 0, default 0.01
        The learning rate.
    lr_decay : float >= 0, default 0
        Decay of the learning rate with the step count.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    initial_accumulator_value : float >= 0, default 0
        The starting sum of squared gradients.
    eps : float > 0, default 1e-10
        Added to the denominator.

    Notes
    -----
    .. math:: s \leftarrow s + g^2, \qquad W \leftarrow W - \mathrm{lr}_t \frac{g}{\sqrt{s} + \epsilon}.
    """

    def __init__(self, params, lr: float = 0.01, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, lr)
        self.lr_decay = check_number("lr_decay", lr_decay)
        self.weight_decay = check_number("weight_decay", weight_decay)
        self.initial_accumulator_value = check_number("initial_accumulator_value", initial_accumulator_value)
        self.eps = check_number("eps", eps, 0.0, low_inclusive=False)

    def hyperparameters(self):
        return {"lr": self.lr, "lr_decay": self.lr_decay, "eps": self.eps, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value}

    def _update(self, w, g, state):
        adagrad_update(w, g, state, lr=self.lr, lr_decay=self.lr_decay, eps=self.eps,
                       weight_decay=self.weight_decay, initial_accumulator_value=self.initial_accumulator_value)
