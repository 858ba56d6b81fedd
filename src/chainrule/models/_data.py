"""The data a solver trains on: ``FitData`` holds the training set (inputs, y, the loss's targets,
the labels of the running accuracy, sample weights), its validation set (``validation_data``
given by the user, or a share held out as scikit-learn's MLP does for early stopping, stratified
for single-label classification) and how the targets are read (``Labels`` or ``Values``).

After every epoch or iteration a solver records on the validation set the loss, the score
scikit-learn monitors (accuracy, or R^2; weighted like the training set) and the accuracy or
RMSE (``measure``); ``fit(..., eval_train=...)`` measures the training set (or a fixed sample of
it) on the same definition, so that the two curves of a run can be compared.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np

from .._helpers.validation import check_int


@dataclass(frozen=True, eq=False)
class FitData:
    """What a solver trains on. ``validation`` is (X, y, targets, sample_weight) or None;
    ``eval_train`` None (off), 0 (every training row) or a number of rows."""

    X: object
    y: np.ndarray
    targets: np.ndarray
    labels: np.ndarray | None
    sample_weight: np.ndarray | None
    task: object                          # Labels or Values
    validation: tuple | None = None
    eval_train: int | None = None

    def hold_out(self, fraction: float, seed: int) -> "FitData":
        """scikit-learn's split for early stopping: the rest of the data, with ``fraction`` of it as the
        validation set (stratified by class for single-label classification)."""
        from sklearn.model_selection import train_test_split

        idx = np.arange(self.X.shape[0])
        train, val = train_test_split(idx, test_size=fraction, random_state=seed, stratify=self.task.stratify(self.y))
        if val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             "dataset.")
        return replace(self, X=self.X[train], y=self.y[train], targets=self.targets[train],
                       labels=_rows(self.labels, train), sample_weight=_rows(self.sample_weight, train),
                       validation=(self.X[val], self.y[val], self.targets[val], _rows(self.sample_weight, val)))

    def measures(self, loss):
        """measure(predict_scores) -> the validation and training-set values of an epoch (a dict, maybe
        empty); ``predict_scores(X)`` gives the network's outputs in evaluation mode."""
        parts = []
        if self.validation is not None:
            parts.append(_measure(self.task, loss, self.validation, "val_", score=True))
        if self.eval_train is not None:
            parts.append(_measure(self.task, loss, self._training_sample(), "train_", score=False))
        return lambda predict_scores: {k: v for m in parts for k, v in m(predict_scores).items()}

    def _training_sample(self):
        """The training rows ``eval_train`` measures: all of them (0, or at least the number of rows),
        else that many rows evenly spaced through the set. Fixed for the run and drawn from no
        generator, so the run's random stream (and a resumed run) is the same with or without the
        measurement. Unweighted, as the validation loss."""
        n, size = self.X.shape[0], self.eval_train
        if not size or size >= n:
            return self.X, self.y, self.targets, None
        rows = np.unique(np.linspace(0, n - 1, size).round().astype(np.intp))
        return self.X[rows], np.asarray(self.y)[rows], self.targets[rows], None


def _rows(a, idx):
    return None if a is None else a[idx]


def check_eval_train(eval_train) -> int | None:
    """``fit``'s eval_train as FitData's: None (None or False), 0 (True: every row) or a number of rows."""
    if eval_train is None or eval_train is False:
        return None
    if eval_train is True:
        return 0
    try:
        return check_int("eval_train", eval_train, 1)
    except ValueError:
        raise ValueError(f"eval_train must be None, False, True (every training row) or a number of rows >= 1; "
                         f"got {eval_train!r}") from None


def _measure(task, loss, part, prefix: str, score: bool):
    """measure(predict_scores) -> {prefix + 'loss', prefix + 'score' (with ``score``), prefix +
    'accuracy' or prefix + 'error'} of ``part`` (X, y, targets, sample_weight): the data loss ('mean'
    reduction, unweighted), scikit-learn's score (weighted) and the accuracy or RMSE."""
    X, y, targets, weights = part
    eval_loss = copy.copy(loss)
    eval_loss.reduction = "mean"
    regression = task.kind == "regression"
    metric = prefix + ("error" if regression else "accuracy")

    def measure(predict_scores) -> dict:
        scores = predict_scores(X)
        if not np.isfinite(scores).all():
            return {prefix + "loss": math.nan, **({prefix + "score": math.nan} if score else {}), metric: math.nan}
        out = {prefix + "loss": float(eval_loss.forward(scores, targets))}
        if score:
            out[prefix + "score"] = task.score(scores, y, weights)
        if regression:
            outputs = task.predict(scores).astype(np.float64)     # (N,) for one output, as y
            d = outputs - np.asarray(y, np.float64).reshape(outputs.shape)
            out[metric] = float(np.sqrt(np.mean(d * d)))
        else:
            out[metric] = task.score(scores, y, None)
        return out

    return measure
