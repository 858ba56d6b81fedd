"""Parameter: a trainable array and the gradient of the loss with respect to it."""
from __future__ import annotations

from .._helpers import array as xp


class Parameter:
    """A trainable array ``value`` and the gradient of the loss with respect to it, ``grad``.

    Layers keep their weights and biases as parameters; an optimizer reads ``grad`` and updates
    ``value``. After ``zero_grad()`` the gradient is ``None`` (nothing computed yet); each backward
    pass then adds its contribution, so a weight shared by two layers receives both.

    Parameters
    ----------
    value : array_like of float
        The initial value (copied into a floating-point array).
    regularizer : Penalty, optional
        A penalty R(W) (``chainrule.regularizers.L2``...) whose ``lambda R(W)`` the training loop adds
        to the loss, and whose gradient it adds to ``grad``.
    constraint : MaxNorm, optional
        A constraint applied to ``value`` after every optimizer step.

    Attributes
    ----------
    value : ndarray
        The current value.
    grad : ndarray or None
        dL/d(value), summed over every contribution since the last ``zero_grad()``.

    Raises
    ------
    TypeError
        If ``value`` is not a floating-point array.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.zeros(3))
    >>> p.grad is None
    True
    >>> p.accumulate(np.ones(3)); p.accumulate(np.ones(3)); p.grad
    array([2., 2., 2.])
    >>> p.zero_grad(); p.grad is None
    True
    """

    __slots__ = ("value", "_grad", "regularizer", "constraint")

    def __init__(self, value, *, regularizer=None, constraint=None):
        value = xp.as_array(value)
        if value.dtype.kind != "f":
            raise TypeError(f"Parameter value must be a floating-point array; got dtype {value.dtype}")
        self.value = value
        self._grad = None
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def grad(self):
        """dL/d(value), summed over every contribution since the last ``zero_grad()``; or None."""
        return self._grad

    @grad.setter
    def grad(self, new) -> None:
        if new is not None:
            new = xp.as_array(new)
            if new.shape != self.value.shape:
                raise ValueError(f"grad must have the parameter's shape {self.value.shape}; got {new.shape}")
            if new.dtype != self.value.dtype:
                new = new.astype(self.value.dtype)
        self._grad = new

    def accumulate(self, g) -> None:
        """Add one contribution ``g`` to the gradient.

        ``grad <- g`` when there is no gradient yet, else ``grad <- grad + g``: the chain rule sums the
        contributions of every path from the parameter to the loss. The first contribution is kept as it
        is (no copy): kernels hand over arrays they computed for this purpose.

        Parameters
        ----------
        g : ndarray
            dL/d(value) from one use of the parameter; the parameter's shape.

        Raises
        ------
        ValueError
            If ``g`` does not have the parameter's shape.
        """
        v = self.value
        if g.shape != v.shape:
            raise ValueError(f"a gradient contribution must have the parameter's shape {v.shape}; got {g.shape}")
        if self._grad is None:
            self._grad = g if g.dtype == v.dtype else g.astype(v.dtype)
        else:
            self._grad += g

    def zero_grad(self) -> None:
        """Forget the gradient (``grad`` becomes None); the next backward writes it afresh."""
        self._grad = None

    # -- conveniences ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape of ``value``."""
        return self.value.shape

    @property
    def dtype(self):
        """The dtype of ``value``."""
        return self.value.dtype

    @property
    def size(self) -> int:
        """The number of entries of ``value``."""
        return self.value.size

    def __repr__(self) -> str:
        extra = ""
        if self.regularizer is not None:
            extra += f", regularizer={self.regularizer!r}"
        if self.constraint is not None:
            extra += f", constraint={self.constraint!r}"
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype}{extra})"
