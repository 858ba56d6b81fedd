"""Stochastic gradient descent: the notes' W <- W - alpha dL/dW, with momentum options."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number
from .. import _compiled
from .._compiled import sgd as compiled_sgd
from .base import Optimizer


def sgd_update(w, g, state, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    r"""One step of stochastic gradient descent on the weight ``w``, in place (PyTorch's definition).

    ``state["momentum_buffer"]`` holds v between steps. This is the NumPy reference; ``SGD`` built
    with the compiled kernels (numba, ``_compiled/sgd.py``) runs the same arithmetic as one loop, to
    the same bits.

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
    momentum : float, default 0
        mu; 0 is the notes' plain update.
    nesterov : bool, default False
        Nesterov's momentum.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.

    Notes
    -----
    The notes' update, with g = dL/dW + weight_decay W:

    .. math:: W \leftarrow W - \alpha g.

    With momentum, v <- mu v + g (v_1 = g), then W <- W - alpha v; with Nesterov,
    W <- W - alpha (g + mu v).
    """
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
    r"""Stochastic gradient descent: W <- W - alpha dL/dW, optionally with momentum.

    Full-batch gradient descent is SGD with the whole set as one batch. The formulas are in
    ``sgd_update``.

    Parameters
    ----------
    params : Module or iterable of Parameter
        What to update (a module stands for ``module.parameters()``).
    lr : float > 0
        The learning rate alpha.
    momentum : float in [0, 1), default 0
        mu (PyTorch's form): v <- mu v + g, then W <- W - lr v.
    nesterov : bool, default False
        W <- W - lr (g + mu v); needs a momentum > 0.
    weight_decay : float >= 0, default 0
        Coupled L2 decay: ``weight_decay * w`` is added to the gradient.

    Raises
    ------
    ValueError
        If an argument is out of range, or ``nesterov`` without momentum.

    Notes
    -----
    With g = dL/dW + weight_decay W:

    .. math:: W \leftarrow W - \alpha g.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.weight_decay = check_number("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)
        # one compiled loop per step when numba is there (chosen now, once; the same bits as sgd_update)
        self._compiled_step = compiled_sgd.sgd_step if _compiled.enabled() else None

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _update(self, w, g, state):
        if self._compiled_step is not None and self._compiled_step(w, g, state, self.lr, self.momentum,
                                                                    self.nesterov, self.weight_decay):
            return
        sgd_update(w, g, state, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                   weight_decay=self.weight_decay)
