"""Element-wise activations and softmax: each a kernel pair with its derivative from the notes.

A forward kernel takes the input and returns ``(output, cache)``; its backward kernel takes the
upstream gradient g = dL/dy and the cache and returns dL/dx = g * dy/dx (for the softmax, the
vector-Jacobian product). Kernels never modify their arguments: a gradient may be shared by two
branches of a network (a residual block and its shortcut).
"""
from __future__ import annotations

import warnings

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_number, float_input
from ..core.module import Module
from ._draw import kinkless, normal


# ---- kernels -------------------------------------------------------------------------------------
def identity_forward(x):
    """y = x."""
    return x, True


def identity_backward(g, cache):
    """dy/dx = I."""
    return g


def relu_forward(x):
    """y = max(0, x); the cache is y."""
    y = np.maximum(x, 0)
    return y, y


def relu_backward(g, y):
    """dy/dx = 1 where x > 0, else 0 (subgradient 0 at the kink x = 0, as PyTorch); y > 0 iff x > 0."""
    return g * (y > 0)


def leaky_relu_forward(x, slope):
    """y = x for x > 0, a x otherwise; the cache is x."""
    return np.where(x > 0, x, x * x.dtype.type(slope)), x


def leaky_relu_backward(g, x, slope):
    """dy/dx = 1 for x > 0, a otherwise (a at the kink x = 0, as PyTorch)."""
    return g * np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), computed without overflow for large |x|.

    With t = e^-|x| (never overflows): sigma(x) = 1 / (1 + t) for x >= 0 and t / (1 + t) for x < 0.
    """
    t = np.exp(-np.abs(x))
    out = 1.0 / (1.0 + t)
    return np.where(x >= 0, out, t * out)


def sigmoid_forward(x):
    """y = sigma(x) (the notes' single neuron); the cache is y."""
    y = sigmoid(x)
    return y, y


def sigmoid_backward(g, y):
    """d sigma/dx = sigma (1 - sigma) (the notes' derivation), times the upstream gradient."""
    return g * y * (1.0 - y)


def tanh_forward(x):
    """y = tanh(x); the cache is y."""
    y = np.tanh(x)
    return y, y


def tanh_backward(g, y):
    """d tanh/dx = 1 - tanh^2."""
    return g * (1.0 - y * y)


def softmax(s: np.ndarray, *, log: bool = False, precise: bool = False):
    """The one numerically stable softmax over the last axis: p, or (p, log p) with ``log``.

    With m the row maximum and z = s - m <= 0, e^z never overflows and the largest term is 1:
    p_k = e^{z_k} / sum_j e^{z_j}, log p_k = z_k - log sum_j e^{z_j}. ``precise`` sums the terms
    other than the largest apart and takes log1p of them, so a loss -log p_y as small as 1e-9 keeps
    every digit (the log of the rounded sum 1.000000001 keeps seven); it costs an argmax and two
    scattered writes, which float32 training does without.
    """
    if not precise:
        z = s - s.max(axis=-1, keepdims=True)
        e = np.exp(z) if log else np.exp(z, out=z)
        total = e.sum(axis=-1, keepdims=True)
        e /= total
        return (e, z - np.log(total)) if log else e
    s2 = s.reshape(-1, s.shape[-1])
    rows = np.arange(s2.shape[0])
    k1 = s2.argmax(axis=1)
    z = s2 - s2[rows, k1][:, None]
    e = np.exp(z)
    e[rows, k1] = 0
    others = e.sum(axis=1)
    e[rows, k1] = 1
    e /= (1 + others)[:, None]
    p = e.reshape(s.shape)
    return (p, (z - np.log1p(others)[:, None]).reshape(s.shape)) if log else p


def softmax_forward(s):
    """p = softmax(s) over the last axis; the cache is p."""
    p = softmax(s)
    return p, p


def softmax_backward(g, p):
    """Vector-Jacobian product with the softmax Jacobian D_ab = p_a (delta_ab - p_b):
    (g D)_b = p_b (g_b - sum_a g_a p_a). Never builds the N x C x C Jacobian."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


# ---- modules -------------------------------------------------------------------------------------
class _Elementwise(Module):
    """An activation y = f(x) applied entry by entry: forward and backward call the kernel pair
    ``_forward(x, *args)`` -> (y, cache) and ``_backward(g, cache, *args)`` -> dL/dx, where the
    cache is an array of the output's shape. ``onnx_op`` is the one ONNX node computing f,
    ``torch_module`` the ``torch.nn`` call."""

    _forward = staticmethod(identity_forward)
    _backward = staticmethod(identity_backward)
    onnx_op: tuple = ("Identity", {})
    torch_module: tuple = ("Identity", (), {})

    def _args(self) -> tuple:
        return ()

    def forward(self, x):
        x = float_input(x)
        y, self._cache = self._forward(x, *self._args())
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        cache = self._cached()
        if not need_input_grad:
            return None
        return self._backward(xp.as_grad(grad_output, cache.shape, cache.dtype), cache, *self._args())

    @classmethod
    def onnx_nodes(cls, g, config, state, prefix, x):
        """One ONNX node, ``onnx_op``, on ``x``.

        Parameters
        ----------
        g : chainrule.io.export.graph.Graph
            The graph being built.
        config : dict
            What ``get_config()`` returned.
        state : dict
            The network's ``state_dict()`` (an activation has no tensors).
        prefix : str
            The module's name in the network, with a trailing dot.
        x : str
            The input tensor.

        Returns
        -------
        str
            The output tensor.
        """
        op, attributes = cls.onnx_op
        return g.node(op, [x], f"{prefix}{op.lower()}", **attributes)

    @classmethod
    def torch_modules(cls, config):
        """``[torch_module]``: the ``torch.nn`` activation, which takes no configuration.

        Parameters
        ----------
        config : dict
            What ``get_config()`` returned.

        Returns
        -------
        list of tuple
            ``(name, args, kwargs)`` of the ``torch.nn`` call.
        """
        return [cls.torch_module]


class Identity(Module):
    """y = x: a placeholder, e.g. for a network with no activation; dL/dx = dL/dy."""

    grad_cases = (("Identity", lambda d, r: Identity()),)

    def forward(self, x):
        y, self._cache = identity_forward(x)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        self._cached()
        return identity_backward(grad_output, None) if need_input_grad else None

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        return x                                # no node at all

    @staticmethod
    def torch_modules(config):
        return [("Identity", (), {})]


class ReLU(_Elementwise):
    r"""The rectified linear unit, y = max(0, x), entry by entry.

    Parameters
    ----------
    inplace : bool, default False
        Accepted for PyTorch-style code and chainrule 0.1 scripts but has no effect (a
        DeprecationWarning says so): kernels never overwrite their input (a residual block's input
        is also its shortcut's).

    Notes
    -----
    .. math:: y = \max(0, x), \qquad \frac{dy}{dx} = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    (the subgradient 0 at the kink).
    """

    _forward = staticmethod(relu_forward)
    _backward = staticmethod(relu_backward)
    onnx_op = ("Relu", {})
    torch_module = ("ReLU", (), {})
    grad_cases = (("ReLU", lambda d, r: ReLU(), kinkless),)

    def _fused_spec(self):
        # For the compiled engine: max(0, x), fused into the layer before it.
        return {"op": "relu"}

    def __init__(self, inplace: bool = False):
        super().__init__()
        if inplace:
            warnings.warn("ReLU(inplace=True) has no effect: chainrule's kernels never overwrite their input",
                          DeprecationWarning, stacklevel=2)


class LeakyReLU(_Elementwise):
    r"""The leaky rectified linear unit: y = x for x > 0, a x otherwise.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope a for negative inputs.

    Notes
    -----
    .. math:: y = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}, \qquad
       \frac{dy}{dx} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}

    (a at the kink x = 0, as PyTorch).
    """

    _forward = staticmethod(leaky_relu_forward)
    _backward = staticmethod(leaky_relu_backward)
    grad_cases = (("LeakyReLU", lambda d, r: LeakyReLU(0.1), kinkless),)

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = check_number("negative_slope", negative_slope, low=None)

    def _args(self):
        return (self.negative_slope,)

    def get_config(self):
        return {"negative_slope": self.negative_slope}

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        return g.node("LeakyRelu", [x], f"{prefix}leaky_relu", alpha=float(config.get("negative_slope", 0.01)))

    @staticmethod
    def torch_modules(config):
        return [("LeakyReLU", (float(config["negative_slope"]),), {})]


class Sigmoid(_Elementwise):
    r"""The logistic sigmoid (the notes' single neuron), entry by entry.

    Notes
    -----
    .. math:: y = \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \frac{dy}{dx} = y (1 - y).
    """

    _forward = staticmethod(sigmoid_forward)
    _backward = staticmethod(sigmoid_backward)
    onnx_op = ("Sigmoid", {})
    torch_module = ("Sigmoid", (), {})
    grad_cases = (("Sigmoid", lambda d, r: Sigmoid(), normal(3)),)


class Tanh(_Elementwise):
    r"""The hyperbolic tangent, entry by entry.

    Notes
    -----
    .. math:: y = \tanh(x), \qquad \frac{dy}{dx} = 1 - y^2.
    """

    _forward = staticmethod(tanh_forward)
    _backward = staticmethod(tanh_backward)
    onnx_op = ("Tanh", {})
    torch_module = ("Tanh", (), {})
    grad_cases = (("Tanh", lambda d, r: Tanh(), normal(2)),)


class Softmax(_Elementwise):
    r"""The softmax over the last axis: scores to probabilities that sum to 1.

    To train a classifier prefer ``losses.SoftmaxLogLikelihood`` on the scores: it fuses the two
    and is exact for scores of any size.

    Notes
    -----
    .. math:: p_a = \frac{e^{s_a}}{\sum_j e^{s_j}}, \qquad
       \frac{\partial p_a}{\partial s_b} = p_a (\delta_{ab} - p_b).

    Backward is the vector-Jacobian product with this Jacobian, computed without an N x C x C
    array: dL/ds = p * (g - sum_b g_b p_b).
    """

    _forward = staticmethod(softmax_forward)
    _backward = staticmethod(softmax_backward)
    onnx_op = ("Softmax", {"axis": -1})
    torch_module = ("Softmax", (), {"dim": -1})
    grad_cases = (("Softmax", lambda d, r: Softmax(), normal(2)),)
