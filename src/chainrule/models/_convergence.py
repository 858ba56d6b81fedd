"""When an estimator's training stops, as scikit-learn's MLP decides it, and what it prints.

``LossOrScoreRule`` is scikit-learn's rule for its stochastic solvers, epoch by epoch:

- without early stopping, an epoch "does not improve" when its training loss (the objective) is
  above ``best_loss_ - tol``; with early stopping, when its validation score (accuracy, or R^2)
  is below ``best_validation_score_ + tol``. ``best_loss_`` / ``best_validation_score_`` keep the
  best value seen;
- more than ``n_iter_no_change`` such epochs in a row end the run (converged). With
  ``learning_rate='adaptive'`` they divide the learning rate by 5 instead, until it is at or
  below 1e-6;
- with early stopping the weights of the best validation score are put back at the end.

It keeps the estimator's ``loss_``, ``loss_curve_``, ``validation_scores_``, ``best_loss_``,
``best_validation_score_``, ``n_iter_`` and ``t_`` (samples seen) up to date, records
``val_loss``, ``val_score`` and the validation accuracy or RMSE in the history, and with
``verbose`` prints scikit-learn's lines on stdout ("Iteration 3, loss = 0.12345678").

``GradientRule`` is the rule of full-batch gradient descent (``LinearRegression``): converged
when every entry of the objective's gradient is at most ``tol`` in absolute value. A loss that
stops changing says nothing there: gradient descent crawling along a badly scaled direction
changes the loss by less than its rounding, while the gradient stays large.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from ..training.callbacks import Callback


class LossOrScoreRule(Callback):
    """scikit-learn's stopping rule (see the module docstring) on the estimator ``est``.

    ``validate(trainer) -> dict`` evaluates the validation set, if there is one (keys
    ``val_loss``, ``val_score`` and ``val_accuracy`` or ``val_error``); with ``early_stopping``
    its score decides, otherwise the training loss. ``decide=False`` keeps the records and
    attributes but leaves the decision to another rule (``GradientRule``). ``schedule`` is the
    run's ``Adaptive`` schedule when the learning rate is adaptive.
    """

    def __init__(self, est, *, tol: float, n_iter_no_change: float, n_train: int, validate=None,
                 early_stopping: bool = False, schedule=None, verbose: int = 0, decide: bool = True):
        self.est, self.tol, self.patience, self.n_train = est, float(tol), n_iter_no_change, int(n_train)
        self.validate, self.early_stopping, self.schedule = validate, bool(early_stopping and validate), schedule
        self.verbose, self.decide = verbose, decide
        self.converged = False

    def _print(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stdout, flush=True)

    def on_epoch_end(self, trainer, epoch, record):
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = float(record["loss"])
        est.loss_curve_.append(est.loss_)
        self._print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))
        if self.validate is not None:
            values = self.validate(trainer)
            record.update(values)
            trainer.history.records[-1].update(values)
        if self.early_stopping:
            score = values["val_score"]
            est.validation_scores_.append(score)
            self._print("Validation score: %f" % score)
            if score < est.best_validation_score_ + self.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_state = trainer.model.state_dict()
                trainer.history.best_epoch = epoch
        else:
            if est.loss_ > est.best_loss_ - self.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if est.loss_ < est.best_loss_:
                est.best_loss_ = est.loss_
                trainer.history.best_epoch = epoch
        if self.decide and est._no_improvement_count > self.patience:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (what, self.tol, self.patience)
            if self.schedule is not None and self.schedule.can_reduce(trainer.optimizer.lr):
                self.schedule.reduce()
                est._no_improvement_count = 0
                self._print(msg + " Setting learning rate to %f" % self.schedule(trainer.base_lr, epoch))
            else:
                small = self.schedule is not None
                self._print(msg + (" Learning rate too small." if small else "") + " Stopping.")
                self.converged = True
                trainer.stop_training = True

    def on_train_end(self, trainer):
        if self.early_stopping and getattr(self.est, "_best_state", None) is not None:
            trainer.model.load_state_dict(self.est._best_state)

    # -- checkpoints: the estimator's memory of the run ---------------------------------------
    _SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_", "_no_improvement_count")

    def get_state(self):
        est = self.est
        arrays = {f"best.{k}": v for k, v in (getattr(est, "_best_state", None) or {}).items()}
        meta = {k: getattr(est, k) for k in self._SCALARS}
        meta.update(loss_curve=list(est.loss_curve_), converged=self.converged,
                    validation_scores=None if est.validation_scores_ is None else list(est.validation_scores_),
                    reductions=getattr(self.schedule, "reductions", 0))
        return arrays, _finite_or_str(meta)

    def set_state(self, arrays, meta):
        est = self.est
        meta = _from_str(meta)
        for k in self._SCALARS:
            if k in meta:
                setattr(est, k, meta[k])
        est.loss_curve_ = list(meta.get("loss_curve", []))
        scores = meta.get("validation_scores")
        est.validation_scores_ = None if scores is None else list(scores)
        self.converged = bool(meta.get("converged", False))
        if self.schedule is not None:
            self.schedule.reductions = int(meta.get("reductions", 0))
        best = {k[5:]: v for k, v in arrays.items() if k.startswith("best.")}
        est._best_state = best or None


def _free_gradient(g, param):
    """The part of g that a step may still act on: for a row held on its max-norm ball
    (||w_j|| = c) whose descent direction -g points outward (g . w_j < 0), the projection removes
    the radial part, so only the tangential part g - (g . w_j / ||w_j||^2) w_j is left. At a
    constrained minimum that is 0 (KKT: g = -lambda w_j, lambda >= 0); elsewhere it is g."""
    constraint = getattr(param, "constraint", None)
    if constraint is None or not hasattr(constraint, "max_norm"):
        return g
    W = np.asarray(param.value, dtype=np.float64)
    rows, G = W.reshape(W.shape[0], -1) if W.ndim > 1 else W.reshape(1, -1), np.array(g, dtype=np.float64)
    Gr = G.reshape(rows.shape)
    norms2 = (rows ** 2).sum(axis=1)
    radial = (Gr * rows).sum(axis=1) / np.maximum(norms2, np.finfo(np.float64).tiny)
    held = (np.sqrt(norms2) >= constraint.max_norm * (1 - 1e-6)) & (radial < 0)
    Gr[held] -= radial[held, None] * rows[held]
    return G


class GradientRule(Callback):
    """Converged when max |dJ/dtheta| <= ``tol`` over the epoch's mean gradient (the exact
    gradient for full-batch descent); for weights under a max-norm constraint, the part of the
    gradient the constraint does not hold back (``_free_gradient``). Records ``grad_max``."""

    def __init__(self, tol: float):
        self.tol = float(tol)
        self.converged = False
        self.grad_max = math.inf

    def on_epoch_begin(self, trainer, epoch):
        self._sums, self._count = None, 0

    def on_batch_end(self, trainer, epoch, batch, loss):
        self._params = [p for p in trainer.model.parameters() if p.grad is not None]
        grads = [p.grad for p in self._params]
        if self._sums is None:
            self._sums = [np.array(g, dtype=np.float64) for g in grads]
        else:
            for s, g in zip(self._sums, grads):
                s += g
        self._count += 1

    def on_epoch_end(self, trainer, epoch, record):
        if not self._sums:
            return
        self.grad_max = max(float(np.abs(_free_gradient(s / self._count, p)).max(initial=0.0))
                            for s, p in zip(self._sums, self._params))
        record["grad_max"] = self.grad_max
        trainer.history.records[-1]["grad_max"] = self.grad_max
        if self.grad_max <= self.tol:
            self.converged = True
            trainer.stop_training = True

    def get_state(self):
        return {}, {"grad_max": _finite_or_str(self.grad_max), "converged": self.converged}

    def set_state(self, arrays, meta):
        self.grad_max = _from_str(meta.get("grad_max", math.inf))
        self.converged = bool(meta.get("converged", False))


def _finite_or_str(v):
    """JSON has no inf or nan: checkpoints store them as strings."""
    if isinstance(v, dict):
        return {k: _finite_or_str(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite_or_str(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def _from_str(v):
    if isinstance(v, dict):
        return {k: _from_str(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_str(x) for x in v]
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    return v
