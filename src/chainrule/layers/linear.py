"""Linear layer: s = W x + b (the notes' linear classifier and every layer of a deep network)."""
from __future__ import annotations

import math

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_dtype, check_int, resolve_rng
from ..core.module import Module
from ..core.parameter import Parameter

INITS = ("uniform", "he", "glorot", "zeros")


def is_sparse(x) -> bool:
    """True for a scipy.sparse matrix or array (recognised without importing SciPy)."""
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None):
    """s = x W^T + b for a batch x of shape (N, in); W has shape (out, in), rows w_j^T.

    ``x`` may be a scipy.sparse matrix (CSR rows of a sparse data set): the product is then
    sparse times dense and ``s`` is dense. Returns ``(s, cache)``; the cache is x (what the
    weight gradient needs).
    """
    s = x @ W.T
    if b is not None:
        s += b
    return s, x


def linear_backward(ds: np.ndarray, x: np.ndarray, W: np.ndarray, *, need_dx: bool = True,
                    need_db: bool = True):
    """Gradients of s = x W^T + b given ds = dL/ds of shape (N, out) and the cache x:

    dL/dW = ds^T x       (sum over the batch of ds_i x_i^T; the notes' ds/dw_j = [0 .. x .. 0])
    dL/db = sum_i ds_i   (ds/db = I)
    dL/dx = ds W         (ds/dx = W^T, applied to the upstream gradient)

    Returns ``(dx, dW, db)``; dx is None unless ``need_dx``, db None unless ``need_db``. dW comes
    out in W's memory layout (for a column-major W it is computed as (x^T ds)^T, which OpenBLAS
    also runs faster), so the optimizer's update passes run over matching layouts. A sparse x
    (scipy.sparse) is always multiplied as (x^T ds)^T: sparse times dense, nothing densified.
    """
    if (W.flags.f_contiguous and not W.flags.c_contiguous) or is_sparse(x):
        dW = np.ascontiguousarray(x.T @ ds).T
    else:
        dW = ds.T @ x
    db = ds.sum(axis=0) if need_db else None
    dx = ds @ W if need_dx else None
    return dx, dW, db


def init_weight(rng: np.random.Generator, shape, fan_in: int, fan_out: int, init: str):
    """float64 weights of ``shape`` for one of ``INITS`` (Linear's and Conv2d's): ``"uniform"``:
    PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)); ``"he"``: normal with std sqrt(2 / fan_in);
    ``"glorot"``: U(+-sqrt(6 / (fan_in + fan_out))); ``"zeros"``."""
    if init == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape)
    if init == "he":
        return rng.standard_normal(size=shape) * math.sqrt(2.0 / fan_in)
    if init == "glorot":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape)
    if init == "zeros":
        return np.zeros(shape)
    raise ValueError(f"init must be one of {INITS}; got {init!r}")


def init_bias(rng: np.random.Generator, n: int, fan_in: int, init: str, dtype):
    """PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for ``"uniform"``; zeros for the other schemes."""
    if init == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=n).astype(dtype)
    return np.zeros(n, dtype=dtype)


