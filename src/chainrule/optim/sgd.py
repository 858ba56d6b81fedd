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

    prescales_gradients = True

    def _update(self, p, state):
        """One step, in the gradient scale s the buffer carries (s = lr when the training loop
        pre-multiplied the loss gradient, else 1). Momentum is kept as u = c v (c = the learning
        rate it was last scaled with, ``momentum_scale``): with s = c = lr the step is
        u <- mu u + (lr g), w <- w - u, three passes over the weights and no temporary."""
        g, s = p.scaled_grad()
        w = p.value
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if wd:                                   # g_eff = g + wd w, in the buffer's scale
            tmp = self._scratch(state, w)
            np.multiply(w, s * wd, out=tmp)
            tmp += g
            g = tmp
        if mu == 0:                              # w <- w - lr g_true = w - (lr / s) g
            if lr == s:
                w -= g
            else:
                tmp = self._scratch(state, w, "_scratch2")
                np.multiply(g, lr / s, out=tmp)
                w -= tmp
            return
        u = state.get("momentum_lr")
        if u is None:                            # v_1 = g: u = lr g
            u = state["momentum_lr"] = np.array(g, order="K")
            if lr != s:
                u *= lr / s
        else:
            c = state["momentum_scale"]
            u *= mu if c == lr else lr * mu / c  # mu v, rescaled to the current learning rate
            if lr == s:
                u += g
            else:
                tmp = self._scratch(state, w, "_scratch2")
                np.multiply(g, lr / s, out=tmp)
                u += tmp
        state["momentum_scale"] = lr
        if self.nesterov:                        # w <- w - lr (g + mu v_new) = w - (lr / s) g - mu u
            tmp = self._scratch(state, w, "_scratch2")
            np.multiply(u, mu, out=tmp)
            w -= tmp
            if lr == s:
                w -= g
            else:
                np.multiply(g, lr / s, out=tmp)
                w -= tmp
        else:
            w -= u

    def momentum_buffer(self, index: int) -> np.ndarray | None:
        """The momentum v of parameter ``index`` in PyTorch's convention (v <- mu v + g)."""
        st = self.state[index]
        if "momentum_lr" not in st:
            return None
        return st["momentum_lr"] / st["momentum_scale"]
