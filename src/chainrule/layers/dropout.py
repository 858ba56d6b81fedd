"""Dropout: randomly zero activations during training (the notes' regularisers)."""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_number, float_input, resolve_rng
from ..core.module import Module


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype) -> np.ndarray:
    """Mask of 0 (dropped, probability p) and 1/(1 - p) (kept): inverted dropout."""
    dtype = np.dtype(dtype)
    if p >= 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64) >= p
    mask = keep.astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


def dropout_forward(x, mask):
    """y = x * m; the cache is m (None: the identity, as in evaluation mode)."""
    return (x if mask is None else x * mask), mask


def dropout_backward(g, mask):
    """dy/dx = diag(m): dL/dx = g * m (the identity when m is None)."""
    return g if mask is None else g * mask


class Dropout(Module):
    """Inverted dropout: in training mode drop each input with probability ``p`` and scale the
    survivors by 1/(1 - p), so that evaluation mode is the identity.

    Parameters
    ----------
    p : float, default 0.5
        The drop probability, in [0, 1].
    rng : int or numpy.random.Generator, optional
        Where the masks come from; estimators pass the run's generator so that one
        ``random_state`` fixes every mask.

    Notes
    -----
    y = x * m with m_i = 0 with probability p and 1/(1 - p) otherwise; dy/dx = m. The expected
    value of y is x, which is why evaluation mode needs no rescaling.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        self.p = check_number("p (the drop probability)", p, 0.0, 1.0, high_inclusive=True)
        self.rng = resolve_rng(rng)

    def generators(self):
        return [self.rng]

    def forward(self, x):
        x = float_input(x)
        mask = None
        if self.training and self.p > 0.0:
            mask = dropout_mask(self.rng, x.shape, self.p, x.dtype)
        y, cache = dropout_forward(x, mask)
        self._cache = (cache, x.shape, x.dtype)
        return y

    def backward(self, grad_output, *, need_input_grad: bool = True):
        mask, shape, dtype = self._cached()
        if not need_input_grad:
            return None
        return dropout_backward(xp.as_grad(grad_output, shape, dtype), mask)

    def get_config(self):
        return {"p": self.p}                     # the generator is not saved

    grad_cases = (("Dropout(train)", lambda d, r: Dropout(0.4, rng=r)),
                  ("Dropout(eval)", lambda d, r: Dropout(0.4, rng=r).eval()))

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        return x                                 # evaluation mode: the identity, no node

    @staticmethod
    def torch_modules(config):
        return [("Dropout", (float(config["p"]),), {})]
