"""Adam (Kingma and Ba, 2015) with bias correction, as PyTorch defines it."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number
from .base import Optimizer


def adam_update(w, g, state, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
    r"""One step of Adam on ``w``, in place, with t = ``state["step"]`` counted from 1.

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (AMSGrad) and ``step``.

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
    betas : tuple of float, default (0.9, 0.999)
        (b1, b2), the decay rates of the two running averages.
    eps : float, default 1e-8
        Added to the denominator.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    amsgrad : bool, default False
        Use the running maximum of v (AMSGrad).

    Notes
    -----
    .. math::
       g \leftarrow g + \lambda_{wd} w, \quad m \leftarrow b_1 m + (1 - b_1) g, \quad
       v \leftarrow b_2 v + (1 - b_2) g^2,

    .. math::
       \hat m = \frac{m}{1 - b_1^t}, \quad \hat v = \frac{v}{1 - b_2^t}, \quad
       w \leftarrow w - \alpha \frac{\hat m}{\sqrt{\hat v} + \epsilon}.
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
    # one scratch array per weight, reused every step (not saved: state_dict skips "_" keys): the
    # same operations in the same order as the formulas, without allocating five temporaries
    tmp = state.get("_scratch")
    if tmp is None or tmp.shape != w.shape or tmp.dtype != w.dtype:
        tmp = state["_scratch"] = np.empty_like(w)
    m *= dt(b1)
    np.multiply(g, dt(1 - b1), out=tmp)
    m += tmp
    v *= dt(b2)
    np.multiply(g, g, out=tmp)
    tmp *= dt(1 - b2)
    v += tmp                           # overflow raises (Optimizer.step), never a silent stall
    if amsgrad:
        vmax = state.get("max_exp_avg_sq")
        if vmax is None:
            vmax = state["max_exp_avg_sq"] = np.zeros_like(w)
        np.maximum(vmax, v, out=vmax)
        v = vmax
    np.sqrt(v, out=tmp)                # the denominator sqrt(v) / sqrt(1 - b2^t) + eps
    tmp /= dt(np.sqrt(1 - b2 ** t))
    tmp += dt(eps)
    np.divide(m, tmp, out=tmp)         # the step m / denominator, times lr / (1 - b1^t)
    tmp *= dt(lr / (1 - b1 ** t))
    w -= tmp


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015) with bias correction, as PyTorch defines it.

    The gradient is g = dL/dW + weight_decay W (coupled weight decay, PyTorch's ``Adam``); the
    formulas are in ``adam_update``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        What to update (a module stands for ``module.parameters()``).
    lr : float > 0, default 1e-3
        The learning rate.
    betas : tuple of float, default (0.9, 0.999)
        Decay rates of the running averages of g and g^2, each in [0, 1).
    eps : float > 0, default 1e-8
        Added to the denominator.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.
    amsgrad : bool, default False
        Use the running maximum of the second moment (AMSGrad).

    Notes
    -----
    .. math:: m \leftarrow b_1 m + (1 - b_1) g, \quad v \leftarrow b_2 v + (1 - b_2) g^2, \quad
       W \leftarrow W - \alpha \frac{m / (1 - b_1^t)}{\sqrt{v / (1 - b_2^t)} + \epsilon}.
    """

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
