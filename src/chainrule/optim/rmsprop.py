"""RMSProp (Hinton's lecture 6e), as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number
from .base import Optimizer


def rmsprop_update(w, g, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    r"""One step of RMSProp on ``w``, in place.

    State: ``square_avg`` (v), ``grad_avg`` (a, centered), ``momentum_buffer`` (b).

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
    alpha : float, default 0.99
        Decay rate of the running average of g^2.
    eps : float, default 1e-8
        Added to the denominator.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    momentum : float, default 0
        mu: b <- mu b + g / denom, w <- w - lr b.
    centered : bool, default False
        Divide by an estimate of the gradient's variance instead of its second moment.

    Notes
    -----
    .. math::
       v \leftarrow \alpha v + (1 - \alpha) g^2, \qquad
       w \leftarrow w - \mathrm{lr} \frac{g}{\sqrt{v} + \epsilon}.

    Centered: a <- alpha a + (1 - alpha) g and the denominator is sqrt(v - a^2) + eps.
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
    r"""RMSProp (Hinton's lecture 6e): divide the step by a running root mean square of the gradient.

    PyTorch's definition and defaults; the formulas are in ``rmsprop_update``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        What to update (a module stands for ``module.parameters()``).
    lr : float > 0, default 0.01
        The learning rate.
    alpha : float, default 0.99
        Decay rate of the running average of g^2.
    eps : float > 0, default 1e-8
        Added to the denominator.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    momentum : float, default 0
        Momentum on the scaled step.
    centered : bool, default False
        Normalise by an estimate of the gradient's variance.

    Notes
    -----
    .. math:: v \leftarrow \alpha v + (1 - \alpha) g^2, \qquad
       W \leftarrow W - \mathrm{lr} \frac{g}{\sqrt{v} + \epsilon}.
    """

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
