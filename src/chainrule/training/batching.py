"""Minibatches and seeded, stratified splits."""
from __future__ import annotations

import numpy as np


def batch_slices(n: int, batch_size: int | None, merge_single: bool = False) -> list[slice]:
    """Slices covering 0..n in order; the last partial batch is kept.

    ``batch_size=None`` gives one full batch (gradient descent). With ``merge_single`` a trailing
    batch of one sample is merged into the previous one (batch norm cannot train on one sample).
    """
    if batch_size is None or batch_size >= n:
        return [slice(0, n)]
    starts = list(range(0, n, batch_size))
    if merge_single and len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(s, starts[i + 1] if i + 1 < len(starts) else n) for i, s in enumerate(starts)]


def stratified_split(y, fraction: float, rng: np.random.Generator, min_per_class: int = 1):
    """Indices (train, held_out) with about ``fraction`` of every class held out.

    Each class keeps at least one sample on each side when it has two or more; classes with a
    single sample stay in training. The result is shuffled with ``rng``.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {fraction!r}")
    y = np.asarray(y)
    classes, inverse = np.unique(y, return_inverse=True)
    held = []
    for c in range(classes.size):
        idx = np.flatnonzero(inverse == c)
        rng.shuffle(idx)
        k = int(round(fraction * idx.size))
        if idx.size >= 2:
            k = min(max(k, min_per_class), idx.size - 1)
        else:
            k = 0
        held.append(idx[:k])
    held = np.concatenate(held) if held else np.empty(0, dtype=np.intp)
    mask = np.ones(y.shape[0], dtype=bool)
    mask[held] = False
    train = np.flatnonzero(mask)
    rng.shuffle(train)
    rng.shuffle(held)
    return train, held


def random_split(n: int, fraction: float, rng: np.random.Generator):
    """Indices (train, held_out) for regression targets: a plain seeded split."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {fraction!r}")
    perm = rng.permutation(n)
    k = max(1, int(round(fraction * n)))
    return perm[k:], perm[:k]
