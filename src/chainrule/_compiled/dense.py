"""A chain of Linear [+ ReLU] layers (an MLP) as fused steps: the modules' products, the elementwise
passes in one compiled loop each.

    Linear [+ ReLU], Linear [+ ReLU], ...        on (N, F) rows, at least one ReLU

The reference modules run each layer as s = x W^T (one product), s += b, y = max(0, s) (a new
array), and backward as g * (y > 0) (two passes), dW, db = sum of g's rows, dx = g W. Here the
products are the same calls on the same arrays (so the same bits, on the calling thread with BLAS's
threads as set: ``workers.using_threads``), the bias and the ReLU are one pass over s in place
(``bias_relu``), the mask one pass (``pool.relu_mask``) and the bias gradient one (``pool.column_sums``,
rows added in order as ``ndarray.sum(axis=0)`` adds them). Measured on workload (a) of
``benchmarks/compare.py`` (784-512-256-10, batch 128): the same weights to the bit after an epoch as
the modules, 3 % less time per epoch on one BLAS thread (``before_after.py``, 7 rounds; on two the
difference was within that busy hour's noise).

The compiled worker team is not used: its start (about 50 us) costs more than any of these passes
takes on one core at batch 128, and BLAS's own threads split the products better than fixed pieces
on workers do (``benchmarks/products_alone.py``; guide/compiled).
"""
from __future__ import annotations

import numba
import numpy as np

from .._helpers import array as xp
from . import pool as kp


@numba.njit(cache=True, nogil=True, boundscheck=False)
def bias_relu(s, b, relu):  # pragma: no cover - compiled
    """s <- s + b (each row), then max(s, 0) when ``relu``, in place: ``np.maximum``'s values (NaN and
    -0.0 kept as they are)."""
    R, C = s.shape
    for r in range(R):
        for c in range(C):
            v = s[r, c] + b[c]
            if relu and v < 0:
                v = s.dtype.type(0)
            s[r, c] = v


@numba.njit(cache=True, nogil=True, boundscheck=False)
def relu_in_place(s):  # pragma: no cover - compiled
    """s <- max(s, 0) in place (a Linear without a bias)."""
    R, C = s.shape
    for r in range(R):
        for c in range(C):
            if s[r, c] < 0:
                s[r, c] = 0


class DenseChain:
    """A recognised chain of ``("linear", first, last, {"linear": spec, "relu": bool})`` groups."""

    in_pieces = False          # evaluation never runs in pieces here: the modules do not either

    def __init__(self, groups, params):
        self.groups = groups
        self.params = params
        self.layers = [(d["linear"]["weight"], d["linear"]["bias"], d["relu"]) for _, _, _, d in groups]
        self.in_features = int(self.layers[0][0].value.shape[1])
        self.plan = None           # no buffers between steps: the outputs are new arrays, as the modules'
        self._inputs, self._outputs = [], []

    def fused_indices(self) -> set:
        """Indices of the modules that run fused."""
        return {i for _, a, b, _ in self.groups for i in range(a, b + 1)}

    def describe(self) -> list[str]:
        """One line per fused step: which modules it runs."""
        return [f"{a}-{b}: Linear + ReLU" if d["relu"] else f"{a}: Linear" for _, a, b, d in self.groups]

    def dtype(self):
        return self.params[0].value.dtype

    def accepts(self, x, training: bool = True) -> bool:
        """True for a 2-D array of rows with the first layer's features whose dtype converts without a
        loss (anything else, a single row, a sparse matrix, goes to the modules, whose checks name it)."""
        if not xp.is_array(x) or x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != self.in_features:
            return False
        dt = self.dtype()
        if any(p.value.dtype != dt for p in self.params):
            return False
        return x.dtype == dt or x.dtype.kind in "iub" or (x.dtype.kind == "f" and x.dtype.itemsize < dt.itemsize)

    def forward(self, x, training: bool):
        """The last layer's output; every layer's input and output kept for ``backward``."""
        dt = self.dtype()
        h = x if x.dtype == dt else x.astype(dt)
        self._inputs, self._outputs = [], []
        for W, b, relu in self.layers:
            self._inputs.append(h)
            h = np.matmul(h, W.value.T)                # layers.linear.linear_forward's product
            if b is not None:
                bias_relu(h, b.value, relu)
            elif relu:
                relu_in_place(h)
            self._outputs.append(h)
        return h

    def backward(self, grad_output, need_input_grad: bool):
        """dL/dx (or None) from dL/d(output); the weight and bias gradients added to ``.grad``."""
        out = self._outputs[-1]
        g = xp.as_grad(grad_output, out.shape, out.dtype)
        for i in range(len(self.layers) - 1, -1, -1):
            W, b, relu = self.layers[i]
            if relu:
                masked = np.empty(g.shape, g.dtype)
                kp.relu_mask(g, self._outputs[i], masked)
                g = masked
            x, w = self._inputs[i], W.value
            # layers.linear.linear_backward's products, in the weight's memory layout
            if w.flags.f_contiguous and not w.flags.c_contiguous:
                W.accumulate(np.ascontiguousarray(x.T @ g).T)
            else:
                W.accumulate(g.T @ x)
            if b is not None:
                b.accumulate(kp.column_sums(g))
            if i == 0 and not need_input_grad:
                return None
            g = g @ w
        return g
