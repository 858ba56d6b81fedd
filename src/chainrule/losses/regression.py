"""Regression losses: the notes' L1 and L2 norms of the residual, and scikit-learn's half squared
error and half Poisson deviance (MLPRegressor's 'squared_error' and 'poisson'; the halves make the
gradient with respect to the output simply prediction - target).

Note on scikit-learn's own numbers: its ``loss_`` for K > 1 regression outputs averages the
squared error over the outputs while its gradient sums over them (it optimises the sum); chainrule
reports the function it optimises, so ``loss_`` is K times scikit-learn's there."""
from __future__ import annotations

import numpy as np

from .base import Loss, check_same_shape


class _Regression(Loss):
    def _validate(self, x, target):
        if x.ndim not in (1, 2):
            raise ValueError(f"input must be predictions of shape (N,) or (N, K); got shape {x.shape}")
        return x, check_same_shape(x, target)

    def _sum_rows(self, a):
        return a.sum(axis=1) if a.ndim == 2 else a


class L1Loss(_Regression):
    r"""The L1 loss: the L1 norm of the residual.

    Predictions s and targets y have the same shape, (N,) or (N, K). ``"mean"`` divides by the
    number of samples N (PyTorch's L1Loss divides by N K).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_k \lvert y_{ik} - s_{ik}\rvert, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = \operatorname{sign}(s_{ik} - y_{ik})

    (subgradient 0 where s = y).
    """

    def _per_sample(self, s, y):
        r = s - y
        self._r = r
        return self._sum_rows(np.abs(r))

    def _per_sample_grad(self):
        return np.sign(self._r)


class L2Loss(_Regression):
    r"""The L2 loss: the squared L2 norm of the residual (no 1/2, as the notes).

    ``"mean"`` divides by the number of samples N (PyTorch's MSELoss divides by N K).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_k (y_{ik} - s_{ik})^2, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = -2 (y_{ik} - s_{ik}).
    """

    def _per_sample(self, s, y):
        r = s - y
        self._r = r
        return self._sum_rows(r * r)

    def _per_sample_grad(self):
        return 2 * self._r


# ---- scikit-learn's regression losses (MLPRegressor's 'squared_error' and 'poisson') --------------
class _Outputs(Loss):
    """Predictions (N,) or (N, K) and targets of the same shape."""

    def _validate(self, x, target):
        if x.ndim not in (1, 2):
            raise ValueError(f"input must be outputs of shape (N,) or (N, K); got shape {x.shape}")
        return x, check_same_shape(x, target)

    @staticmethod
    def _sum_outputs(a):
        return a.sum(axis=1) if a.ndim == 2 else a


class HalfSquaredError(_Outputs):
    r"""scikit-learn's ``"squared_error"``: half the squared residual.

    The notes' L2 loss without the 1/2: ``L2Loss`` is twice this.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \frac{1}{2} \sum_k (s_{ik} - y_{ik})^2, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = s_{ik} - y_{ik}.
    """

    def _per_sample(self, s, y):
        r = s - y
        self._r = r
        return self._sum_outputs(r * r) * s.dtype.type(0.5)

    def _per_sample_grad(self):
        return self._r.copy()


class HalfPoissonDeviance(_Outputs):
    r"""scikit-learn's ``"poisson"`` with its log link: the network's output s is log(mu), mu = e^s.

    Targets must be counts or rates y >= 0. An output so large that e^s overflows gives an infinite
    loss, which stops training as a divergence.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    Half the Poisson deviance (the last two terms are constant and make L_i = 0 at mu = y):

    .. math:: L_i = \sum_k \left[e^{s_{ik}} - y_{ik} s_{ik} + y_{ik} \log y_{ik} - y_{ik}\right], \qquad
       \frac{\partial L_i}{\partial s_{ik}} = e^{s_{ik}} - y_{ik}.
    """

    def _validate(self, x, target):
        x, y = super()._validate(x, target)
        if (y < 0).any():
            bad = int(np.flatnonzero(y.ravel() < 0)[0])
            raise ValueError(f"target of the Poisson loss must be >= 0; got {y.ravel()[bad]} at index {bad}")
        return x, y

    def _per_sample(self, s, y):
        with np.errstate(over="ignore"):
            mu = np.exp(s)
        self._mu, self._y = mu, y
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0)
        return self._sum_outputs(mu - y * s + ylogy - y)

    def _per_sample_grad(self):
        return self._mu - self._y
