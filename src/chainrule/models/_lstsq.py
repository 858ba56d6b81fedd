"""solver='lstsq' (LinearRegression, PolynomialRegression): the exact minimiser of the L2 loss, in one step.

With an intercept the inputs and targets are centred first; an L2 penalty
(1/N) ||A W - Y||^2 + alpha ||W||^2 is solved as one least-squares problem on A stacked over
sqrt(alpha) I. Inputs or targets so large that their squares would overflow (values near 1e300)
are divided by a power of two first, the same for every column (exact, and the minimum-norm
solution of an under-determined problem stays the same), and the weights multiplied back after.
"""
from __future__ import annotations

import numpy as np

from ..training.history import History
from ._result import FitResult, Progress


def fit_lstsq(s, model, data) -> FitResult:
    """Set the weights of ``model`` (one Linear layer) to the least-squares solution on ``data``."""
    if data.task.loss != "l2":
        raise ValueError(f"solver='lstsq' minimises the L2 loss; use solver='sgd' for loss={data.task.loss!r}")
    if s.penalty not in (None, "l2"):
        raise ValueError(f"solver='lstsq' supports penalty None or 'l2'; got {s.penalty!r}")
    if data.eval_train is not None:
        raise ValueError("eval_train applies to the epochs of the iterative solvers; solver='lstsq' has none")
    layer = model[0]
    A, Y = np.asarray(data.X, dtype=np.float64), np.asarray(data.targets, dtype=np.float64)
    a, b = _scale(A), _scale(Y)
    A, Y = A / a, Y / b                   # exact (powers of two); 1 unless the values are near 1e300
    n, d = A.shape
    if layer.bias is not None:
        x_mean, y_mean = A.mean(axis=0), Y.mean(axis=0)
        A, Y = A - x_mean, Y - y_mean
    alpha = s.alpha if s.penalty == "l2" else 0.0
    if alpha > 0:  # (1/N)||A W - Y||^2 + alpha ||W||^2 as one least-squares problem (W = V b / a)
        A = np.vstack([A / np.sqrt(n), (np.sqrt(alpha) / a) * np.eye(d)])
        Y = np.vstack([Y / np.sqrt(n), np.zeros((d, Y.shape[1]))])
    V, *_ = np.linalg.lstsq(A, Y, rcond=None)             # (d, K)
    layer.weight.value[...] = (V * (b / a)).T
    if layer.bias is not None:
        layer.bias.value[...] = (y_mean - x_mean @ V) * b
    model.eval()
    return FitResult(Progress(n_iter=1), History(info={"solver": "lstsq"}))


def _scale(M) -> float:
    """1, or for values beyond 2**300 (whose squares, summed, overflow) the power of two just above them."""
    largest = float(np.abs(M).max(initial=0.0))
    return 1.0 if not largest > 2.0 ** 300 else 2.0 ** np.ceil(np.log2(largest))
