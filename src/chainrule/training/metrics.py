"""Metrics on predictions: accuracy, error, confusion matrix."""
from __future__ import annotations

import numpy as np


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; got {y_true.shape} and {y_pred.shape}")
    return float((y_true == y_pred).mean()) if y_true.size else float("nan")


def rmse(y_true, y_pred) -> float:
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d))) if d.size else float("nan")


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as j (integer labels 0..C-1)."""
    y_true = np.asarray(y_true, dtype=np.intp)
    y_pred = np.asarray(y_pred, dtype=np.intp)
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def scores_to_labels(scores: np.ndarray) -> np.ndarray:
    """Class index from scores: argmax over classes, or s > 0 for a single output."""
    if scores.ndim == 1:
        return (scores > 0).astype(np.intp)
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.intp)
    return scores.argmax(axis=1)


def count_correct(scores: np.ndarray, labels, predict_labels=scores_to_labels) -> int:
    """How many rows of ``scores`` predict their label (the running accuracy's numerator)."""
    return int(np.count_nonzero(predict_labels(scores) == labels))


def squared_error_sum(predictions: np.ndarray, targets) -> float:
    """sum (s - y)^2 over every entry (the running RMSE's numerator)."""
    d = predictions - np.asarray(targets).reshape(predictions.shape)
    return float(np.vdot(d, d))
