"""RMSProp (Hinton's lecture 6e), as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._validation import check_number
from .base import Optimizer


def rmsprop_update(w, g, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    """One step of RMSProp on ``w`` (in place):

    g <- g + weight_decay w,   v <- alpha v + (1 - alpha) g^2,
    centered: a <- alpha a + (1 - alpha) g and the denominator is sqrt(v - a^2) + eps, else sqrt(v) + eps;
    with momentum mu: b <- mu b + g / denom, w <- w - lr b;  without: w <- w - lr g / denom.

    State: ``square_avg`` (v), ``grad_avg`` (a, centered), ``momentum_buffer`` (b).
    """
    dt = w.dtype.type
    if weight_decay:
        g = g + dt(weight_decay) * w
    v = state.get("square_avg")
    if v is None:
        v = state["square_avg"] = np.zeros_like(w)
    v *= dt(alpha)
    v += dt(1 - alpha) * (g * g)
    if centered:
        a = state.get("grad_avg")
        if a is None:
            a = state["grad_avg"] = np.zeros_like(w)
        a *= dt(alpha)
        a += dt(1 - alpha) * g
        denom = np.sqrt(v - a * a)
    else:
        denom = np.sqrt(v)
    denom += dt(eps)
    if momentum:
        b = state.get("momentum_buffer")
        if b is None:
            b = state["momentum_buffer"] = np.zeros_like(w)
        b *= dt(momentum)
        b += g / denom
        w -= dt(lr) * b
    else:
        w -= dt(lr) * (g / denom)


class RMSprop(Optimizer):
    """RMSProp: divide the step by a running root mean square of the gradient (``rmsprop_update``).
    PyTorch's defaults: ``lr=0.01, alpha=0.99, eps=1e-8``."""

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr)
        self.alpha = check_number("alpha", alpha, 0.0, 1.0, high_inclusive=True)
        self.eps = check_number("eps", eps, 0.0, low_inclusive=False)
        self.weight_decay = check_number("weight_decay", weight_decay)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.centered = bool(centered)

    def hyperparameters(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered}

    def _update(self, w, g, state):
        rmsprop_update(w, g, state, lr=self.lr, alpha=self.alpha, eps=self.eps, weight_decay=self.weight_decay,
                       momentum=self.momentum, centered=self.centered)
