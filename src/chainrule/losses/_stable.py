"""Numerically stable log-sum-exp building blocks for the softmax losses."""
from __future__ import annotations

import numpy as np


def softplus(s: np.ndarray) -> np.ndarray:
    """log(1 + e^s) = max(s, 0) + log1p(e^-|s|): never overflows, exact for large |s|."""
    return np.maximum(s, 0) + np.log1p(np.exp(-np.abs(s)))


def log_sigmoid(s: np.ndarray) -> np.ndarray:
    """log sigma(s) = -softplus(-s), stable for any s."""
    return -softplus(-s)


def logsumexp(s: np.ndarray) -> np.ndarray:
    """log sum_j e^{s_j} over the last axis, shifted by the row maximum (never overflows)."""
    m = s.max(axis=-1, keepdims=True)
    z = np.exp(s - m)
    return (np.log(z.sum(axis=-1, keepdims=True)) + m)[..., 0]


def softmax_parts(s: np.ndarray):
    """Everything the softmax losses need, each with full relative precision, for scores (N, C).

    With m the row maximum (at column k1) and e_j = e^{s_j - m}, ``others`` = sum_{j != k1} e_j is
    summed directly, never as (sum_j e_j) - 1, so:

    - log sum_j e^{s_j} = m + log1p(others): a loss of 1e-6 keeps its digits (log(1 + 1e-6)
      computed as log of the rounded sum 1.000001 loses ten of them);
    - log p_k = (s_k - m) - log1p(others); p_k = e_k / (1 + others);
    - log(1 - p_k) = log1p(-p_k) for k != k1 (p_k <= 1/2), and for k1 itself
      log(others) - log1p(others), with log(others) summed around the second largest score so
      that 1 - p_max = e^-20000 keeps its logarithm.

    Returns (p, logp, log1mp).
    """
    n, c = s.shape
    rows = np.arange(n)
    k1 = s.argmax(axis=1)
    m = s[rows, k1][:, None]
    z = s - m
    e = np.exp(z)
    e[rows, k1] = 0
    others = e.sum(axis=1)
    log_total = np.log1p(others)
    e[rows, k1] = 1
    p = e / (1 + others)[:, None]
    logp = z - log_total[:, None]
    with np.errstate(divide="ignore"):
        log1mp = np.log1p(-p)
    log1mp[rows, k1] = logsumexp_leave_one_out_max(s, rows, k1) - m[:, 0] - log_total
    return p, logp, log1mp


def logsumexp_leave_one_out_max(s: np.ndarray, rows, k1) -> np.ndarray:
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
    largest score m2, so even 1 - p_max = e^-20000 keeps its logarithm (-20000). Entries of -inf
    (a masked class) are allowed; a row with no other finite entry gives -inf.
    """
    n, c = s.shape
    rows = np.arange(n)
    k1 = s.argmax(axis=1)
    m1 = s[rows, k1]
    with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
        shift1 = np.where(np.isfinite(m1), m1, 0.0).astype(s.dtype)
        e = np.exp(s - shift1[:, None])
        total = e.sum(axis=1, keepdims=True)
        out = np.log(np.maximum(total - e, 0.0)) + shift1[:, None]
    out[rows, k1] = logsumexp_leave_one_out_max(s, rows, k1)   # the argmax column
    return out
