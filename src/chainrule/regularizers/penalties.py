"""Weight penalties lambda R(W) added to the data loss (the notes' regularisation)."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number


def _as_float(W) -> np.ndarray:
    W = np.asarray(W)
    return W if W.dtype.kind == "f" else W.astype(np.float64)


def _sum_squares(W: np.ndarray):
    v = W.ravel(order="K")  # a view for C- and F-ordered weights alike
    return np.dot(v, v)


class Penalty:
    """A weight penalty lambda R(W), added to the data loss (the notes' regularisation).

    The objective becomes L = (1/N) sum_i L_i + lambda R(W). Attach one to a parameter
    (``Parameter(..., regularizer=L2(1e-3))``); the training loop adds ``penalty(W)`` to the loss
    and ``gradient(W)`` to the parameter's gradient.

    Parameters
    ----------
    strength : float >= 0, default 1.0
        lambda.
    """

    def __init__(self, strength: float = 1.0):
        self.strength = check_number("strength", strength)

    def penalty(self, W) -> float:  # pragma: no cover - abstract
        """The penalty lambda R(W) = sum over W's entries of the penalty's term.

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        float
        """
        raise NotImplementedError

    def gradient(self, W) -> np.ndarray:  # pragma: no cover - abstract
        """The penalty's derivative d(lambda R)/dW = the derivative of each term.

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        ndarray
            W's shape.
        """
        raise NotImplementedError

    def __call__(self, W):
        """``penalty(W)``.

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        float
        """
        return self.penalty(W)

    def __repr__(self):
        return f"{type(self).__name__}(strength={self.strength})"


class L2(Penalty):
    r"""The L2 penalty (weight decay), R(W) = sum W^2.

    Parameters
    ----------
    strength : float >= 0, default 1.0
        lambda.

    Notes
    -----
    .. math:: \lambda R(W) = \lambda \sum_{k,l} W_{kl}^2, \qquad
       \frac{\partial \lambda R}{\partial W} = 2 \lambda W

    (no 1/2, as the notes).
    """

    def penalty(self, W):
        """The penalty lambda R(W) = lambda sum_{k,l} W_kl^2.

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        float
        """
        return self.strength * _sum_squares(_as_float(W))

    def gradient(self, W):
        """The penalty's derivative d(lambda R)/dW = 2 lambda W.

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        ndarray
            W's shape.
        """
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
        """The penalty lambda R(W) = lambda sum_{k,l} abs(W_kl).

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        float
        """
        return self.strength * np.abs(_as_float(W)).sum()

    def gradient(self, W):
        """The penalty's derivative d(lambda R)/dW = lambda sign(W) (subgradient 0 at W = 0).

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        ndarray
            W's shape.
        """
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
        """The penalty lambda R(W) = lambda sum_{k,l} (beta W_kl^2 + abs(W_kl)).

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        float
        """
        W = _as_float(W)
        return self.strength * (self.beta * _sum_squares(W) + np.abs(W).sum())

    def gradient(self, W):
        """The penalty's derivative d(lambda R)/dW = lambda (2 beta W + sign(W)).

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        ndarray
            W's shape.
        """
        W = _as_float(W)
        return (W * (2 * self.beta) + np.sign(W)) * self.strength

    def __repr__(self):
        return f"ElasticNet(strength={self.strength}, beta={self.beta})"


def penalty_value(params, scale: float = 1.0) -> float:
    """The sum of lambda R(W) over the parameters that carry a regularizer (times ``scale``).

    This is the objective's second term; the training loop adds it to the data loss.

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    scale : float, default 1.0
        A factor on the whole term (scikit-learn's 1 / (2 B) on a batch of B samples).

    Returns
    -------
    float
    """
    return float(sum(p.regularizer.penalty(p.value) if scale == 1.0 else scale * p.regularizer.penalty(p.value)
                     for p in params if p.regularizer is not None))


def add_penalty_gradients(params, scale: float = 1.0) -> None:
    """grad += scale d(lambda R)/dW for every parameter that carries a regularizer (after backward).

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``; their gradients are updated in place.
    scale : float, default 1.0
        The factor of ``penalty_value``.
    """
    for p in params:
        if p.regularizer is not None:
            g = p.regularizer.gradient(p.value)
            if scale != 1.0:
                g *= g.dtype.type(scale)
            p.accumulate(g)
