"""Regression losses: the notes' L1 and L2 norms of the residual, and scikit-learn's half squared
error and half Poisson deviance (MLPRegressor's 'squared_error' and 'poisson'; the halves make the
gradient with respect to the output simply prediction - target).

Note on scikit-learn's own numbers: its ``loss_`` for K > 1 regression outputs averages the
squared error over the outputs while its gradient sums over them (it optimises the sum); chainrule
reports the function it optimises, so ``loss_`` is K times scikit-learn's there."""
from __future__ import annotations

import numpy as np

from .base import Loss, check_same_shape


def _sum_outputs(a):
    return a.sum(axis=1) if a.ndim == 2 else a


# ---- kernels: predictions s and targets y of one shape, (N,) or (N, K); the cache is what backward needs
def l1_forward(s, y):
    """L_i = sum_k |y_k - s_k|; the cache is the residual r = s - y."""
    r = s - y
    return _sum_outputs(np.abs(r)), r


def l1_backward(r):
    """dL_i/ds_k = sign(s_k - y_k) (the subgradient 0 where s = y)."""
    return np.sign(r)


def l2_forward(s, y):
    """L_i = sum_k (y_k - s_k)^2 (no 1/2, as the notes); the cache is r = s - y."""
    r = s - y
    return _sum_outputs(r * r), r


def l2_backward(r):
    """dL_i/ds_k = -2 (y_k - s_k) = 2 r_k."""
    return 2 * r


def half_squared_error_forward(s, y):
    """L_i = 1/2 sum_k (s_k - y_k)^2 (scikit-learn's); the cache is r = s - y."""
    r = s - y
    return _sum_outputs(r * r) * s.dtype.type(0.5), r


def half_squared_error_backward(r):
    """dL_i/ds_k = s_k - y_k = r_k (a copy: the caller scales it in place)."""
    return r.copy()


def half_poisson_deviance_forward(s, y):
    """L_i = sum_k e^{s_k} - y_k s_k + y_k log y_k - y_k for log-rates s and counts y >= 0; the
    cache is (mu = e^s, y)."""
    with np.errstate(over="ignore"):
        mu = np.exp(s)
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0)
    return _sum_outputs(mu - y * s + ylogy - y), (mu, y)


def half_poisson_deviance_backward(cache):
    """dL_i/ds_k = e^{s_k} - y_k."""
    mu, y = cache
    return mu - y


# ---- losses --------------------------------------------------------------------------------------
class _Regression(Loss):
    """Predictions (N,) or (N, K) and targets of the same shape."""

    def _validate(self, x, target):
        if x.ndim not in (1, 2):
            raise ValueError(f"input must be predictions of shape (N,) or (N, K); got shape {x.shape}")
        return x, check_same_shape(x, target)


class L1Loss(_Regression):
    r"""The L1 loss: the L1 norm of the residual.

    Predictions s and targets y have the same shape, (N,) or (N, K). ``"mean"`` divides by the
    number of samples N (PyTorch's L1Loss divides by N K).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_k \lvert y_{ik} - s_{ik}\rvert, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = \operatorname{sign}(s_{ik} - y_{ik})

    (subgradient 0 where s = y).
    """

    kernels = (l1_forward, l1_backward)


class L2Loss(_Regression):
    r"""The L2 loss: the squared L2 norm of the residual (no 1/2, as the notes).

    ``"mean"`` divides by the number of samples N (PyTorch's MSELoss divides by N K).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_k (y_{ik} - s_{ik})^2, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = -2 (y_{ik} - s_{ik}).
    """

    kernels = (l2_forward, l2_backward)


class HalfSquaredError(_Regression):
    r"""scikit-learn's ``"squared_error"``: half the squared residual (``L2Loss`` is twice this).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \frac{1}{2} \sum_k (s_{ik} - y_{ik})^2, \qquad
       \frac{\partial L_i}{\partial s_{ik}} = s_{ik} - y_{ik}.
    """

    kernels = (half_squared_error_forward, half_squared_error_backward)


class HalfPoissonDeviance(_Regression):
    r"""scikit-learn's ``"poisson"`` with its log link: the network's output s is log(mu), mu = e^s.

    Targets must be counts or rates y >= 0. An output so large that e^s overflows gives an infinite
    loss, which stops training as a divergence.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    Half the Poisson deviance (the last two terms are constant and make L_i = 0 at mu = y):

    .. math:: L_i = \sum_k \left[e^{s_{ik}} - y_{ik} s_{ik} + y_{ik} \log y_{ik} - y_{ik}\right], \qquad
       \frac{\partial L_i}{\partial s_{ik}} = e^{s_{ik}} - y_{ik}.
    """

    kernels = (half_poisson_deviance_forward, half_poisson_deviance_backward)

    def _validate(self, x, target):
        x, y = super()._validate(x, target)
        if (y < 0).any():
            bad = int(np.flatnonzero(y.ravel() < 0)[0])
            raise ValueError(f"target of the Poisson loss must be >= 0; got {y.ravel()[bad]} at index {bad}")
        return x, y
