"""The validation set of a run: ``validation_data`` given by the user, or a share of (X, y) held
out as scikit-learn's MLP does for early stopping (stratified by class for single-label
classification), and what is recorded about it after every epoch or iteration: the loss, the
score scikit-learn monitors (accuracy, or R^2; weighted like the training set) and the accuracy
or RMSE. ``fit(..., eval_train=...)`` measures the training set (or a fixed sample of it) on the
same definition, so that the two curves of a run can be compared."""
from __future__ import annotations

import copy
import math

import numpy as np


def given_validation(est, validation_data):
    """(X, y, targets, sample_weight) of a user's ``validation_data=(X_val, y_val)``."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    Xv, yv = est._model_input(validation_data[0]), np.asarray(validation_data[1])
    tv, _ = est._validation_targets(yv)
    if Xv.shape[0] != tv.shape[0]:
        raise ValueError(f"validation_data has {Xv.shape[0]} samples and {tv.shape[0]} targets")
    return Xv, yv, tv, None


def _rows(a, idx):
    return None if a is None else a[idx]


def hold_out(est, X, y, targets, labels, sw, fraction: float, seed: int):
    """scikit-learn's split for early stopping: ((X, targets, labels, sw) of training, (X, y, targets, sw)
    of validation). Stratified by class for single-label classification."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(X.shape[0])
    train, val = train_test_split(idx, test_size=fraction, random_state=seed, stratify=est._stratify_by(y))
    if val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
    training = (X[train], targets[train], _rows(labels, train), _rows(sw, train))
    validation = (X[val], y[val], targets[val], _rows(sw, val))
    return training, validation, y[train]


def check_eval_train(eval_train):
    """``fit``'s eval_train as (on, size): off (None or False), every row (True: size None) or at
    most ``size`` rows (a positive integer)."""
    from .._helpers.validation import check_int

    if eval_train is None or eval_train is False:
        return False, None
    if eval_train is True:
        return True, None
    try:
        return True, check_int("eval_train", eval_train, 1)
    except ValueError:
        raise ValueError(f"eval_train must be None, False, True (every training row) or a number of rows >= 1; "
                         f"got {eval_train!r}") from None


def training_sample(X, y, targets, size: int | None):
    """(X, y, targets, None) of the training rows ``eval_train`` measures: all of them (``size``
    None or at least the number of rows), else ``size`` rows evenly spaced through the set. The
    rows are fixed for the run and drawn from no generator, so the run's random stream (and a
    resumed run) is the same with or without the measurement. Unweighted, as the validation loss."""
    n = X.shape[0]
    if size is None or size >= n:
        return X, y, targets, None
    rows = np.unique(np.linspace(0, n - 1, size).round().astype(np.intp))
    return X[rows], np.asarray(y)[rows], targets[rows], None


def train_measure(est, loss, sample):
    """measure(predict_scores) -> {'train_loss', 'train_accuracy' or 'train_error'}: the data loss
    ('mean' reduction, unweighted) and accuracy or RMSE of the training sample in evaluation mode:
    the definitions of 'val_loss' and 'val_accuracy' / 'val_error'."""
    validate = validator(est, loss, sample, score=False)

    def measure(predict_scores) -> dict:
        return {"train" + k[3:]: v for k, v in validate(predict_scores).items()}

    return measure


def validator(est, loss, validation, score: bool = True):
    """validate(predict_scores) -> the validation record of the current weights (predict_scores(X)
    gives the network's outputs in evaluation mode); ``score=False`` leaves out 'val_score'."""
    Xv, yv, tv, swv = validation
    eval_loss = copy.copy(loss)
    eval_loss.reduction = "mean"
    regression = est._task == "regression"

    def validate(predict_scores) -> dict:
        scores = predict_scores(Xv)
        if not np.isfinite(scores).all():
            metric = "val_error" if regression else "val_accuracy"
            return {"val_loss": math.nan, **({"val_score": math.nan} if score else {}), metric: math.nan}
        out = {"val_loss": float(eval_loss.forward(scores, tv))}
        if score:
            out["val_score"] = est._score_from_scores(scores, yv, swv)
        if regression:
            outputs = est._outputs_from_scores(scores).astype(np.float64)     # (N,) for one output, as y
            d = outputs - np.asarray(yv, np.float64).reshape(outputs.shape)
            out["val_error"] = float(np.sqrt(np.mean(d * d)))
        else:
            out["val_accuracy"] = est._score_from_scores(scores, yv, None)
        return out

    return validate
