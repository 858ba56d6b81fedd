"""Element-wise activations and softmax, each with its derivative from the notes."""
from __future__ import annotations

import numpy as np

from ..core.module import Module


def _float_input(x, name="input"):
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind != "f":
        if x.dtype.kind not in "iub":
            raise TypeError(f"{name} must be numeric; got dtype {x.dtype}")
        x = x.astype(np.float64)
    return x


def _check_grad(g, shape, dtype):
    g = np.asarray(g)
    if g.shape != shape:
        raise ValueError(f"grad_output must have the output's shape {shape}; got {g.shape}")
    return g if g.dtype == dtype else g.astype(dtype)


# ---- kernels -------------------------------------------------------------------------------------
def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), computed without overflow for large |x|.

    With t = e^-|x| (never overflows): sigma(x) = 1 / (1 + t) for x >= 0 and t / (1 + t) for x < 0.
    """
    t = np.exp(-np.abs(x))
    out = 1.0 / (1.0 + t)
    return np.where(x >= 0, out, t * out)


def sigmoid_backward(g, y):
    """d sigma/dx = sigma (1 - sigma) (the notes' derivation), times the upstream gradient."""
    return g * y * (1.0 - y)


def relu_backward(g, y, out=None):
    """dReLU/dx = 1 where x > 0, else 0 (subgradient 0 at the kink x = 0, as PyTorch)."""
    return np.multiply(g, y > 0, out=out)


def softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    """p_k = e^{s_k} / sum_j e^{s_j}; the row maximum is subtracted first so exp never overflows."""
    z = s - s.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def softmax_backward(g, p, axis: int = -1):
    """Vector-Jacobian product with D_ab = p_a (delta_ab - p_b): (g D)_b = p_b (g_b - sum_a g_a p_a).

    Never builds the N x C x C Jacobian.
    """
    return p * (g - (g * p).sum(axis=axis, keepdims=True))


# ---- modules -------------------------------------------------------------------------------------
class Identity(Module):
    """y = x (a placeholder, e.g. for a network with no activation)."""

    def forward(self, x):
        return x

    def backward(self, grad_output, *, need_input_grad: bool = True):
        return grad_output if need_input_grad else None


class ReLU(Module):
    """y = max(0, x); dy/dx = 1 for x > 0 and 0 for x <= 0 (subgradient 0 at the kink).

    ``inplace=True`` overwrites the input in forward and the incoming gradient in backward,
    saving two arrays per layer; estimators use it behind layers whose output is theirs alone.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)
        self._y = None

    def forward(self, x):
        x = _float_input(x)
        y = np.maximum(x, 0, out=x if self.inplace else None)
        self._y = y
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        y = self._require_cache(self._y)
        g = _check_grad(grad_output, y.shape, y.dtype)
        return relu_backward(g, y, out=g if self.inplace else None)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x for x > 0, a x otherwise; dy/dx = 1 or a (a at the kink x = 0, as PyTorch)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if not np.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be finite; got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self._x = None

    def forward(self, x):
        x = _float_input(x)
        self._x = x
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, grad_output, *, need_input_grad: bool = True):
        x = self._require_cache(self._x)
        g = _check_grad(grad_output, x.shape, x.dtype)
        slope = np.where(x > 0, x.dtype.type(1), x.dtype.type(self.negative_slope))
        return g * slope

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class _OutputCached(Module):
    """An activation whose derivative is a function of its output y: forward keeps y, backward
    returns ``_backward(g, y)``."""

    def __init__(self):
        super().__init__()
        self._y = None

    def _forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward(self, g, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x):
        self._y = self._forward(_float_input(x))
        return self._y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        y = self._require_cache(self._y)
        return self._backward(_check_grad(grad_output, y.shape, y.dtype), y)


class Sigmoid(_OutputCached):
    """y = 1 / (1 + e^-x) (the notes' single neuron); dy/dx = y (1 - y)."""

    _forward = staticmethod(sigmoid)
    _backward = staticmethod(sigmoid_backward)


class Tanh(_OutputCached):
    """y = tanh(x); dy/dx = 1 - y^2."""

    _forward = staticmethod(np.tanh)

    @staticmethod
    def _backward(g, y):
        return g * (1.0 - y * y)


class Softmax(_OutputCached):
    """p = e^s / sum_j e^{s_j} over the last axis; backward is the vector-Jacobian product with
    D_ab = p_a (delta_ab - p_b), computed without an N x C x C array.

    To train a classifier prefer ``losses.SoftmaxLogLikelihood`` on the scores: it fuses the two
    and is exact for scores of any size.
    """

    @staticmethod
    def _forward(x):
        return softmax(x, axis=-1)

    @staticmethod
    def _backward(g, p):
        return softmax_backward(g, p, axis=-1)