class Linear(Module):
    r"""Fully connected layer s = W x + b.

    ``weight`` has shape (out_features, in_features) as in the notes (row j is w_j^T) and ``bias``
    shape (out_features,). Inputs are batches of shape (N, in_features); a single vector of shape
    (in_features,) gives a vector of shape (out_features,). A scipy.sparse batch (N, in) is
    multiplied without densifying it (the first layer of a network trained on sparse data).

    Parameters
    ----------
    in_features : int
        The size of each input sample.
    out_features : int
        The size of each output sample (the number of classes for a linear classifier).
    bias : bool, default True
        Whether the layer has a bias b.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the initial weights.
    dtype : dtype, default float32
        The parameters' dtype; integer inputs are converted to it, a wider float (float64 into a
        float32 layer) is a TypeError, as in PyTorch.
    init : {"uniform", "he", "glorot", "zeros"}, default "uniform"
        ``"uniform"``: PyTorch's U(-1/sqrt(in), 1/sqrt(in)) for weight and bias; ``"he"``: normal
        with std sqrt(2/in), for ReLU; ``"glorot"``: U(-sqrt(6/(in+out)), sqrt(6/(in+out))), for
        sigmoid and tanh; ``"zeros"``. He and Glorot start the bias at 0.

    Raises
    ------
    ValueError
        If ``init`` is unknown or a size is not a positive integer.

    Notes
    -----
    For a batch X (one sample per row), S = X W^T + b, and the backward pass is

    .. math::
       \frac{\partial L}{\partial W} = G^T X, \qquad \frac{\partial L}{\partial b} = \sum_n G_n,
       \qquad \frac{\partial L}{\partial X} = G W,

    with G = dL/dS. The weight is stored column-major (a transposed view of an (in, out) row-major
    buffer): OpenBLAS multiplies X W^T about 15% faster that way. Its shape, values and
    ``state_dict`` (which is row-major) are unaffected.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, *,
                 dtype=np.float32, init: str = "uniform"):
        super().__init__()
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {init!r}")
        self.init = init
        w, b = self._draw(resolve_rng(rng), init, check_dtype(dtype), bias)
        self.weight = Parameter(w)
        self.bias = Parameter(b) if bias else None

    def _draw(self, gen, init, dt, bias):
        """(weight, bias or None): the weight drawn as (in, out) and stored as its column-major transpose."""
        n_in, n_out = self.in_features, self.out_features
        w = np.ascontiguousarray(init_weight(gen, (n_in, n_out), n_in, n_out, init), dtype=dt).T
        return w, (init_bias(gen, n_out, n_in, init, dt) if bias else None)

    def reset_parameters(self, rng=None, init: str | None = None) -> None:
        """Draw new weights (and a new bias).

        Parameters
        ----------
        rng : int or numpy.random.Generator, optional
            Seed or generator.
        init : str, optional
            The scheme (see the class); default: the layer's own.
        """
        init = init or self.init
        self.weight.value, b = self._draw(resolve_rng(rng), init, self.weight.value.dtype, self.bias is not None)
        if b is not None:
            self.bias.value = b
        self.init = init

    def forward(self, x):
        """s = W x + b for every sample of the batch.

        Parameters
        ----------
        x : array_like or scipy.sparse matrix
            Shape (N, in_features), or a single sample of shape (in_features,).

        Returns
        -------
        ndarray
            Shape (N, out_features), or (out_features,) for a single sample.

        Raises
        ------
        ValueError
            If the last axis is not ``in_features`` long.
        """
        W = self.weight.value
        if is_sparse(x):
            return self._forward_sparse(x, W)
        x = xp.as_array(x)
        vector = x.ndim == 1
        if vector:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expected input of shape "
                f"(N, {self.in_features}) or ({self.in_features},); got shape {x.shape[1:] if vector else x.shape}"
            )
        x = xp.as_input(x, W.dtype, "Linear")
        s, cache = linear_forward(x, W, None if self.bias is None else self.bias.value)
        self._cache = (cache, vector)
        return s[0] if vector else s

    def _forward_sparse(self, x, W):
        """A scipy.sparse batch of shape (N, in): multiplied as it is, converted only to W's dtype
        (and refused, as a dense batch is, when that would narrow a float)."""
        if len(x.shape) != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expected input of shape "
                             f"(N, {self.in_features}); got a sparse matrix of shape {x.shape}")
        if x.dtype != W.dtype:
            xp.check_input_dtype(x.dtype, W.dtype, "Linear")
            x = x.astype(W.dtype)
        s, cache = linear_forward(x, W, None if self.bias is None else self.bias.value)
        self._cache = (cache, False)
        return s

    def backward(self, grad_output, *, need_input_grad: bool = True):
        """Add dL/dW = G^T X and dL/db = sum of G's rows to the gradients; return dL/dX = G W.

        Parameters
        ----------
        grad_output : ndarray
            G = dL/ds, shape (N, out_features) (or (out_features,) after a single sample).
        need_input_grad : bool, default True
            With False dL/dX is not computed (the first layer of a network).

        Returns
        -------
        ndarray or None
            dL/dX, the shape of the last input; None when ``need_input_grad`` is False.
        """
        x, vector = self._cached()
        ds = xp.as_array(grad_output)
        if vector and ds.ndim == 1:
            ds = ds[None, :]
        ds = xp.as_grad(ds, (x.shape[0], self.out_features), x.dtype)
        dx, dW, db = linear_backward(ds, x, self.weight.value, need_dx=need_input_grad,
                                     need_db=self.bias is not None)
        self.weight.accumulate(dW)
        if db is not None:
            self.bias.accumulate(db)
        return dx[0] if (vector and dx is not None) else dx

    def output_shape(self, input_shape):
        if not input_shape or input_shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expected input of shape "
                             f"(N, {self.in_features}); got shape {tuple(input_shape)}")
        return tuple(input_shape[:-1]) + (self.out_features,)

    @staticmethod
    def state_shapes(config, shapes_of=None):
        n_in, n_out = int(config["in_features"]), int(config["out_features"])
        return {"weight": (n_out, n_in), **({"bias": (n_out,)} if config.get("bias", True) else {})}

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def get_config(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None, "dtype": str(self.weight.value.dtype), "init": self.init}

    def _fused_spec(self):
        # For the compiled engine: s = x W^T + b with these Parameters.
        return {"op": "linear", "weight": self.weight, "bias": self.bias}

    grad_cases = (
        ("Linear", lambda d, r: Linear(d, 3, rng=r, dtype=np.float64)),
        ("Linear(bias=False)", lambda d, r: Linear(d, 2, bias=False, rng=r, dtype=np.float64)),
        ("Linear(he)", lambda d, r: Linear(d, 5, rng=r, dtype=np.float64, init="he")),
    )

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        # s = x W^T + b: Gemm(x, W, b, transB=1); without a bias, MatMul(x, W^T)
        w = state[prefix + "weight"]
        if config.get("bias", True):
            inputs = [x, g.const(w, f"{prefix}weight"), g.const(state[prefix + "bias"], f"{prefix}bias")]
            return g.node("Gemm", inputs, f"{prefix}linear", transB=1)
        return g.node("MatMul", [x, g.const(np.ascontiguousarray(w.T), f"{prefix}weight_t")], f"{prefix}linear")

    @staticmethod
    def torch_modules(config):
        return [("Linear", (int(config["in_features"]), int(config["out_features"])), {"bias": bool(config["bias"])})]
