"""Linear layer: s = W x + b (the notes' linear classifier and every layer of a deep network)."""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_dtype, resolve_rng
from ..core.module import Module
from ..core.parameter import Parameter

INITS = ("uniform", "he", "glorot", "zeros")


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """s = x W^T + b for a batch x of shape (N, in); W has shape (out, in), rows w_j^T."""
    s = x @ W.T
    if b is not None:
        s += b
    return s


def linear_backward(ds, x, W, *, need_dx=True, dW_out=None, dW_overwrite=True, db_out=None):
    """Gradients of s = x W^T + b given ds = dL/ds of shape (N, out).

    dL/dW = ds^T x   (sum over the batch of ds_i x_i^T; the notes' ds/dw_j = [0 .. x .. 0])
    dL/db = sum_i ds_i   (ds/db = I)
    dL/dx = ds W     (ds/dx = W^T, applied to the upstream gradient)

    ``dW_out``/``db_out`` receive the result (overwritten when ``dW_overwrite``, else added).
    Returns ``(dx, dW, db)``; ``dx`` is None when ``need_dx`` is False.
    """
    if dW_out is None:
        dW = ds.T @ x
    elif dW_overwrite:
        dW = np.matmul(ds.T, x, out=dW_out)
    else:
        dW_out += ds.T @ x
        dW = dW_out
    if db_out is None:
        db = ds.sum(axis=0)
    elif dW_overwrite:
        db = np.sum(ds, axis=0, out=db_out)
    else:
        db_out += ds.sum(axis=0)
        db = db_out
    dx = ds @ W if need_dx else None
    return dx, dW, db


def init_weight(rng: np.random.Generator, in_features: int, out_features: int, init: str, dtype):
    """Draw an (out, in) weight for the named scheme (see ``Linear``)."""
    shape = (in_features, out_features)  # drawn as (in, out), returned as its transpose (see Linear)
    if init == "uniform":
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        w = rng.uniform(-bound, bound, size=shape)
    elif init == "he":
        w = rng.standard_normal(size=shape) * math.sqrt(2.0 / max(in_features, 1))
    elif init == "glorot":
        bound = math.sqrt(6.0 / max(in_features + out_features, 1))
        w = rng.uniform(-bound, bound, size=shape)
    elif init == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"init must be one of {INITS}; got {init!r}")
    return np.ascontiguousarray(w, dtype=dtype).T


class Linear(Module):
    """Fully connected layer s = W x + b.

    ``weight`` has shape (out_features, in_features) as in the notes (row j is w_j^T) and
    ``bias`` shape (out_features,). Inputs are batches of shape (N, in_features); a single
    vector of shape (in_features,) gives a vector of shape (out_features,).

    ``init``: ``"uniform"`` (default, PyTorch's: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias),
    ``"he"`` (normal with std sqrt(2/in), for ReLU), ``"glorot"`` (U(+-sqrt(6/(in+out))), for
    sigmoid and tanh) or ``"zeros"``; He and Glorot start the bias at 0. ``rng`` is a seed or a
    ``numpy.random.Generator``.

    The weight is stored column-major (a transposed view of an (in, out) row-major buffer):
    OpenBLAS multiplies x @ W^T about 15% faster that way. Its shape, values and ``state_dict``
    (which is row-major) are unaffected.

    Inputs of another dtype are converted to the weight's dtype (float32 by default).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, *,
                 dtype=np.float32, init: str = "uniform"):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {init!r}")
        dt = check_dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        gen = resolve_rng(rng)
        self.weight = Parameter(init_weight(gen, self.in_features, self.out_features, init, dt))
        if bias:
            if init == "uniform":
                bound = 1.0 / math.sqrt(self.in_features)
                b = gen.uniform(-bound, bound, size=self.out_features).astype(dt)
            else:
                b = np.zeros(self.out_features, dtype=dt)
            self.bias = Parameter(b)
        else:
            self.bias = None
        self._x = None
        self._vector_input = False

    def reset_parameters(self, rng=None, init: str | None = None) -> None:
        """Draw new weights (and a new bias) with ``init`` (default: the layer's own scheme)."""
        init = init or self.init
        gen = resolve_rng(rng)
        dt = self.weight.value.dtype
        self.weight.value = init_weight(gen, self.in_features, self.out_features, init, dt)
        if self.bias is not None:
            if init == "uniform":
                bound = 1.0 / math.sqrt(self.in_features)
                self.bias.value = gen.uniform(-bound, bound, size=self.out_features).astype(dt)
            else:
                self.bias.value = np.zeros(self.out_features, dtype=dt)
        self.init = init

    def forward(self, x):
        W = self.weight.value
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        vector = x.ndim == 1
        if vector:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear expected input of shape (N, {self.in_features}) or ({self.in_features},); "
                f"got shape {x.shape if not vector else x.shape[1:]}"
            )
        if x.dtype != W.dtype:
            if x.dtype.kind not in "fiub":
                raise TypeError(f"Linear input must be numeric; got dtype {x.dtype}")
            x = x.astype(W.dtype)
        self._x = x
        self._vector_input = vector
        s = linear_forward(x, W, self.bias.value if self.bias is not None else None)
        return s[0] if vector else s

    def backward(self, grad_output, *, need_input_grad: bool = True):
        x = self._require_cache(self._x)
        ds = np.asarray(grad_output)
        if self._vector_input and ds.ndim == 1:
            ds = ds[None, :]
        if ds.shape != (x.shape[0], self.out_features):
            raise ValueError(
                f"grad_output must have shape {(x.shape[0], self.out_features)}; got {ds.shape}"
            )
        if ds.dtype != x.dtype:
            ds = ds.astype(x.dtype)
        dW_buf, overwrite = self.weight.grad_target()
        db_buf = None
        if self.bias is not None:
            db_buf, b_over = self.bias.grad_target()
            if b_over != overwrite:  # mixed state (one was zeroed by hand): materialise both
                self.weight.grad
                self.bias.grad
                overwrite = False
        dx, _, _ = linear_backward(ds, x, self.weight.value, need_dx=need_input_grad,
                                   dW_out=dW_buf, dW_overwrite=overwrite, db_out=db_buf)
        self.weight.mark_written()
        if self.bias is not None:
            self.bias.mark_written()
        if dx is not None and self._vector_input:
            dx = dx[0]
        return dx

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
