"""Log-domain pieces of the likelihood losses, built on the one stable softmax
(``layers.activations.softmax``): softplus and log sigmoid, log-sum-exp, and log(1 - p_k)
computed from the other classes' scores."""
from __future__ import annotations

import numpy as np

from ..layers.activations import softmax


def softplus(s: np.ndarray) -> np.ndarray:
    """log(1 + e^s) = max(s, 0) + log1p(e^-|s|): never overflows, exact for large |s|."""
    return np.maximum(s, 0) + np.log1p(np.exp(-np.abs(s)))


def log_sigmoid(s: np.ndarray) -> np.ndarray:
    """log sigma(s) = -softplus(-s), stable for any s."""
    return -softplus(-s)


def logsumexp(s: np.ndarray) -> np.ndarray:
    """log sum_j e^{s_j} over the last axis: the row maximum m minus log p_m (never overflows)."""
    return s.max(axis=-1) - softmax(s, log=True)[1].max(axis=-1)


def log1m_softmax(s: np.ndarray, p: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """log(1 - p_k) for scores s (N, C) and their softmax p, log p, with full relative precision.

    For k other than the row's argmax k1, p_k <= 1/2 and log1p(-p_k) is exact. For k1,
    1 - p_k1 = sum_{j != k1} e^{s_j} / sum_j e^{s_j} is summed from the other classes' scores, so
    that 1 - p_max = e^-20000 keeps its logarithm, -20000.
    """
    rows = np.arange(s.shape[0])
    k1 = s.argmax(axis=1)
    with np.errstate(divide="ignore"):
        out = np.log1p(-p)
    out[rows, k1] = _logsumexp_without(s, rows, k1) - s[rows, k1] + logp[rows, k1]
    return out


def _logsumexp_without(s: np.ndarray, rows, k1) -> np.ndarray:
    """log sum_{j != k1} e^{s_j} per row, summed around the largest remaining score."""
    others = s.copy()
    others[rows, k1] = -np.inf
    m2 = others.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
        shift = np.where(np.isfinite(m2), m2, 0.0).astype(s.dtype)
        return np.log(np.exp(others - shift[:, None]).sum(axis=1)) + shift


def logsumexp_leave_one_out(s: np.ndarray) -> np.ndarray:
    """L[i, k] = log sum_{j != k} e^{s_ij}, exact for scores of any size.

    For k other than the row's argmax the sum contains the maximum term e^0 = 1, so
    log(S - e_k) + m (S = sum_j e^{s_j - m}) subtracts a number below 1 from one of at least 1:
    no cancellation. For k = argmax the remaining terms are summed afresh around the second
    largest score. Entries of -inf (a masked class) are allowed; a row with no other finite entry
    gives -inf.
    """
    rows = np.arange(s.shape[0])
    k1 = s.argmax(axis=1)
    m1 = s[rows, k1]
    with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
        shift1 = np.where(np.isfinite(m1), m1, 0.0).astype(s.dtype)
        e = np.exp(s - shift1[:, None])
        total = e.sum(axis=1, keepdims=True)
        out = np.log(np.maximum(total - e, 0.0)) + shift1[:, None]
    out[rows, k1] = _logsumexp_without(s, rows, k1)
    return out
