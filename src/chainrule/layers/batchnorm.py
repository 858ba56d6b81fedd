"""Batch normalisation over the features of a batch (N, C)."""
from __future__ import annotations

import numpy as np

from .._validation import check_dtype
from ..core.module import Module
from ..core.parameter import Parameter


def batchnorm_forward(x, gamma, beta, eps):
    """Training-mode forward: normalise with the batch's mean and (biased) variance.

    xhat = (x - mu) / sqrt(var + eps), y = gamma * xhat + beta.
    Returns y, xhat, inv_std, mu, var.
    """
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc * xc, axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc
    xhat *= inv_std
    y = xhat * gamma
    y += beta
    return y, xhat, inv_std, mu, var


def batchnorm_backward(g, xhat, inv_std, gamma):
    """Gradients of the training-mode forward (mean and variance depend on x too).

    dL/dbeta = sum_i g_i, dL/dgamma = sum_i g_i xhat_i, and with h = g gamma:
    dL/dx = inv_std / N * (N h - sum_i h_i - xhat * sum_i h_i xhat_i).
    """
    n = g.shape[0]
    dbeta = g.sum(axis=0)
    dgamma = (g * xhat).sum(axis=0)
    h = g * gamma
    dx = h * n
    dx -= h.sum(axis=0)
    dx -= xhat * (h * xhat).sum(axis=0)
    dx *= inv_std / n
    return dx, dgamma, dbeta


class BatchNorm1d(Module):
    """y = gamma (x - mu) / sqrt(var + eps) + beta for inputs of shape (N, num_features).

    Training mode uses the batch's mean and biased variance and updates the running statistics
    (running = (1 - momentum) running + momentum batch, with the unbiased variance, as PyTorch);
    evaluation mode uses the running statistics. ``gamma`` (``weight``) and ``beta`` (``bias``)
    are parameters; ``running_mean``, ``running_var`` and ``num_batches_tracked`` are buffers.
    ``momentum=None`` uses the cumulative average. A training batch needs at least 2 samples.
    """

    def __init__(self, num_features: int, momentum: float | None = 0.1, eps: float = 1e-5, *,
                 dtype=np.float32):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer; got {num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None; got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive; got {eps!r}")
        dt = check_dtype(dtype)
        self.num_features = int(num_features)
        self.momentum = momentum
        self.eps = float(eps)
        self.weight = Parameter(np.ones(num_features, dtype=dt))   # gamma
        self.bias = Parameter(np.zeros(num_features, dtype=dt))    # beta
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
        self.register_buffer("running_var", np.ones(num_features, dtype=dt))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache = None

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d expected input of shape (N, {self.num_features}); got shape {x.shape}"
            )
        dt = self.weight.value.dtype
        if x.dtype != dt:
            x = x.astype(dt)
        gamma, beta = self.weight.value, self.bias.value
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d needs at least 2 samples per batch in training mode; got {n}"
                )
            y, xhat, inv_std, mu, var = batchnorm_forward(x, gamma, beta, dt.type(self.eps))
            self.num_batches_tracked = self.num_batches_tracked + 1
            m = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
            m = dt.type(m)
            self.running_mean *= 1 - m
            self.running_mean += m * mu
            self.running_var *= 1 - m
            self.running_var += (m * dt.type(n / (n - 1))) * var
            self._cache = ("train", xhat, inv_std)
            return y
        inv_std = 1.0 / np.sqrt(self.running_var + dt.type(self.eps))
        xhat = (x - self.running_mean) * inv_std
        self._cache = ("eval", xhat, inv_std)
        return xhat * gamma + beta

    def backward(self, grad_output, *, need_input_grad: bool = True):
        mode, xhat, inv_std = self._require_cache(self._cache)
        g = np.asarray(grad_output)
        if g.shape != xhat.shape:
            raise ValueError(f"grad_output must have shape {xhat.shape}; got {g.shape}")
        if g.dtype != xhat.dtype:
            g = g.astype(xhat.dtype)
        gamma = self.weight.value
        if mode == "train":
            dx, dgamma, dbeta = batchnorm_backward(g, xhat, inv_std, gamma)
        else:
            dgamma = (g * xhat).sum(axis=0)
            dbeta = g.sum(axis=0)
            dx = g * (gamma * inv_std) if need_input_grad else None
        self.weight.accumulate(dgamma)
        self.bias.accumulate(dbeta)
        return dx if need_input_grad else None

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
