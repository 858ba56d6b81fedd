"""Numerically stable log-sum-exp building blocks for the softmax losses."""
from __future__ import annotations

import numpy as np


def logsumexp(s: np.ndarray) -> np.ndarray:
    """log sum_j e^{s_j} over the last axis, shifted by the row maximum (never overflows)."""
    m = s.max(axis=-1, keepdims=True)
    z = np.exp(s - m)
    return (np.log(z.sum(axis=-1, keepdims=True)) + m)[..., 0]


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
        # the argmax column: sum over the others around the second maximum
        others = s.copy()
        others[rows, k1] = -np.inf
        k2 = others.argmax(axis=1)
        m2 = others[rows, k2]
        shift2 = np.where(np.isfinite(m2), m2, 0.0).astype(s.dtype)
        e2 = np.exp(others - shift2[:, None])
        out[rows, k1] = np.log(e2.sum(axis=1)) + shift2
    return out
