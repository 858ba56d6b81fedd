"""Flatten: images (N, C, H, W) (or any (N, ...)) become rows (N, C H W) for a Linear layer.

y[n, (c, i, j)] = x[n, c, i, j], the entries in PyTorch's order (channel, then row, then
column), so a Linear layer after Flatten has the weight layout of ``torch.nn.Flatten`` +
``torch.nn.Linear``. The Jacobian is a permutation: dL/dx is dL/dy put back in x's shape.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import float_input
from ..core.module import Module
from ._draw import images


def _is_channels_last(x) -> bool:
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous


def flatten_forward(x):
    """y = x.reshape(N, -1) in (C, H, W) order (a copy when x is channels-last); the cache is
    (x's shape, whether x was channels-last)."""
    return x.reshape(x.shape[0], -1), (x.shape, _is_channels_last(x))


def flatten_backward(g, cache):
    """dL/dx = dL/dy reshaped to x's shape, in x's memory layout (an image layer below a
    channels-last x gets a channels-last gradient, which it reads without a copy)."""
    x_shape, channels_last = cache
    gx = g.reshape(x_shape)
    if not channels_last:
        return gx
    N, C, H, W = x_shape
    dx = np.empty((N, H, W, C), dtype=g.dtype).transpose(0, 3, 1, 2)
    dx[...] = gx
    return dx


class Flatten(Module):
    """Flatten every axis but the first: (N, d1, d2, ...) -> (N, d1 d2 ...), as ``torch.nn.Flatten()``."""

    def forward(self, x):
        x = float_input(x)
        if x.ndim < 2:
            raise ValueError(f"Flatten() expected input with a batch axis and at least one more, (N, ...); "
                             f"got shape {x.shape}")
        y, cache = flatten_forward(x)
        self._cache = (cache, y.dtype)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        cache, dtype = self._cached()
        if not need_input_grad:
            return None
        shape = cache[0]
        return flatten_backward(xp.as_grad(grad_output, self.output_shape(shape), dtype), cache)

    def output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Flatten() expected input with a batch axis and at least one more, (N, ...); "
                             f"got shape {tuple(input_shape)}")
        n = 1
        for d in input_shape[1:]:
            n *= int(d)
        return (input_shape[0], n)

    grad_cases = (("Flatten", lambda d, r: Flatten(), images(size=3)),)

    def _fused_spec(self):
        # For the compiled engine: a flatten in (channel, row, column) order.
        return {"op": "flatten"}

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        return g.node("Flatten", [x], f"{prefix}flatten", axis=1)      # (channel, row, column) order

    @staticmethod
    def torch_modules(config):
        return [("Flatten", (), {})]
