"""The data of a run: checked once, split for validation, cut into shuffled minibatches, and passed
forward in chunks for predictions."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def batch_slices(n: int, batch_size: int | None, min_batch: int = 1) -> list[slice]:
    """Slices covering 0..n in order, ``batch_size`` rows each; the last partial batch is kept.

    Parameters
    ----------
    n : int
        The number of samples.
    batch_size : int or None
        Rows per batch; None (or n or more) gives one full batch (gradient descent).
    min_batch : int, default 1
        A trailing batch smaller than this is merged into the previous one (batch norm cannot
        train on one sample).

    Returns
    -------
    list of slice
    """
    if batch_size is None or batch_size >= n:
        return [slice(0, n)]
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < min_batch:
        starts.pop()
    return [slice(s, starts[i + 1] if i + 1 < len(starts) else n) for i, s in enumerate(starts)]


def stratified_split(y, fraction: float, rng: np.random.Generator, min_per_class: int = 1):
    """Indices (train, held_out) with about ``fraction`` of every class held out.

    Each class keeps at least one sample on each side when it has two or more; classes with a
    single sample stay in training. The result is shuffled with ``rng``.

    Parameters
    ----------
    y : array_like of shape (N,)
        The class labels.
    fraction : float in (0, 1)
        The share of each class to hold out.
    rng : numpy.random.Generator
        The run's generator.
    min_per_class : int, default 1
        The fewest samples of a class held out (when it has enough).

    Returns
    -------
    train : ndarray of int
    held_out : ndarray of int

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1).
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
    """Indices (train, held_out) for regression targets: a plain seeded split.

    Parameters
    ----------
    n : int
        The number of samples.
    fraction : float in (0, 1)
        The share held out (at least one sample).
    rng : numpy.random.Generator
        The run's generator.

    Returns
    -------
    train : ndarray of int
    held_out : ndarray of int

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {fraction!r}")
    perm = rng.permutation(n)
    k = max(1, int(round(fraction * n)))
    return perm[k:], perm[:k]


@dataclass
class TrainingData:
    """Inputs ``X``, loss targets ``y``, class indices ``labels`` for accuracy (None for
    regression), per-sample ``weights`` (normalised to mean 1, or None; ``weight_unit`` is the
    mean of the weights given, so a batch's weight in their units is weight_unit sum w) and the
    ``validation`` triple (X_val, y_val, labels_val) or None."""

    X: np.ndarray
    y: np.ndarray
    labels: np.ndarray | None = None
    weights: np.ndarray | None = None
    validation: tuple | None = None
    weight_unit: float = 1.0

    def __len__(self) -> int:
        return self.X.shape[0]

    def take(self, idx):
        """The rows ``idx`` (an index array or a slice) as a batch (x, y, labels, weights)."""
        y = self.y[idx]
        labels = None if self.labels is None else (y if self.labels is self.y else self.labels[idx])
        return self.X[idx], y, labels, None if self.weights is None else self.weights[idx]

    def subset(self, idx) -> "TrainingData":
        x, y, labels, w = self.take(idx)
        return TrainingData(x, y, labels, w, self.validation, self.weight_unit)


def shuffled_batches(data: TrainingData, slices: list[slice], rng: np.random.Generator, shuffle: bool = True):
    """One epoch: (x, y, labels, weights) per batch, in a fresh random order (none for one batch;
    ``shuffle=False``: the rows in their order, drawing nothing from ``rng``)."""
    if len(slices) == 1 or not shuffle:
        for sl in slices:
            yield data.take(sl)
        return
    perm = rng.permutation(len(data))
    for sl in slices:
        yield data.take(perm[sl])


def prepare_data(X, y, *, dtype, classification: bool, y_labels=None, sample_weight=None, validation_data=None,
                 validation_fraction=None, stratify=None, split_rng=None) -> TrainingData:
    """Check (X, y) once, normalise the sample weights, and set the validation data aside.

    ``validation_data`` is (X_val, y_val) or (X_val, y_val, labels_val); otherwise
    ``validation_fraction`` of (X, y) is held out with ``split_rng`` (stratified by class for
    classification unless ``stratify=False``).
    """
    X = _as_dtype(X, dtype)
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples; got {X.shape[0]} and {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one sample; got 0")
    weights, unit = None, 1.0
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (X.shape[0],) or not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
            raise ValueError(f"sample_weight must be {X.shape[0]} finite numbers >= 0, not all zero")
        # mean 1 over the training set: each batch's 1/B sum w_i L_i is then an unbiased estimate
        # of the weighted mean over the whole set (see Loss)
        unit = float(w.mean())
        weights = (w / unit).astype(dtype)
    labels = (y if y_labels is None else np.asarray(y_labels)) if classification else None
    data = TrainingData(X, y, labels, weights, weight_unit=unit)
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, y_val_labels)")
        Xv, yv = _as_dtype(validation_data[0], dtype), np.asarray(validation_data[1])
        lv = np.asarray(validation_data[2]) if len(validation_data) == 3 else (yv if classification else None)
        data.validation = (Xv, yv, lv)
    elif validation_fraction:
        if stratify is None:
            stratify = classification
        if stratify:
            tr, va = stratified_split(labels, validation_fraction, split_rng)
        else:
            tr, va = random_split(X.shape[0], validation_fraction, split_rng)
        x_val, y_val, l_val, _ = data.take(va)
        data = data.subset(tr)
        data.validation = (x_val, y_val, l_val)
    if data.validation is not None and len(data.validation[0]) == 0:
        data.validation = None
    return data


def _as_dtype(X, dtype):
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):      # scipy.sparse: rows are taken as CSR
        X = X.tocsr()
        return X if X.dtype == dtype else X.astype(dtype)
    X = np.asarray(X)
    return X if X.dtype == dtype else X.astype(dtype)


def predict_in_batches(model, X, batch_size: int = 4096) -> np.ndarray:
    """``model.forward`` over ``X`` in chunks of ``batch_size`` rows (the caller chooses the mode).

    Parameters
    ----------
    model : Module
        The network.
    X : array_like
        The inputs, one sample per row.
    batch_size : int, default 4096
        Rows per forward pass (bounds the memory of the activations).

    Returns
    -------
    ndarray
        The outputs, one row per sample.
    """
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    n = X.shape[0]
    if n <= batch_size:
        return model.forward(X)
    first = model.forward(X[:batch_size])
    out = np.empty((n,) + first.shape[1:], dtype=first.dtype)
    out[:batch_size] = first
    for s in range(batch_size, n, batch_size):
        out[s:s + batch_size] = model.forward(X[s:s + batch_size])
    return out
