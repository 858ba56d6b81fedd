"""Dropout: randomly zero activations during training (the notes' regularisers)."""
from __future__ import annotations

import numpy as np

from .._validation import resolve_rng
from ..core.module import Module


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype) -> np.ndarray:
    """Mask of 0 (dropped, probability p) and 1/(1 - p) (kept): inverted dropout."""
    if p >= 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64) >= p
    mask = keep.astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


class Dropout(Module):
    """Drop each input with probability ``p`` in training mode and scale the survivors by 1/(1 - p)
    (inverted dropout), so that evaluation mode is the identity.

    y = x * m with m_i = 0 with probability p and 1/(1 - p) otherwise; dy/dx = m.
    Masks come from ``rng`` (a seed or a ``numpy.random.Generator``); estimators pass the run's
    generator so that one ``random_state`` fixes every mask.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not isinstance(p, (int, float, np.floating)) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p (the drop probability) must be in [0, 1]; got {p!r}")
        self.p = float(p)
        self.rng = resolve_rng(rng)
        self._mask = None
        self._forwarded = False

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            x = np.asarray(x, dtype=np.float64)
        self._forwarded = True
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self._mask = dropout_mask(self.rng, x.shape, self.p, x.dtype)
        return x * self._mask

    def backward(self, grad_output, *, need_input_grad: bool = True):
        if not self._forwarded:
            self._require_cache(None)
        if self._mask is None:
            return grad_output
        g = np.asarray(grad_output)
        if g.shape != self._mask.shape:
            raise ValueError(f"grad_output must have the output's shape {self._mask.shape}; got {g.shape}")
        return g * self._mask

    def extra_repr(self):
        return f"p={self.p}"
