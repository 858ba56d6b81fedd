"""Log-likelihood and cross-entropy losses, on probabilities or fused with softmax/sigmoid."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import as_float_array, check_finite
from ..layers.activations import sigmoid
from .base import ClassLabelsLoss, Loss, check_class_input
from ._stable import logsumexp_leave_one_out, softmax_parts, softplus


def prob_floor(dtype) -> float:
    """The bound at which probabilities are clamped before a log or a division: sqrt(tiny).

    Chosen so that log p, 1/p and even (1/p)^2 stay finite in the dtype: float32 gives 1.08e-19
    (so -log p <= 43.7 and 1/p <= 9.2e18), float64 1.49e-154 (-log p <= 354.3).

    Parameters
    ----------
    dtype : dtype
        A floating-point dtype.

    Returns
    -------
    float
    """
    return float(np.sqrt(np.finfo(dtype).tiny))


def _clamp(p, dtype):
    return np.maximum(p, dtype.type(prob_floor(dtype)))


class LogLikelihood(ClassLabelsLoss):
    r"""The negative log-likelihood of the correct class, on probabilities.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    For probabilities p of shape (N, C) and integer labels y_i in [0, C):

    .. math:: L_i = -\log p_{y_i}, \qquad
       \frac{\partial L_i}{\partial p} = -\left(0, \dots, \frac{1}{p_{y_i}}, \dots, 0\right)

    (the notes' vector). An exact p_y = 0 (infinite loss) is clamped at ``prob_floor(dtype)`` so
    the loss and gradient stay finite.
    """

    takes_probabilities = True

    def _validate(self, x, target):
        return check_class_input(self, x, target, what="probabilities")

    def _per_sample(self, p, y):
        rows = np.arange(p.shape[0])
        py = _clamp(p[rows, y], p.dtype)
        self._rows, self._y, self._py, self._shape, self._dt = rows, y, py, p.shape, p.dtype
        return -np.log(py)

    def _per_sample_grad(self):
        g = np.zeros(self._shape, dtype=self._dt)
        g[self._rows, self._y] = -1 / self._py
        return g


def _targets_matrix(loss, x, target):
    """Integer labels -> one-hot z; a matrix of targets in [0, 1] of the input's shape is kept."""
    t = np.asarray(target)
    if t.ndim == x.ndim and t.shape == x.shape and x.ndim == 2:
        z = as_float_array(t, "target")
        check_finite(z, "target")
        if ((z < 0) | (z > 1)).any():
            raise ValueError("target matrix must hold values in [0, 1]")
        return z.astype(x.dtype, copy=False), None
    if x.ndim == 1:  # one output: binary labels 0/1 of shape (N,)
        if t.shape != x.shape:
            raise ValueError(f"target must have shape {x.shape} (labels 0 or 1); got {t.shape}")
        if t.dtype.kind not in "iufb":
            raise TypeError(f"target must hold the labels 0 and 1; got dtype {t.dtype}")
        bad = np.flatnonzero((t != 0) & (t != 1))
        if bad.size:
            raise ValueError(f"target must hold labels in {{0, 1}}; got {t[bad[0]].item()} at index {bad[0]}")
        return t.astype(x.dtype), None
    x, y = check_class_input(loss, x, target)
    z = np.zeros(x.shape, dtype=x.dtype)
    z[np.arange(x.shape[0]), y] = 1
    return z, y


class _ZTargets(Loss):
    """Losses on (N,) or (N, C) outputs whose targets become a matrix z (see ``_targets_matrix``)."""

    _what = "outputs"

    def _validate(self, x, target):
        if x.ndim not in (1, 2):
            raise ValueError(f"input must be {self._what} of shape (N, C) or (N,); got shape {x.shape}")
        z, _ = _targets_matrix(self, x, target)
        return x, z


class CrossEntropy(_ZTargets):
    r"""The cross-entropy of independent probabilities (one sigmoid neuron per class).

    ``target`` is integer labels (z is their one-hot code), or an (N, C) matrix of targets in
    [0, 1] (several sigmoid neurons). A 1-D input of shape (N,) is one neuron with labels 0/1.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    For probabilities p of shape (N, C):

    .. math:: L_i = -\sum_j \left[z_{ij} \log p_j + (1 - z_{ij}) \log(1 - p_j)\right], \qquad
       \frac{\partial L_i}{\partial p_j} = -\frac{z_{ij}}{p_j} + \frac{1 - z_{ij}}{1 - p_j}.

    That is -1/p_y at the label and +1/(1 - p_j) elsewhere. (The notes' vector prints
    -1/(1 - p_j): it drops that sign; the gradient check confirms the +.) Exact 0 or 1
    probabilities are clamped at ``prob_floor(dtype)``.
    """

    takes_probabilities = True
    _what = "probabilities"

    def _per_sample(self, p, z):
        dt = p.dtype
        pc = _clamp(p, dt)
        qc = _clamp(1 - p, dt)
        self._z, self._pc, self._qc = z, pc, qc
        floor = dt.type(np.log(prob_floor(dt)))
        with np.errstate(divide="ignore"):
            log_q = np.maximum(np.log1p(-p), floor)   # log(1 - p) exact for small p, clamped at p = 1
        terms = z * np.log(pc) + (1 - z) * log_q
        return -(terms.sum(axis=1) if p.ndim == 2 else terms)

    def _per_sample_grad(self):
        z = self._z
        return -z / self._pc + (1 - z) / self._qc


def _rows(n: int) -> np.ndarray:
    """0..n-1, cached: every batch of the same size indexes its labels with the same rows."""
    r = _ROWS.get(n)
    if r is None:
        r = _ROWS[n] = np.arange(n)
        r.setflags(write=False)
    return r


_ROWS: dict = {}


class SoftmaxLogLikelihood(ClassLabelsLoss):
    r"""The notes' softmax classifier: softmax of the scores, then the log-likelihood.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    For scores s of shape (N, C) and labels y in [0, C):

    .. math:: L_i = -\log \frac{e^{s_{y_i}}}{\sum_j e^{s_j}} = \log \sum_j e^{s_j} - s_{y_i}, \qquad
       \frac{\partial L_i}{\partial s} = p - \mathrm{onehot}(y_i).

    The chain rule through the softmax Jacobian D_ab = p_a (delta_ab - p_b) collapses to this.
    Exact for scores of any size (the row maximum is subtracted first), and a tiny loss such as
    1e-6 keeps its relative precision (log1p; see ``softmax_parts``).
    """

    def _validate(self, x, target):
        return check_class_input(self, x, target)

    def _per_sample(self, s, y):
        rows = _rows(s.shape[0])
        self._rows, self._y = rows, y
        if s.dtype == np.float64:  # log1p, full relative precision (float32 training takes one pass)
            p, logp, _ = softmax_parts(s)
            self._p = p
            return -logp[rows, y]
        # the float32 training path: one exp pass, L = log(sum_j e^{s_j - m}) - (s_y - m); the log of
        # the sum loses relative precision only in losses far below float32's resolution
        m = s.max(axis=1, keepdims=True)
        p = s - m
        zy = p[rows, y]
        np.exp(p, out=p)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        self._p = p
        return np.log(total[:, 0]) - zy

    def _per_sample_grad(self):
        g = self._p.copy()
        g[self._rows, self._y] -= 1
        return g

    def probabilities(self) -> np.ndarray:
        """The softmax probabilities of the last forward.

        Returns
        -------
        ndarray
            p of shape (N, C), rows summing to 1.
        """
        return self._p


class SoftmaxCrossEntropy(ClassLabelsLoss):
    r"""Softmax of the scores, then the cross-entropy (the notes' "softmax + cross-entropy").

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    With p = softmax(s):

    .. math:: L_i = -\log p_y - \sum_{k \ne y} \log(1 - p_k).

    Computed in the log domain: log p_k = s_k - logsumexp(s), and log(1 - p_k) =
    logsumexp_{j != k}(s) - logsumexp(s), "from the other classes' scores" (DESIGN.md), so scores
    of +-1e4 give exact finite values. The gradient (chain rule through the softmax), with
    r_k = p_k / (1 - p_k) and R = sum_{k != y} r_k:

    .. math::
       \frac{\partial L}{\partial s_y} = p_y - 1 - p_y R, \qquad
       \frac{\partial L}{\partial s_a} = 2 p_a - p_a \sum_{k \ne y, a} r_k \quad (a \ne y),

    where every product p_a r_k is evaluated as exp(log p_a + log r_k) (no inf * 0).
    """

    def _validate(self, x, target):
        return check_class_input(self, x, target)

    def _per_sample(self, s, y):
        n, c = s.shape
        rows = np.arange(n)
        _, logp, log1mp = softmax_parts(s)       # log p_k and log(1 - p_k), full precision
        terms = log1mp.copy()
        terms[rows, y] = logp[rows, y]
        self._cache = (s, y, rows, logp, log1mp)
        return -terms.sum(axis=1)

    def _per_sample_grad(self):
        s, y, rows, logp, log1mp = self._cache
        dt = s.dtype
        log_r = logp - log1mp                    # log r_k = log p_k - log(1 - p_k)
        log_r[rows, y] = -np.inf                 # the sum over k excludes y
        with np.errstate(under="ignore"):
            # log sum_{k != y, k != a} r_k for every a (for a = y the exclusion is the same set)
            log_r_loo = logsumexp_leave_one_out(log_r)
            t = np.exp(logp + log_r_loo)         # p_a * sum_{k != y, a} r_k
            p = np.exp(logp)
        g = 2 * p - t
        g[rows, y] = p[rows, y] - 1 - t[rows, y]
        return g.astype(dt, copy=False)


class SigmoidCrossEntropy(_ZTargets):
    r"""A layer of sigmoid neurons trained with the cross-entropy, fused for stability.

    Scores (N,) with labels 0/1 (one neuron for two classes), or (N, C) with integer labels
    (one-hot z) or an (N, C) matrix of targets in [0, 1].

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined: their mean (the notes' data loss), their sum,
        or the vector of them (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_j \left[z_j \,\mathrm{softplus}(-s_j) + (1 - z_j)\,\mathrm{softplus}(s_j)\right]
       = \mathrm{CrossEntropy}(\sigma(s), z), \qquad \frac{\partial L_i}{\partial s_j} = \sigma(s_j) - z_j.
    """

    _what = "scores"

    def _per_sample(self, s, z):
        sp = softplus(s)             # softplus(-s) = softplus(s) - s
        terms = sp - z * s
        self._sig, self._z = sigmoid(s), z
        return terms.sum(axis=1) if s.ndim == 2 else terms

    def _per_sample_grad(self):
        return self._sig - self._z
