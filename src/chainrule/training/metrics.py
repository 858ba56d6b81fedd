"""Metrics on predictions: accuracy, error, confusion matrix."""
from __future__ import annotations

import numpy as np


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions equal to the true labels.

    Parameters
    ----------
    y_true : array_like
        The true labels.
    y_pred : array_like
        The predicted labels, the same shape.

    Returns
    -------
    float
        In [0, 1]; NaN for no samples.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; got {y_true.shape} and {y_pred.shape}")
    return float((y_true == y_pred).mean()) if y_true.size else float("nan")


def rmse(y_true, y_pred) -> float:
    """The root-mean-square error over every entry: sqrt(mean((y - s)^2)).

    Parameters
    ----------
    y_true : array_like
        The targets.
    y_pred : array_like
        The predictions, the same number of entries.

    Returns
    -------
    float
        NaN for no samples.
    """
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d))) if d.size else float("nan")


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = the number of samples of true class i predicted as class j.

    Parameters
    ----------
    y_true : array_like of int
        True labels in 0..C-1.
    y_pred : array_like of int
        Predicted labels in 0..C-1.
    n_classes : int, optional
        C (default: one more than the largest label seen).

    Returns
    -------
    ndarray of int64, shape (C, C)
        Rows are true classes, columns predictions; the diagonal counts the correct ones.
    """
    y_true = np.asarray(y_true, dtype=np.intp)
    y_pred = np.asarray(y_pred, dtype=np.intp)
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def scores_to_labels(scores: np.ndarray) -> np.ndarray:
    """Class indices from scores: the argmax over classes, or s > 0 for a single output.

    Parameters
    ----------
    scores : ndarray
        Shape (N, C), or (N,) / (N, 1) for one output (a binary classifier).

    Returns
    -------
    ndarray of int, shape (N,)
    """
    if scores.ndim == 1:
        return (scores > 0).astype(np.intp)
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.intp)
    return scores.argmax(axis=1)


def count_correct(scores: np.ndarray, labels, predict_labels=scores_to_labels) -> int:
    """How many rows of ``scores`` predict their label (the running accuracy's numerator); for
    multilabel 0/1 rows (2-D ``labels``), how many rows have every label right (s > 0 for 1)."""
    if np.ndim(labels) == 2:
        return int(np.count_nonzero(((scores > 0) == (np.asarray(labels) > 0)).all(axis=1)))
    return int(np.count_nonzero(predict_labels(scores) == labels))


def squared_error_sum(predictions: np.ndarray, targets) -> float:
    """sum (s - y)^2 over every entry (the running RMSE's numerator)."""
    d = predictions - np.asarray(targets).reshape(predictions.shape)
    return float(np.vdot(d, d))
