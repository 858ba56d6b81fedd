"""Stochastic gradient descent: the notes' W <- W - alpha dL/dW, with momentum options."""
from __future__ import annotations

import numpy as np

from .._validation import check_number
from . import _fused
from .base import Optimizer


def sgd_update(w, g, state, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One step of SGD on the weight ``w`` (in place), PyTorch's definition:

    g <- g + weight_decay w;   with momentum mu: v <- mu v + g (v_1 = g), then
    w <- w - lr v   (or, Nesterov: w <- w - lr (g + mu v));   without momentum: w <- w - lr g.

    ``state["momentum_buffer"]`` holds v between steps. With the optional ``fast`` extra (numba)
    the same arithmetic runs as one compiled loop (``_fused.py``, the same bits).
    """
    if _fused.sgd_step(w, g, state, lr, momentum, nesterov, weight_decay):
        return
    dt = w.dtype.type
    if weight_decay:
        g = g + dt(weight_decay) * w
    if momentum:
        v = state.get("momentum_buffer")
        if v is None:
            v = state["momentum_buffer"] = np.array(g, order="K")
        else:
            v *= dt(momentum)
            v += g
        g = g + dt(momentum) * v if nesterov else v
    w -= dt(lr) * g


class SGD(Optimizer):
    """W <- W - lr g, with g = dL/dW + weight_decay W (see ``sgd_update``).

    With ``momentum`` mu (PyTorch's form): v <- mu v + g, then W <- W - lr v; with ``nesterov``:
    W <- W - lr (g + mu v). Full-batch gradient descent is SGD with the whole set as one batch.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.weight_decay = check_number("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _update(self, w, g, state):
        sgd_update(w, g, state, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                   weight_decay=self.weight_decay)
