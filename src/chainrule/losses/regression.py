"""Regression losses: L1 and L2 norms of the residual (used e.g. for pixel-level prediction)."""
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
    r"""The L1 loss :math:`L_i = \sum_k \lvert y_{ik} - s_{ik}\rvert`, with
    :math:`dL_i/ds_{ik} = \operatorname{sign}(s_{ik} - y_{ik})` (subgradient 0 where s = y).

    Predictions s and targets y have the same shape, (N,) or (N, K). 'mean' divides by the
    number of samples N (PyTorch's L1Loss divides by N K).
    """

    def _per_sample(self, s, y):
        r = s - y
        self._r = r
        return self._sum_rows(np.abs(r))

    def _per_sample_grad(self):
        return np.sign(self._r)


class L2Loss(_Regression):
    """L_i = sum_k (y_ik - s_ik)^2;  dL_i/ds_ik = -2 (y_ik - s_ik) (no 1/2, as the notes).

    'mean' divides by the number of samples N (PyTorch's MSELoss divides by N K).
    """

    def _per_sample(self, s, y):
        r = s - y
        self._r = r
        return self._sum_rows(r * r)

    def _per_sample_grad(self):
        return 2 * self._r
