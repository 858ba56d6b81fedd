"""Adam with bias correction."""
from __future__ import annotations

import numpy as np

from .base import Optimizer, _check_number


class Adam(Optimizer):
    """Adam (Kingma and Ba), with g = dL/dW + weight_decay W:

    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
    W <- W - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (b1, b2); got {betas!r}")
        self.betas = (_check_number("betas[0]", betas[0], 0.0, high=1.0),
                      _check_number("betas[1]", betas[1], 0.0, high=1.0))
        self.eps = _check_number("eps", eps, 0.0, low_inclusive=False)
        self.weight_decay = _check_number("weight_decay", weight_decay)

    def hyperparameters(self):
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay}

    def _update(self, p, state):
        g = self._effective_grad(p, state, self.weight_decay)
        w = p.value
        dt = w.dtype.type
        b1, b2 = self.betas
        m = state.get("exp_avg")
        if m is None:
            m = state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
        v = state["exp_avg_sq"]
        t = self.steps
        m *= dt(b1)
        m += dt(1 - b1) * g
        v *= dt(b2)
        v += dt(1 - b2) * (g * g)
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        denom = np.sqrt(v) / dt(np.sqrt(bc2))
        denom += dt(self.eps)
        step = m / denom
        step *= dt(self.lr / bc1)
        w -= step
