"""Stochastic gradient descent: the notes' W <- W - alpha dL/dW, with momentum options."""
from __future__ import annotations

import numpy as np

from .base import Optimizer, _check_number


class SGD(Optimizer):
    """W <- W - lr g, with g = dL/dW + weight_decay W.

    With ``momentum`` mu (PyTorch's form): v <- mu v + g, then W <- W - lr v; with ``nesterov``:
    W <- W - lr (g + mu v). Full-batch gradient descent is SGD with the whole set as one batch.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _check_number("momentum", momentum, 0.0, high=1.0)
        self.weight_decay = _check_number("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _update(self, p, state):
        g = self._effective_grad(p, state, self.weight_decay)
        w = p.value
        lr = w.dtype.type(self.lr)
        if self.momentum == 0:
            tmp = self._scratch(state, w)
            np.multiply(g, lr, out=tmp)
            w -= tmp
            return
        mu = w.dtype.type(self.momentum)
        v = state.get("momentum_buffer")
        if v is None:
            v = state["momentum_buffer"] = np.array(g, order="K")   # v_1 = g (mu * 0 + g)
        else:
            v *= mu
            v += g
        tmp = self._scratch(state, w)
        if self.nesterov:
            np.multiply(v, mu, out=tmp)   # g + mu v
            tmp += g
            tmp *= lr
        else:
            np.multiply(v, lr, out=tmp)
        w -= tmp
