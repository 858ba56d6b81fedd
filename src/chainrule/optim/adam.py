"""Adam (Kingma and Ba, 2015) with bias correction, as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._validation import check_number
from .base import Optimizer


def adam_update(w, g, state, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
    """One step of Adam on ``w`` (in place), with t = ``state["step"]`` counted from 1:

    g <- g + weight_decay w,   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
    m_hat = m / (1 - b1^t),   v_hat = v / (1 - b2^t)   (AMSGrad: v_hat from the running max of v),
    w <- w - lr m_hat / (sqrt(v_hat) + eps).

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (AMSGrad) and ``step``.
    """
    dt = w.dtype.type
    b1, b2 = betas
    if weight_decay:
        g = g + dt(weight_decay) * w
    t = state["step"] = state.get("step", 0) + 1
    m = state.get("exp_avg")
    if m is None:
        m = state["exp_avg"] = np.zeros_like(w)
        state["exp_avg_sq"] = np.zeros_like(w)
    v = state["exp_avg_sq"]
    m *= dt(b1)
    m += dt(1 - b1) * g
    v *= dt(b2)
    v += dt(1 - b2) * (g * g)          # overflow raises (Optimizer.step), never a silent stall
    if amsgrad:
        vmax = state.get("max_exp_avg_sq")
        if vmax is None:
            vmax = state["max_exp_avg_sq"] = np.zeros_like(w)
        np.maximum(vmax, v, out=vmax)
        v = vmax
    denom = np.sqrt(v) / dt(np.sqrt(1 - b2 ** t))
    denom += dt(eps)
    step = m / denom
    step *= dt(lr / (1 - b1 ** t))
    w -= step


class Adam(Optimizer):
    """Adam with g = dL/dW + weight_decay W (coupled weight decay, PyTorch's ``Adam``); see
    ``adam_update``."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (b1, b2); got {betas!r}")
        self.betas = (check_number("betas[0]", betas[0], 0.0, 1.0), check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = check_number("eps", eps, 0.0, low_inclusive=False)
        self.weight_decay = check_number("weight_decay", weight_decay)
        self.amsgrad = bool(amsgrad)

    def hyperparameters(self):
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay,
                "amsgrad": self.amsgrad}

    def _update(self, w, g, state):
        adam_update(w, g, state, lr=self.lr, betas=self.betas, eps=self.eps, weight_decay=self.weight_decay,
                    amsgrad=self.amsgrad)
