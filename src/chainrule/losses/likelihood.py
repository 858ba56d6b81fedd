"""Log-likelihood and cross-entropy losses, on probabilities or fused with softmax/sigmoid, each a
kernel pair. The softmax is the one of ``layers.activations``; its log-domain pieces are in
``_stable.py``."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import as_float_array, check_finite
from ..layers.activations import sigmoid, softmax
from .base import ClassLabelsLoss, Loss, check_class_input
from ._stable import log1m_softmax, logsumexp_leave_one_out, softplus


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


def _clamp(p):
    return np.maximum(p, p.dtype.type(prob_floor(p.dtype)))


def _rows(n: int) -> np.ndarray:
    """0..n-1, cached: every batch of the same size indexes its labels with the same rows."""
    r = _ROWS.get(n)
    if r is None:
        r = _ROWS[n] = np.arange(n)
        r.setflags(write=False)
    return r


_ROWS: dict = {}


def _sum_classes(terms):
    return terms.sum(axis=1) if terms.ndim == 2 else terms


# ---- kernels -------------------------------------------------------------------------------------
def log_likelihood_forward(p, y):
    """L_i = -log p_{y_i} for probabilities p (N, C) and labels y (p_y clamped at ``prob_floor``);
    the cache is (y, the clamped p_y, p's shape)."""
    py = _clamp(p[_rows(p.shape[0]), y])
    return -np.log(py), (y, py, p.shape)


def log_likelihood_backward(cache):
    """dL_i/dp = -(0, ..., 1/p_{y_i}, ..., 0) (the notes' vector)."""
    y, py, shape = cache
    g = np.zeros(shape, dtype=py.dtype)
    g[_rows(shape[0]), y] = -1 / py
    return g


def cross_entropy_forward(p, z):
    """L_i = -sum_j z_j log p_j + (1 - z_j) log(1 - p_j) for probabilities p and targets z of
    p's shape ((N, C), or (N,) for one neuron); 0 and 1 are clamped at ``prob_floor``. The
    cache is (z, clamped p, clamped 1 - p)."""
    pc, qc = _clamp(p), _clamp(1 - p)
    floor = p.dtype.type(np.log(prob_floor(p.dtype)))
    with np.errstate(divide="ignore"):
        log_q = np.maximum(np.log1p(-p), floor)   # log(1 - p) exact for small p, clamped at p = 1
    return -_sum_classes(z * np.log(pc) + (1 - z) * log_q), (z, pc, qc)


def cross_entropy_backward(cache):
    """dL_i/dp_j = -z_j / p_j + (1 - z_j) / (1 - p_j)."""
    z, pc, qc = cache
    return -z / pc + (1 - z) / qc


def softmax_log_likelihood_forward(s, y):
    """L_i = -log softmax(s_i)_{y_i} for scores (N, C); the cache is (p, y). The softmax is the
    one stable softmax, precise in float64 (full relative precision for tiny losses)."""
    p, logp = softmax(s, log=True, precise=s.dtype == np.float64)
    return 0 - logp[_rows(s.shape[0]), y], (p, y)          # 0 - x: a loss of exactly 0 is +0


def softmax_log_likelihood_backward(cache):
    """dL_i/ds = p - onehot(y_i)."""
    p, y = cache
    g = p.copy()
    g[_rows(y.size), y] -= 1
    return g


def softmax_cross_entropy_forward(s, y):
    """L_i = -log p_y - sum_{k != y} log(1 - p_k), p = softmax(s_i), in the log domain; the
    cache is (y, log p, log(1 - p))."""
    p, logp = softmax(s, log=True, precise=True)
    log1mp = log1m_softmax(s, p, logp)
    rows = np.arange(s.shape[0])
    terms = log1mp.copy()
    terms[rows, y] = logp[rows, y]
    return -terms.sum(axis=1), (y, logp, log1mp)


def softmax_cross_entropy_backward(cache):
    """dL/ds_y = p_y - 1 - p_y R and dL/ds_a = 2 p_a - p_a sum_{k != y, a} r_k (a != y), with
    r_k = p_k / (1 - p_k) and R = sum_{k != y} r_k; each product p_a r_k is exp(log p_a + log r_k)."""
    y, logp, log1mp = cache
    rows = np.arange(y.size)
    log_r = logp - log1mp                    # log r_k = log p_k - log(1 - p_k)
    log_r[rows, y] = -np.inf                 # the sum over k excludes y
    with np.errstate(under="ignore"):
        # log sum_{k != y, k != a} r_k for every a (for a = y the exclusion is the same set)
        t = np.exp(logp + logsumexp_leave_one_out(log_r))    # p_a * sum_{k != y, a} r_k
        p = np.exp(logp)
    g = 2 * p - t
    g[rows, y] = p[rows, y] - 1 - t[rows, y]
    return g.astype(logp.dtype, copy=False)


def sigmoid_cross_entropy_forward(s, z):
    """L_i = sum_j z_j softplus(-s_j) + (1 - z_j) softplus(s_j) = CrossEntropy(sigma(s), z);
    the cache is (sigma(s), z)."""
    terms = softplus(s) - z * s              # softplus(-s) = softplus(s) - s
    return _sum_classes(terms), (sigmoid(s), z)


def sigmoid_cross_entropy_backward(cache):
    """dL_i/ds_j = sigma(s_j) - z_j."""
    sig, z = cache
    return sig - z


# ---- targets -------------------------------------------------------------------------------------
def _targets_matrix(x, target):
    """Integer labels -> one-hot z; a matrix of targets in [0, 1] of the input's shape is kept."""
    t = np.asarray(target)
    if t.ndim == x.ndim and t.shape == x.shape and x.ndim == 2:
        z = as_float_array(t, "target")
        check_finite(z, "target")
        if ((z < 0) | (z > 1)).any():
            raise ValueError("target matrix must hold values in [0, 1]")
        return z.astype(x.dtype, copy=False)
    if x.ndim == 1:  # one output: binary labels 0/1 of shape (N,)
        if t.shape != x.shape:
            raise ValueError(f"target must have shape {x.shape} (labels 0 or 1); got {t.shape}")
        if t.dtype.kind not in "iufb":
            raise TypeError(f"target must hold the labels 0 and 1; got dtype {t.dtype}")
        bad = np.flatnonzero((t != 0) & (t != 1))
        if bad.size:
            raise ValueError(f"target must hold labels in {{0, 1}}; got {t[bad[0]].item()} at index {bad[0]}")
        return t.astype(x.dtype)
    x, y = check_class_input(x, target)
    z = np.zeros(x.shape, dtype=x.dtype)
    z[np.arange(x.shape[0]), y] = 1
    return z


class _ZTargets(Loss):
    """Losses on (N,) or (N, C) outputs whose targets become a matrix z (see ``_targets_matrix``)."""

    def _validate(self, x, target):
        if x.ndim not in (1, 2):
            what = "probabilities" if self.takes_probabilities else "scores"
            raise ValueError(f"input must be {what} of shape (N, C) or (N,); got shape {x.shape}")
        return x, _targets_matrix(x, target)


# ---- losses --------------------------------------------------------------------------------------
class LogLikelihood(ClassLabelsLoss):
    r"""The negative log-likelihood of the correct class, on probabilities.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    For probabilities p of shape (N, C) and integer labels y_i in [0, C):

    .. math:: L_i = -\log p_{y_i}, \qquad
       \frac{\partial L_i}{\partial p} = -\left(0, \dots, \frac{1}{p_{y_i}}, \dots, 0\right)

    (the notes' vector). An exact p_y = 0 (infinite loss) is clamped at ``prob_floor(dtype)`` so
    the loss and gradient stay finite.
    """

    kernels = (log_likelihood_forward, log_likelihood_backward)
    takes_probabilities = True


class CrossEntropy(_ZTargets):
    r"""The cross-entropy of independent probabilities (one sigmoid neuron per class).

    ``target`` is integer labels (z is their one-hot code), or an (N, C) matrix of targets in
    [0, 1] (several sigmoid neurons). A 1-D input of shape (N,) is one neuron with labels 0/1.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    For probabilities p of shape (N, C):

    .. math:: L_i = -\sum_j \left[z_{ij} \log p_j + (1 - z_{ij}) \log(1 - p_j)\right], \qquad
       \frac{\partial L_i}{\partial p_j} = -\frac{z_{ij}}{p_j} + \frac{1 - z_{ij}}{1 - p_j}.

    That is -1/p_y at the label and +1/(1 - p_j) elsewhere. (The notes' vector prints
    -1/(1 - p_j): it drops that sign; the gradient check confirms the +.) Exact 0 or 1
    probabilities are clamped at ``prob_floor(dtype)``.
    """

    kernels = (cross_entropy_forward, cross_entropy_backward)
    takes_probabilities = True


class SoftmaxLogLikelihood(ClassLabelsLoss):
    r"""The notes' softmax classifier: softmax of the scores, then the log-likelihood.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    For scores s of shape (N, C) and labels y in [0, C):

    .. math:: L_i = -\log \frac{e^{s_{y_i}}}{\sum_j e^{s_j}} = \log \sum_j e^{s_j} - s_{y_i}, \qquad
       \frac{\partial L_i}{\partial s} = p - \mathrm{onehot}(y_i).

    The chain rule through the softmax Jacobian D_ab = p_a (delta_ab - p_b) collapses to this.
    Exact for scores of any size (the row maximum is subtracted first); in float64 a tiny loss
    such as 1e-9 keeps its relative precision (``layers.activations.softmax(precise=True)``).
    """

    kernels = (softmax_log_likelihood_forward, softmax_log_likelihood_backward)

    def probabilities(self) -> np.ndarray:
        """The softmax probabilities p (N, C) of the last forward.

        Returns
        -------
        ndarray
        """
        return self._cache[0][0]


class SoftmaxCrossEntropy(ClassLabelsLoss):
    r"""Softmax of the scores, then the cross-entropy (the notes' "softmax + cross-entropy").

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

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

    kernels = (softmax_cross_entropy_forward, softmax_cross_entropy_backward)


class SigmoidCrossEntropy(_ZTargets):
    r"""A layer of sigmoid neurons trained with the cross-entropy, fused for stability.

    Scores (N,) with labels 0/1 (one neuron for two classes), or (N, C) with integer labels
    (one-hot z) or an (N, C) matrix of targets in [0, 1].

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        How the per-sample losses L_i are combined (see ``Loss``).

    Notes
    -----
    .. math:: L_i = \sum_j \left[z_j \,\mathrm{softplus}(-s_j) + (1 - z_j)\,\mathrm{softplus}(s_j)\right]
       = \mathrm{CrossEntropy}(\sigma(s), z), \qquad \frac{\partial L_i}{\partial s_j} = \sigma(s_j) - z_j.
    """

    kernels = (sigmoid_cross_entropy_forward, sigmoid_cross_entropy_backward)
