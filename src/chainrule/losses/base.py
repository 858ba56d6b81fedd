"""Loss: a kernel pair per loss, and the one place where the reduction over samples is decided."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import as_float_array, check_finite, check_labels, describe_index
from ..errors import NoForwardError

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    r"""Base class of the losses: ``forward(input, target)`` returns the reduced loss L,
    ``backward()`` returns dL/d(input) for that same input.

    Each loss is a pure kernel pair, ``kernels = (forward, backward)`` (``hinge.py``,
    ``likelihood.py``, ``regression.py``): ``forward(input, target, **settings) -> (L_i, cache)``
    gives the per-sample losses, ``backward(cache)`` their gradients dL_i/d(input). This class
    checks the input, keeps the cache and adds the reduction and the sample weights.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses :math:`L_i` are combined. ``"mean"``:
        :math:`L = \frac{1}{N}\sum_i L_i`, the notes' data loss (N is the number of samples);
        ``"sum"``: :math:`L = \sum_i L_i`; ``"none"``: the vector :math:`(L_1, \dots, L_N)`, and
        ``backward(grad_output)`` then takes the upstream gradient :math:`dJ/dL_i` of shape (N,)
        (ones by default).

    Notes
    -----
    ``sample_weight`` (optional, shape (N,), >= 0) weights each :math:`L_i`: ``"mean"`` becomes
    :math:`\frac{1}{N}\sum_i w_i L_i`, ``"sum"`` :math:`\sum_i w_i L_i`, ``"none"`` the vector
    :math:`w_i L_i`. Weights of one change nothing. PyTorch divides by :math:`\sum_i w_i` within
    each batch instead; in minibatch training that gives a batch without heavy samples full
    weight. The trainer normalises the weights to mean 1 over the training set, so its minibatch
    losses are unbiased estimates of the weighted mean over the whole set.

    Every call checks its input (finite values, shapes, labels): the checks cost a few
    microseconds per batch and catch a diverging run at the batch where it happens.
    """

    #: (forward, backward): the loss's kernel pair
    kernels: tuple = ()
    #: True for losses whose input is probabilities in [0, 1] (checked in forward)
    takes_probabilities = False

    def __init__(self, reduction: str = "mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
        self.reduction = reduction
        self._cache = None

    def _validate(self, x, target):
        """(x, target) checked and converted; subclasses extend."""
        return x, target

    def _settings(self) -> dict:
        """The forward kernel's keyword arguments (a margin...)."""
        return {}

    def check_targets(self, target, output_shape: tuple, dtype=np.float32, sample_weight=None) -> None:
        """Validate every target of a data set once, before training.

        The training loop then fails early, at the start, instead of at the first bad batch. The
        default runs the loss on placeholder outputs of 0.5, valid as a score and as a probability.

        Parameters
        ----------
        target : array_like
            The targets of the whole data set, one per sample.
        output_shape : tuple of int
            The shape of one output of the network (without the batch axis).
        dtype : dtype, default float32
            The dtype of the outputs.
        sample_weight : array_like of shape (N,), optional
            A weight >= 0 for each sample.

        Raises
        ------
        ValueError
            If a target, or a weight, does not fit the loss.
        """
        n = np.shape(target)[0] if np.ndim(target) else 0
        self.forward(np.full((n,) + tuple(output_shape), 0.5, dtype=dtype), target, sample_weight=sample_weight)

    def forward(self, input, target, sample_weight=None):
        """The loss of ``input`` (scores or probabilities: see the class) against ``target``.

        Parameters
        ----------
        input : array of shape (N, C) or (N,)
            What the loss differentiates: scores, probabilities or predictions.
        target : array
            Class labels, targets in {-1, +1}, a target matrix or regression targets (see the class).
        sample_weight : array of shape (N,), optional
            A weight >= 0 for each sample's loss.

        Returns
        -------
        float scalar (``"mean"``, ``"sum"``) or array of shape (N,) (``"none"``)
        """
        x = as_float_array(input, "input")
        check_finite(x, "input")
        if self.takes_probabilities and (x.min(initial=0.0) < 0 or x.max(initial=1.0) > 1):
            bad = np.flatnonzero((x < 0) | (x > 1))
            raise ValueError(
                "input must be probabilities in [0, 1]; got "
                f"{x.flat[bad[0]].item()} at index {describe_index(int(bad[0]), x.shape)}"
            )
        if x.ndim == 0:
            raise ValueError("input must have one row per sample; got a scalar")
        x, target = self._validate(x, target)
        w = None if sample_weight is None else self._check_weight(sample_weight, x)
        losses, cache = self.kernels[0](x, target, **self._settings())
        self._cache = (cache, w)
        if w is not None:
            losses = losses * w
        if self.reduction == "none":
            return losses
        total = losses.sum(dtype=x.dtype)
        if self.reduction == "mean":
            total = total / x.dtype.type(x.shape[0])
        return x.dtype.type(total)

    def _check_weight(self, sample_weight, x):
        w = np.asarray(sample_weight)
        if w.shape != (x.shape[0],):
            raise ValueError(f"sample_weight must have shape ({x.shape[0]},); got {w.shape}")
        if w.dtype.kind not in "iuf":
            raise TypeError(f"sample_weight must be numbers; got dtype {w.dtype}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
        return w.astype(x.dtype, copy=False)

    __call__ = forward

    def backward(self, grad_output=None):
        """dL/d(input) for the input of the last ``forward``.

        It includes the reduction's factor (1/N for ``"mean"``) and the sample weights.

        Parameters
        ----------
        grad_output : float or ndarray, optional
            The upstream gradient dJ/dL: a scalar for ``"mean"`` and ``"sum"``, a vector of shape (N,)
            (dJ/dL_i, multiplying each row) for ``"none"``. Default: one.

        Returns
        -------
        ndarray
            dL/d(input), the input's shape and dtype.

        Raises
        ------
        NoForwardError
            If there was no ``forward`` before.
        ValueError
            If ``grad_output`` has the wrong shape.
        """
        if self._cache is None:
            raise NoForwardError(f"{type(self).__name__}.backward() was called before forward()")
        cache, w = self._cache
        g = self.kernels[1](cache)          # a new array: scaled in place below
        n, dt = g.shape[0], g.dtype
        rows = (-1,) + (1,) * (g.ndim - 1)  # a per-sample factor, broadcast over the sample's entries
        if w is not None:
            g *= w.reshape(rows)
        if self.reduction == "none":
            if grad_output is None:
                return g
            go = np.asarray(grad_output, dtype=dt)
            if go.shape != (n,):
                raise ValueError(f"grad_output must have shape ({n},) for reduction='none'; got {go.shape}")
            return g * go.reshape(rows)
        scale = dt.type(1.0 / n) if self.reduction == "mean" else dt.type(1.0)
        if grad_output is not None:
            go = np.asarray(grad_output, dtype=dt)
            if go.size != 1:
                raise ValueError(f"grad_output must be a scalar for reduction={self.reduction!r}; got shape {go.shape}")
            scale = dt.type(scale * go.reshape(()))
        if scale != 1:
            g *= scale
        return g

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class ClassLabelsLoss(Loss):
    """A loss on (N, C) scores or probabilities with integer class labels in [0, C).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        As ``Loss``.
    """

    def _validate(self, x, target):
        return check_class_input(x, target, "probabilities" if self.takes_probabilities else "scores")

    def check_targets(self, target, output_shape, dtype=np.float32, sample_weight=None):
        if len(output_shape) != 1:
            super().check_targets(target, output_shape, dtype, sample_weight)
        else:                                      # the labels alone, without running the loss
            n = np.shape(target)[0] if np.ndim(target) else 0
            check_labels(target, "target", n, output_shape[0])
            if sample_weight is not None:
                self._check_weight(sample_weight, np.empty((n, 0), dtype=dtype))


def check_class_input(x: np.ndarray, target, what: str = "scores"):
    """(N, C) input with integer labels in [0, C)."""
    if x.ndim != 2:
        raise ValueError(f"input must be {what} of shape (N, C); got shape {x.shape}")
    return x, check_labels(target, "target", x.shape[0], x.shape[1])


def check_same_shape(x: np.ndarray, target, name: str = "target") -> np.ndarray:
    """Targets of exactly the input's shape: no silent broadcasting."""
    t = as_float_array(target, name)
    if t.shape != x.shape:
        raise ValueError(
            f"{name} must have the same shape as input {x.shape}; got {t.shape} (no broadcasting)"
        )
    check_finite(t, name)
    return t.astype(x.dtype, copy=False)
