"""Parameter: a trainable array, its gradient, and what regularises it."""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array that owns its value and the gradient of the loss with respect to it.

    ``value`` is the array the model computes with; ``grad`` has the same shape, dtype and memory
    layout and holds dL/d(value) accumulated by ``Module.backward``.

    A parameter may carry a ``regularizer`` (an object with ``penalty(W)`` and ``gradient(W)``,
    added to the objective as lambda R(W)) and a ``constraint`` (an object with ``apply(W)``, such
    as ``MaxNorm``, applied after each optimizer step).

    Zeroing is lazy: ``zero_grad()`` only marks the gradient as zero. The next writer
    (``Linear.backward`` for instance) then stores its product directly into the buffer instead of
    zero-filling and adding, which saves a full pass over the weights every batch. Reading
    ``grad`` always shows the true value (zeros after ``zero_grad()``).

    Gradient scale: ``zero_grad(scale=s)`` declares that the contributions written until the next
    zero_grad carry a factor s (the training loop multiplies the loss's gradient by the learning
    rate, and backpropagation, being linear, carries the factor into every parameter's gradient;
    SGD then saves a pass over the weights). Reading ``grad`` divides the factor out once, so it
    always shows dL/d(value); ``grad_scale`` tells what the buffer holds.
    """

    __slots__ = ("value", "_grad", "_grad_is_zero", "_grad_scale", "regularizer", "constraint")

    def __init__(self, value, *, regularizer=None, constraint=None):
        value = np.asarray(value)
        if value.dtype.kind != "f":
            raise TypeError(f"Parameter value must be a floating-point array; got dtype {value.dtype}")
        self.value = value
        self._grad = None
        self._grad_is_zero = True
        self._grad_scale = 1.0
        self.regularizer = regularizer
        self.constraint = constraint

    # -- gradient -------------------------------------------------------------------------------
    def _buffer(self) -> np.ndarray:
        g = self._grad
        v = self.value
        if g is None or g.shape != v.shape or g.dtype != v.dtype:
            g = self._grad = np.zeros_like(v)  # keeps value's layout (order='K')
            self._grad_is_zero = False
        return g

    @property
    def grad(self) -> np.ndarray:
        g = self._buffer()
        if self._grad_is_zero:
            g.fill(0)
            self._grad_is_zero = False
        elif self._grad_scale != 1.0:
            g *= 1.0 / self._grad_scale
        self._grad_scale = 1.0
        return g

    @grad.setter
    def grad(self, new) -> None:
        new = np.asarray(new)
        if new.shape != self.value.shape:
            raise ValueError(f"grad must have the parameter's shape {self.value.shape}; got {new.shape}")
        g = self._buffer()
        np.copyto(g, new, casting="same_kind")
        self._grad_is_zero = False
        self._grad_scale = 1.0

    @property
    def grad_scale(self) -> float:
        """The factor the gradient buffer carries (1 unless the training loop set one)."""
        return self._grad_scale

    def scaled_grad(self) -> tuple[np.ndarray, float]:
        """(buffer, scale) with buffer = scale * dL/d(value), zero-filled if nothing was written."""
        g = self._buffer()
        if self._grad_is_zero:
            g.fill(0)
            self._grad_is_zero = False
        return g, self._grad_scale

    def grad_target(self) -> tuple[np.ndarray, bool]:
        """Return ``(buffer, overwrite)`` for a kernel that writes a gradient contribution.

        When ``overwrite`` is True the current gradient is zero and the kernel should write its
        contribution straight into ``buffer`` (``np.matmul(..., out=buffer)``); otherwise it adds.
        Call ``mark_written()`` after an overwrite.
        """
        return self._buffer(), self._grad_is_zero

    def mark_written(self) -> None:
        self._grad_is_zero = False

    def accumulate(self, g: np.ndarray) -> None:
        """grad += g (or grad = g when the gradient is zero)."""
        buf, overwrite = self.grad_target()
        if overwrite:
            np.copyto(buf, g, casting="same_kind")
            self._grad_is_zero = False
        else:
            buf += g

    def zero_grad(self, scale: float = 1.0) -> None:
        """Mark the gradient zero; contributions written next carry the factor ``scale``."""
        self._grad_is_zero = True
        self._grad_scale = float(scale)

    # -- conveniences ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        extra = ""
        if self.regularizer is not None:
            extra += f", regularizer={self.regularizer!r}"
        if self.constraint is not None:
            extra += f", constraint={self.constraint!r}"
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype}{extra})"
