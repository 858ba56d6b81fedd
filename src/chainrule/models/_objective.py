"""The estimators' objective: the data loss plus the penalties, scikit-learn's batch-scaled one included.

``objective(model, loss, settings, weight_unit)`` gives the weights of the network's linear and
convolution layers the penalty (or max-norm constraint) of the settings and returns the loss the
solvers minimise.

scikit-learn's MLP adds 0.5 * alpha * ||W||^2 / B to each batch's mean loss, B being the batch's
number of samples (its total sample weight when there are weights). In the notes' terms that is
lambda R(W) with R(W) = sum W^2 and lambda = alpha / (2 B): a strength that changes with the
batch (the last, smaller batch of an epoch gets a larger one). Two small objects carry it without
touching the training loop:

- ``EstimatorLoss`` wraps the data loss. Its forward, which the loop calls before it adds the
  penalties, records 1 / (2 B) of the batch in a shared ``BatchScale``; it also turns outputs
  that are no longer finite into ``TrainingDiverged`` (the loss itself would refuse them with a
  plain ValueError).
- ``PerBatchPenalty`` wraps a penalty (L2, L1, elastic net) and multiplies its value and its
  gradient by that scale. With alpha read as the notes' lambda (the linear models) no wrapper is
  used.
"""
from __future__ import annotations

import numpy as np

from .. import registry
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..losses.base import Loss
from ..regularizers.penalties import Penalty


def objective(model, loss: Loss, s, weight_unit: float = 1.0) -> "EstimatorLoss":
    """Give the weights of the Linear and Conv2d layers (their biases too with ``penalize_bias``)
    the penalty or constraint of the settings ``s``, per batch for scikit-learn's alpha, and return
    the data loss as the loop sees it. ``weight_unit``: the mean sample weight (see EstimatorLoss)."""
    scale = BatchScale() if s.alpha_per_batch else None

    def regularizer():
        r, c = registry.penalty(s.penalty, s.alpha, s.beta, s.max_norm)
        return (PerBatchPenalty(r, scale) if (r is not None and scale is not None) else r), c

    for module in model.modules():
        if isinstance(module, (Linear, Conv2d)):
            module.weight.regularizer, module.weight.constraint = regularizer()
            if module.bias is not None:
                module.bias.regularizer = regularizer()[0] if s.penalize_bias else None
    return EstimatorLoss(loss, scale, weight_unit if weight_unit > 0 else 1.0)


class BatchScale:
    """1 / (2 B) of the current batch (B: its samples, or its total sample weight)."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0.5

    def __repr__(self):
        return "1/(2 B)"


class PerBatchPenalty(Penalty):
    """``inner`` (a penalty of strength alpha) times 1 / (2 B): alpha / (2 B) R(W) and its gradient."""

    def __init__(self, inner: Penalty, scale: BatchScale):
        super().__init__(inner.strength)
        self.inner, self.scale = inner, scale

    def penalty(self, W):
        return self.scale.value * self.inner.penalty(W)

    def gradient(self, W):
        g = self.inner.gradient(W)
        g *= g.dtype.type(self.scale.value)
        return g

    def __repr__(self):
        return f"{self.inner!r} / (2 B)"


class EstimatorLoss(Loss):
    """The data loss ``inner`` as the loop sees it: it sets the batch's ``scale`` (when given), and
    its value is infinite when the outputs are not finite (a divergence, for the loop's guard).

    ``weight_unit`` converts the loop's sample weights (normalised to mean 1 over the training
    set) back to the user's: B = weight_unit * sum of the batch's weights.
    """

    def __init__(self, inner: Loss, scale: BatchScale | None = None, weight_unit: float = 1.0):
        self._inner, self._scale, self._unit = inner, scale, float(weight_unit)
        super().__init__(inner.reduction)
        self.loss = type(inner).__name__          # what checkpoints record as the run's loss

    @property
    def reduction(self):
        return self._inner.reduction

    @reduction.setter
    def reduction(self, value):
        self._inner.reduction = value

    @property
    def inner(self) -> Loss:
        return self._inner

    def forward(self, input, target, sample_weight=None):
        x = np.asarray(input)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            return x.dtype.type(np.inf)
        if self._scale is not None:
            b = x.shape[0] if sample_weight is None else self._unit * float(np.sum(sample_weight))
            self._scale.value = 0.5 / b if b > 0 else 0.0
        return self._inner.forward(input, target, sample_weight=sample_weight)

    __call__ = forward

    def backward(self, grad_output=None):
        return self._inner.backward(grad_output)

    def check_targets(self, target, output_shape, dtype=np.float32, sample_weight=None):
        self._inner.check_targets(target, output_shape, dtype, sample_weight=sample_weight)

    def __repr__(self):
        return f"EstimatorLoss({self._inner!r})"
