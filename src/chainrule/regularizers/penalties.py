"""Weight penalties lambda R(W) added to the data loss (the notes' regularisation)."""
from __future__ import annotations

import numpy as np

from .._validation import check_number


def _as_float(W) -> np.ndarray:
    W = np.asarray(W)
    return W if W.dtype.kind == "f" else W.astype(np.float64)


def _sum_squares(W: np.ndarray):
    v = W.ravel(order="K")  # a view for C- and F-ordered weights alike
    return np.dot(v, v)


class Penalty:
    """lambda R(W): ``penalty(W)`` is the value, ``gradient(W)`` its derivative d/dW."""

    def __init__(self, strength: float = 1.0):
        self.strength = check_number("strength", strength)

    def penalty(self, W) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient(self, W) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, W):
        return self.penalty(W)

    def __repr__(self):
        return f"{type(self).__name__}(strength={self.strength})"


class L2(Penalty):
    """lambda R(W) = lambda sum_{k,l} W_kl^2;  gradient 2 lambda W (no 1/2, as the notes)."""

    def penalty(self, W):
        return self.strength * _sum_squares(_as_float(W))

    def gradient(self, W):
        W = _as_float(W)
        return W * W.dtype.type(2 * self.strength)


class L1(Penalty):
    r"""The L1 penalty :math:`\lambda R(W) = \lambda \sum_{k,l} \lvert W_{kl}\rvert`; its gradient is
    :math:`\lambda \operatorname{sign}(W)` (subgradient 0 at W = 0).

    Parameters
    ----------
    strength : float >= 0
        lambda.
    """

    def penalty(self, W):
        return self.strength * np.abs(_as_float(W)).sum()

    def gradient(self, W):
        return np.sign(_as_float(W)) * self.strength


class ElasticNet(Penalty):
    r"""The notes' elastic net, L1 plus L2:
    :math:`\lambda R(W) = \lambda \sum_{k,l} (\beta W_{kl}^2 + \lvert W_{kl}\rvert)`, with gradient
    :math:`\lambda (2 \beta W + \operatorname{sign}(W))`.

    Parameters
    ----------
    strength : float >= 0
        lambda.
    beta : float >= 0, default 0.5
        Weight of the squared term.
    """

    def __init__(self, strength: float = 1.0, beta: float = 0.5):
        super().__init__(strength)
        self.beta = check_number("beta", beta)

    def penalty(self, W):
        W = _as_float(W)
        return self.strength * (self.beta * _sum_squares(W) + np.abs(W).sum())

    def gradient(self, W):
        W = _as_float(W)
        return (W * (2 * self.beta) + np.sign(W)) * self.strength

    def __repr__(self):
        return f"ElasticNet(strength={self.strength}, beta={self.beta})"


def penalty_value(params) -> float:
    """sum of lambda R(W) over the parameters that carry a regularizer (the objective's second term)."""
    return float(sum(p.regularizer.penalty(p.value) for p in params if p.regularizer is not None))


def add_penalty_gradients(params) -> None:
    """grad += d(lambda R)/dW for every parameter that carries a regularizer (after backward)."""
    for p in params:
        if p.regularizer is not None:
            p.accumulate(p.regularizer.gradient(p.value))
