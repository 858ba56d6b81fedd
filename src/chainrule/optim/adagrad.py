"""AdaGrad (Duchi, Hazan and Singer, 2011), as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._validation import check_number
from .base import Optimizer


def adagrad_update(w, g, state, *, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0, initial_accumulator_value=0.0):
    """One step of AdaGrad on ``w`` (in place), with t = ``state["step"]`` counted from 1:

    g <- g + weight_decay w,   lr_t = lr / (1 + (t - 1) lr_decay),   s <- s + g^2,
    w <- w - lr_t g / (sqrt(s) + eps).

    State: ``sum`` (s, starting at ``initial_accumulator_value``) and ``step``.
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
    """AdaGrad: each weight's step shrinks with the sum of its squared gradients (``adagrad_update``).
    PyTorch's defaults: ``lr=0.01, lr_decay=0, eps=1e-10``."""

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
