"""Hinge losses: the binary and multiclass SVM losses of the notes, each a kernel pair."""
from __future__ import annotations

import numpy as np

from .base import ClassLabelsLoss, Loss

FORMS = ("sum", "max")


# ---- kernels -------------------------------------------------------------------------------------
def binary_hinge_forward(s, y):
    """L_i = max(0, 1 - y_i s_i) for scores (N,) or (N, 1) and y_i in {-1, +1}; the cache is
    (where the margin is positive, y, the scores' shape)."""
    margin = 1 - y * s.reshape(-1)
    return np.maximum(margin, 0), (margin > 0, y, s.shape)


def binary_hinge_backward(cache):
    """dL_i/ds_i = -y_i where 1 - y_i s_i > 0, else 0 (the subgradient 0 at the kink)."""
    active, y, shape = cache
    return np.where(active, -y, 0).astype(y.dtype).reshape(shape)


def multiclass_hinge_forward(s, y, margin=1.0, form="sum", divide_by_classes=False):
    """L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin) for scores (N, C) and labels y
    (``form="max"``: only the largest term, Crammer and Singer's); divided by C if asked.
    The cache is (active terms, y, the winning class j of ``"max"`` or None, C, dtype, divided)."""
    n, c = s.shape
    rows = np.arange(n)
    margins = s - s[rows, y][:, None]
    margins += s.dtype.type(margin)
    j = None
    if form == "sum":
        margins[rows, y] = 0
        active = margins > 0
        np.maximum(margins, 0, out=margins)
        losses = margins.sum(axis=1)
    else:
        margins[rows, y] = -np.inf
        j = margins.argmax(axis=1)
        top = margins[rows, j]
        active = top > 0
        losses = np.maximum(top, 0)
    if divide_by_classes:
        losses = losses / s.dtype.type(c)
    return losses, (active, y, j, c, s.dtype, divide_by_classes)


def multiclass_hinge_backward(cache):
    """dL_i/ds_j = 1(term j active) for j != y_i and -(number of active terms) at y_i (subgradient
    0 at a kink); ``"max"``: +1 at the winning class and -1 at y_i when its term is active."""
    active, y, j, c, dt, divided = cache
    rows = np.arange(y.size)
    if j is None:
        g = active.astype(dt)
        g[rows, y] = -g.sum(axis=1)
    else:
        g = np.zeros((rows.size, c), dtype=dt)
        a = active.astype(dt)
        g[rows, j] = a
        g[rows, y] -= a
    if divided:
        g /= dt.type(c)
    return g


# ---- losses --------------------------------------------------------------------------------------
class BinaryHinge(Loss):
    r"""The binary SVM (hinge) loss on scores with targets in {-1, +1}.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    For scores s of shape (N,) (or (N, 1)) and targets y_i in {-1, +1}:

    .. math:: L_i = \max(0, 1 - y_i s_i), \qquad
       \frac{\partial L_i}{\partial s_i} = \begin{cases} -y_i & 1 - y_i s_i > 0 \\ 0 & \text{otherwise} \end{cases}

    (the notes' derivative; at the kink 1 - y_i s_i = 0 the subgradient 0 is used).
    """

    kernels = (binary_hinge_forward, binary_hinge_backward)

    def _validate(self, x, target):
        if not (x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1)):
            raise ValueError(f"input must be scores of shape (N,) or (N, 1); got shape {x.shape}")
        n = x.shape[0]
        y = np.asarray(target)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"target must be a 1-D array of {n} labels in {{-1, +1}}; got shape {y.shape}")
        if y.dtype.kind not in "iuf":
            raise TypeError(f"target must hold the numbers -1 and +1; got dtype {y.dtype}")
        bad = np.flatnonzero((y != 1) & (y != -1))
        if bad.size:
            raise ValueError(
                f"target must hold labels in {{-1, +1}}; got {y[bad[0]].item()} at index {bad[0]}"
            )
        return x, y.astype(x.dtype, copy=False)


class MulticlassHinge(ClassLabelsLoss):
    r"""The multiclass SVM (hinge) loss on scores (N, C) with integer labels in [0, C).

    Parameters
    ----------
    margin : float, default 1.0
        The margin Delta the correct class's score must exceed the others' by.
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).
    form : {"sum", "max"}, default "sum"
        ``"sum"``: the notes' loss, a term for every wrong class; ``"max"``: Crammer and Singer's,
        only the worst wrong class, max(0, max_{j != y} s_j - s_y + margin).
    divide_by_classes : bool, default False
        Divide L_i by C, as ``torch.nn.MultiMarginLoss``.

    Raises
    ------
    ValueError
        If ``margin`` is not finite or ``form`` is unknown.

    Notes
    -----
    .. math::
       L_i = \sum_{j \ne y_i} \max(0, s_j - s_{y_i} + \Delta), \qquad
       \frac{\partial L_i}{\partial s_j} = \mathbb{1}(s_j - s_{y_i} + \Delta > 0) \; (j \ne y_i), \qquad
       \frac{\partial L_i}{\partial s_{y_i}} = -\sum_{j \ne y_i} \mathbb{1}(s_j - s_{y_i} + \Delta > 0).

    A margin term exactly at 0 (the kink) contributes the subgradient 0.
    """

    kernels = (multiclass_hinge_forward, multiclass_hinge_backward)

    def __init__(self, margin: float = 1.0, reduction: str = "mean", *, form: str = "sum",
                 divide_by_classes: bool = False):
        super().__init__(reduction)
        if not np.isfinite(margin):
            raise ValueError(f"margin must be a finite number; got {margin!r}")
        if form not in FORMS:
            raise ValueError(f"form must be 'sum' or 'max'; got {form!r}")
        self.margin = float(margin)
        self.form = form
        self.divide_by_classes = bool(divide_by_classes)

    def _settings(self):
        return {"margin": self.margin, "form": self.form, "divide_by_classes": self.divide_by_classes}

    def __repr__(self):
        extra = "" if self.form == "sum" else f", form={self.form!r}"
        extra += ", divide_by_classes=True" if self.divide_by_classes else ""
        return f"MulticlassHinge(margin={self.margin}, reduction={self.reduction!r}{extra})"
