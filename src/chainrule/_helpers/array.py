"""The array operations the engine needs outside its kernels, in one small module.

Modules, parameters and optimizers call these instead of NumPy directly; NumPy itself is called
only here and inside the kernels (``linear_forward``, ``sgd_update``...). To run the engine on
another array library with NumPy's interface (CuPy on a GPU), this module would return that
library's namespace from ``namespace(x)`` and convert in ``to_host``; the kernels would take
``xp = namespace(x)``. Nothing else would change.
"""
from __future__ import annotations

import contextlib

import numpy as np

ndarray = np.ndarray


def namespace(*arrays):
    """The array namespace of the inputs (NumPy today)."""
    return np


def is_array(value) -> bool:
    """True for an array the engine computes with (not a list, not a scalar)."""
    return type(value) is np.ndarray or isinstance(value, np.ndarray)


def as_array(value, dtype=None):
    """``value`` as an array (no copy when it already is one of that dtype)."""
    return np.asarray(value, dtype=dtype)


def as_input(x, dtype, what: str):
    """A batch converted to the layer's ``dtype``; non-numeric input is a TypeError naming ``what``.

    Conversions that lose nothing (integers, booleans, a narrower float) are made; a wider float
    (float64 into a float32 layer) is a TypeError naming both dtypes, as in PyTorch, rather than a
    silent loss of precision (a list of Python floats is float64 to NumPy, so it is refused too).
    """
    if not is_array(x):
        x = np.asarray(x)
    if x.dtype != dtype:
        check_input_dtype(x.dtype, dtype, what)
        x = x.astype(dtype)
    return x


def check_input_dtype(got, dtype, what: str) -> None:
    """Refuse what ``as_input`` refuses: a non-numeric dtype, or a float wider than ``dtype``
    (a scipy.sparse batch, which ``Linear`` multiplies as it is, goes through here too)."""
    got, dtype = np.dtype(got), np.dtype(dtype)
    if got.kind not in "fiub":
        raise TypeError(f"{what} input must be numeric; got dtype {got}")
    if got.kind == "f" and dtype.kind == "f" and got.itemsize > dtype.itemsize:
        raise TypeError(f"{what}: the input is {got} and the layer's parameters are {dtype}; "
                        f"convert the input (x.astype(np.{dtype})) or build the layer with "
                        f"dtype=np.{got} (float32 trains, float64 checks gradients)")


def as_grad(g, shape: tuple, dtype):
    """An upstream gradient of the output's ``shape``, in the output's ``dtype``."""
    g = g if is_array(g) else np.asarray(g)
    if g.shape != tuple(shape):
        raise ValueError(f"grad_output must have the output's shape {tuple(shape)}; got {g.shape}")
    return g if g.dtype == dtype else g.astype(dtype)


def zeros(shape, dtype):
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype):
    return np.ones(shape, dtype=dtype)


def scalar(value, dtype):
    """A 0-d array (a buffer such as batch norm's ``num_batches_tracked``)."""
    return np.array(value, dtype=dtype)


def dtype_of(dtype):
    return np.dtype(dtype)


def empty_like(a):
    """An uninitialised array of ``a``'s shape, dtype and memory layout."""
    return np.empty_like(a)


def to_host(a):
    """A row-major NumPy copy (what state_dict and model files hold)."""
    return np.array(a, order="C")


def copy_into(dst, src) -> None:
    """dst[...] = src, keeping dst's dtype and layout."""
    np.copyto(dst, src, casting="unsafe")


def largest_abs(a) -> float:
    return float(np.abs(a).max()) if a.size else 0.0


@contextlib.contextmanager
def overflow_raises():
    """Floating-point overflow or an invalid operation raises FloatingPointError inside the block."""
    with np.errstate(over="raise", invalid="raise"):
        yield
