"""Batch normalisation (the notes' regulariser): kernels for training and evaluation mode, and
the modules BatchNorm1d (inputs (N, C)) and BatchNorm2d (images (N, C, H, W)).

The statistics are taken per channel over every other axis: axis 0 for (N, C), axes 0, 2, 3 for
(N, C, H, W). The same four kernels serve both.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_dtype, check_int, check_number
from ..core.module import Module
from ..core.parameter import Parameter
from ._draw import images, normal


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) vector shaped to broadcast against (N, C, ...) inputs."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _axes(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


def batchnorm_forward(x, gamma, beta, eps):
    """Training mode: normalise with the batch's statistics per channel (m values each).

    mu = 1/m sum x,  var = 1/m sum (x - mu)^2 (biased),  xhat = (x - mu) / sqrt(var + eps),
    y = gamma xhat + beta.  Returns ``(y, cache, (mu, var))``.
    """
    axes = _axes(x.ndim)
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc
    xhat *= inv_std
    y = xhat * _per_channel(gamma, x.ndim)
    y += _per_channel(beta, x.ndim)
    return y, (xhat, inv_std), (mu.reshape(-1), var.reshape(-1))


def batchnorm_backward(g, cache, gamma, *, need_dx: bool = True):
    """Gradients of the training-mode forward (mean and variance depend on x too):

    dL/dbeta = sum g,  dL/dgamma = sum g xhat,  and with h = g gamma:
    dL/dx = inv_std / m * (m h - sum h - xhat sum h xhat)   (sums per channel).
    Returns ``(dx, dgamma, dbeta)``.
    """
    xhat, inv_std = cache
    axes = _axes(g.ndim)
    m = g.size // g.shape[1]
    dbeta = g.sum(axis=axes)
    dgamma = (g * xhat).sum(axis=axes)
    if not need_dx:
        return None, dgamma, dbeta
    h = g * _per_channel(gamma, g.ndim)
    dx = h * m
    dx -= h.sum(axis=axes, keepdims=True)
    dx -= xhat * (h * xhat).sum(axis=axes, keepdims=True)
    dx *= inv_std / m
    return dx, dgamma, dbeta


def batchnorm_eval_forward(x, gamma, beta, mean, var, eps):
    """Evaluation mode: a fixed affine map with the running statistics,
    xhat = (x - mean) / sqrt(var + eps), y = gamma xhat + beta. Returns ``(y, cache)``."""
    inv_std = 1.0 / np.sqrt(_per_channel(var, x.ndim) + eps)
    xhat = (x - _per_channel(mean, x.ndim)) * inv_std
    y = xhat * _per_channel(gamma, x.ndim)
    y += _per_channel(beta, x.ndim)
    return y, (xhat, inv_std)


def batchnorm_eval_backward(g, cache, gamma, *, need_dx: bool = True):
    """dL/dbeta = sum g, dL/dgamma = sum g xhat, dL/dx = g gamma / sqrt(var + eps)."""
    xhat, inv_std = cache
    axes = _axes(g.ndim)
    dbeta = g.sum(axis=axes)
    dgamma = (g * xhat).sum(axis=axes)
    dx = g * (_per_channel(gamma, g.ndim) * inv_std) if need_dx else None
    return dx, dgamma, dbeta


class _BatchNorm(Module):
    r"""Batch normalisation per channel (axis 1): normalise, then scale by gamma and shift by beta.

    Training mode uses the batch's mean and biased variance and updates the running statistics
    (running = (1 - momentum) running + momentum batch, with the unbiased variance, as PyTorch);
    evaluation mode uses the running statistics. ``gamma`` (``weight``) and ``beta`` (``bias``)
    are parameters; ``running_mean``, ``running_var`` and ``num_batches_tracked`` are buffers.
    A training batch needs at least 2 values per channel.

    Parameters
    ----------
    num_features : int
        C, the number of channels (features).
    eps : float, default 1e-5
        Added to the variance before the square root.
    momentum : float or None, default 0.1
        Weight of the batch in the running statistics; None uses the cumulative average.
    dtype : dtype, default float32
        The parameters' and buffers' dtype.

    Notes
    -----
    Over the m values of one channel in a batch:

    .. math::
       \mu = \frac{1}{m} \sum_i x_i, \qquad \sigma^2 = \frac{1}{m} \sum_i (x_i - \mu)^2, \qquad
       \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y_i = \gamma \hat x_i + \beta.

    The backward pass accounts for mu and sigma depending on x; with h = g gamma (g = dL/dy):

    .. math::
       \frac{\partial L}{\partial \beta} = \sum_i g_i, \qquad
       \frac{\partial L}{\partial \gamma} = \sum_i g_i \hat x_i, \qquad
       \frac{\partial L}{\partial x_i} = \frac{1}{m \sqrt{\sigma^2 + \epsilon}}
       \left(m h_i - \sum_j h_j - \hat x_i \sum_j h_j \hat x_j\right).
    """

    _ndim = 2
    _shape_text = "(N, C)"
    min_train_batch = 2     # batch statistics need two values per channel

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, *, dtype=np.float32):
        super().__init__()
        self.num_features = check_int("num_features", num_features)
        if momentum is not None:
            momentum = check_number("momentum", momentum, 0.0, 1.0, high_inclusive=True)
        self.momentum = momentum
        self.eps = check_number("eps", eps, 0.0, low_inclusive=False)
        dt = check_dtype(dtype)
        self.weight = Parameter(xp.ones(self.num_features, dt))   # gamma
        self.bias = Parameter(xp.zeros(self.num_features, dt))    # beta
        self.register_buffer("running_mean", xp.zeros(self.num_features, dt))
        self.register_buffer("running_var", xp.ones(self.num_features, dt))
        self.register_buffer("num_batches_tracked", xp.scalar(0, "int64"))

    def _check_input(self, x):
        x = xp.as_array(x)
        self.output_shape(x.shape)
        return xp.as_input(x, self.weight.value.dtype, type(self).__name__)

    def forward(self, x):
        x = self._check_input(x)
        dt = x.dtype.type
        gamma, beta = self.weight.value, self.bias.value
        if not self.training:
            y, cache = batchnorm_eval_forward(x, gamma, beta, self.running_mean, self.running_var, dt(self.eps))
            self._cache = ("eval", cache)
            return y
        m = x.size // x.shape[1]
        if m < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 values per channel in training mode "
                             f"(a batch of 2 or more); got input of shape {x.shape}")
        y, cache, (mu, var) = batchnorm_forward(x, gamma, beta, dt(self.eps))
        self._track(mu, var, m)
        self._cache = ("train", cache)
        return y

    def _track(self, mu, var, m):
        """running = (1 - f) running + f batch (the unbiased variance var m / (m - 1)), f = momentum."""
        dt = self.weight.value.dtype.type
        self.num_batches_tracked = self.num_batches_tracked + 1
        f = dt((1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum)
        self.running_mean *= 1 - f
        self.running_mean += f * mu
        self.running_var *= 1 - f
        self.running_var += (f * dt(m / (m - 1))) * var

    def backward(self, grad_output, *, need_input_grad: bool = True):
        mode, cache = self._cached()
        xhat = cache[0]
        g = xp.as_grad(grad_output, xhat.shape, xhat.dtype)
        kernel = batchnorm_backward if mode == "train" else batchnorm_eval_backward
        dx, dgamma, dbeta = kernel(g, cache, self.weight.value, need_dx=need_input_grad)
        self.weight.accumulate(dgamma)
        self.bias.accumulate(dbeta)
        return dx

    def output_shape(self, input_shape):
        if len(input_shape) != self._ndim or input_shape[1] != self.num_features:
            want = self._shape_text.replace("C", str(self.num_features))
            raise ValueError(f"{type(self).__name__}({self.num_features}) expected input of shape {want}; "
                             f"got shape {tuple(input_shape)}")
        return tuple(input_shape)

    @staticmethod
    def state_shapes(config, shapes_of=None):
        c = (int(config["num_features"]),)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c, "num_batches_tracked": ()}

    def get_config(self):
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "dtype": str(self.weight.value.dtype)}

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        # y = gamma (x - running_mean) / sqrt(running_var + eps) + beta: BatchNormalization, inference mode
        names = [g.const(state[prefix + k], prefix + k) for k in ("weight", "bias", "running_mean", "running_var")]
        return g.node("BatchNormalization", [x, *names], f"{prefix}batchnorm", epsilon=float(config.get("eps", 1e-5)))

    @classmethod
    def torch_modules(cls, config):
        """``torch.nn.BatchNorm1d`` or ``BatchNorm2d`` with the same ``eps`` and ``momentum``.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.

        Returns
        -------
        list of tuple
            ``(name, args, kwargs)`` of the ``torch.nn`` call.
        """
        return [(cls.__name__, (int(config["num_features"]),),
                 {"eps": float(config["eps"]), "momentum": config["momentum"]})]


def _trained(bn, rng, shape=None, batches=3, scale=2.0, shift=1.0):
    """``bn`` with random gamma and beta and running statistics of ``batches`` batches of ``shape``
    (gradient-check cases), in evaluation mode when it saw any."""
    bn.weight.value = rng.uniform(0.5, 2, bn.num_features)
    bn.bias.value = rng.standard_normal(bn.num_features)
    for _ in range(batches):
        bn.forward(rng.standard_normal(shape) * scale + shift)
    return bn.eval() if batches else bn


class BatchNorm1d(_BatchNorm):
    """Batch normalisation for inputs of shape (N, C) (after a Linear layer).

    The formulas are in the Notes of the base class (``chainrule.layers.batchnorm._BatchNorm``):
    xhat = (x - mu) / sqrt(var + eps) and y = gamma xhat + beta per feature.

    Parameters
    ----------
    num_features : int
        C, the number of features.
    momentum : float or None, default 0.1
        Weight of the batch in the running statistics; None uses the cumulative average.
    eps : float, default 1e-5
        Added to the variance before the square root.
    dtype : dtype, default float32
        The parameters' and buffers' dtype.

    Notes
    -----
    The arguments are in chainrule 0.1's order, ``BatchNorm1d(num_features, momentum=0.1,
    eps=1e-5)``: pass them by name to be safe (``BatchNorm2d`` follows PyTorch's order, eps first).
    """

    grad_cases = (
        ("BatchNorm1d(train)", lambda d, r: BatchNorm1d(d, dtype=np.float64), normal(2, 1)),
        ("BatchNorm1d(eval)", lambda d, r: _trained(BatchNorm1d(d, dtype=np.float64), r, (6, d), 4, 3.0, -1.0)),
    )

    def __init__(self, num_features: int, momentum: float | None = 0.1, eps: float = 1e-5, *, dtype=np.float32):
        super().__init__(num_features, eps=eps, momentum=momentum, dtype=dtype)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation for images (N, C, H, W), with statistics per channel over N, H and W.

    The formulas of ``BatchNorm1d`` with each channel's N x H x W values as its batch: mu and var
    per channel, xhat = (x - mu) / sqrt(var + eps), y = gamma xhat + beta with one gamma and one
    beta per channel; the running statistics as PyTorch's ``BatchNorm2d`` keeps them (the unbiased
    variance over N H W values enters the running variance).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float, default 1e-5
        Added to each channel's variance before the square root.
    momentum : float or None, default 0.1
        Weight of the batch in the running statistics; None uses the cumulative average.
    dtype : dtype, default float32
        The parameters' and buffers' dtype.
    """

    _ndim = 4
    _shape_text = "(N, C, H, W)"
    min_train_batch = 1     # one image already has H x W values per channel

    def _fused_spec(self):
        # For the compiled engine: gamma, beta, eps; the running statistics read in evaluation and
        # updated by this layer's own rule (_track) in training.
        return {"op": "batchnorm2d", "weight": self.weight, "bias": self.bias, "eps": self.eps,
                "running": lambda: (self.running_mean, self.running_var), "track": self._track}
    grad_cases = (
        ("BatchNorm2d(train)", lambda d, r: _trained(BatchNorm2d(d, dtype=np.float64), r, batches=0), images(2, 1)),
        ("BatchNorm2d(eval)", lambda d, r: _trained(BatchNorm2d(d, dtype=np.float64), r, (4, d, 3, 3)), images()),
    )
