"""A run of a stochastic solver ('sgd', 'adam', 'rmsprop', 'adagrad') for a network estimator.

What it adds around ``training.Trainer``: the validation set (``validation_data``, or a share
of (X, y) held out as scikit-learn does, stratified for single-label classification), the
optimizer (kept across ``partial_fit`` calls), the learning-rate schedule ('invscaling',
'adaptive' or chainrule's ``lr_schedule``), the stopping rule and checkpoints as callbacks,
and what happens when training ends: a ``ConvergenceWarning`` when ``max_iter`` ended it before
the rule was met, the best weights kept when early stopping meets a divergence.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import registry
from ..errors import TrainingDiverged
from ..optim.schedules import Adaptive, InvScaling
from ..training.callbacks import Callback, Checkpoint
from ..training.trainer import Trainer
from ._convergence import GradientRule, LossOrScoreRule
from ._holdout import given_validation, hold_out, train_measure, training_sample, validator
from ._objective import EstimatorLoss


def _on_trainer(validate):
    return lambda trainer: validate(trainer.predict_scores)


class TrainingSetMetrics(Callback):
    """At each epoch's end, the training sample measured in evaluation mode (``train_loss``,
    ``train_accuracy`` or ``train_error``) joins the epoch's record: ``fit(eval_train=...)``.

    The loop's own ``loss``/``accuracy`` are running figures over the epoch's batches in training
    mode (dropout on, penalty included, the weights changing); these are measured on the
    validation set's definition, so the two curves compare.
    """

    def __init__(self, measure):
        self.measure = measure

    def on_epoch_end(self, trainer, epoch, record):
        values = self.measure(trainer.predict_scores)
        record.update(values)
        trainer.history.records[-1].update(values)


def _schedule(est, s, n_train: int, incremental: bool):
    if s.schedule == "invscaling":
        return InvScaling(s.power_t, n_train, int(est.t_))
    if s.schedule == "adaptive":
        old = getattr(est, "_schedule", None)
        return old if incremental and isinstance(old, Adaptive) else Adaptive()
    if s.schedule == "chainrule":
        return s.lr_schedule
    return None


def run_stochastic(est, s, X, y, targets, labels, sw, loss, scale, rng, predict_labels, *, incremental: bool,
                   resume_from=None, validation_data=None, eval_train=None) -> None:
    """Train ``est.model_`` for ``s.max_iter`` epochs (one for ``partial_fit``) and set the fitted attributes.

    ``eval_train``: None, or the number of training rows measured in evaluation mode after every
    epoch (0: all of them)."""
    extra = {}
    if resume_from is not None:
        _, meta = Trainer.read_checkpoint(resume_from)
        extra = meta.get("extra", {})
        est._check_resumed_state(extra, resume_from, X)
    validation, split_seed = None, None
    training, y_train = (X, targets, labels, sw), y
    if validation_data is not None:
        validation = given_validation(est, validation_data)
    elif s.early_stopping:
        split_seed = int(rng.integers(2**32 - 1))       # drawn on resume too: the generator's stream stays
        split_seed = extra.get("split_seed", split_seed)
        training, validation, y_train = hold_out(est, X, y, targets, labels, sw, s.validation_fraction, split_seed)
    Xt, tt, lt, swt = training
    n_train = Xt.shape[0]
    unit = 1.0 if swt is None else float(np.mean(swt))
    objective = EstimatorLoss(loss, scale, unit if unit > 0 else 1.0)
    opt = getattr(est, "_optimizer", None) if incremental else None
    if opt is None:
        opt = registry.optimizer(s.solver, est.model_, s.lr, **s.optimizer_kwargs)
    opt.lr = s.lr                       # the base rate: the schedule derives each epoch's from it
    schedule = _schedule(est, s, n_train, incremental)
    est._schedule = schedule
    rule = LossOrScoreRule(est, tol=s.tol, n_iter_no_change=s.n_iter_no_change, n_train=n_train,
                           validate=None if validation is None else _on_trainer(validator(est, loss, validation)),
                           early_stopping=s.early_stopping,
                           schedule=schedule if isinstance(schedule, Adaptive) else None,
                           verbose=est.verbose, decide=est._stopping == "loss")
    callbacks = [rule]
    if eval_train is not None:
        sample = training_sample(Xt, y_train, tt, eval_train or None)
        callbacks.append(TrainingSetMetrics(train_measure(est, loss, sample)))
    gradient_rule = GradientRule(s.tol) if est._stopping == "gradient" else None
    if gradient_rule is not None:
        callbacks.append(gradient_rule)
    if est.checkpoint and not incremental:
        callbacks.append(Checkpoint(est.checkpoint))
    trainer = Trainer(est.model_, objective, opt, batch_size=s.batch_for(n_train),
                      epochs=1 if incremental else s.max_iter,
                      rng=rng, lr_schedule=schedule, callbacks=callbacks, verbose=est.verbose, task=est._task,
                      eval_batch_size=4096, predict_labels=predict_labels, shuffle=s.shuffle)
    trainer.checkpoint_extra = est._checkpoint_state(X, split_seed)
    if resume_from is not None:
        trainer.resume(resume_from)
    try:
        history = trainer.fit(Xt, tt, y_labels=lt, sample_weight=swt)
    except TrainingDiverged as exc:
        _record(est, exc.history, incremental)
        est._optimizer = opt
        if not (s.early_stopping and getattr(est, "_best_state", None) is not None):
            raise
        est.validation_scores_.append(math.nan)     # on_train_end has put the best weights back
        warnings.warn(f"training diverged ({exc}); early stopping keeps the weights of the best validation "
                      f"score ({est.best_validation_score_:.6g})", ConvergenceWarning, stacklevel=4)
        return
    _record(est, history, incremental)
    est._optimizer = opt
    converged = gradient_rule.converged if gradient_rule is not None else rule.converged
    history.stopped_early = history.stopped_early or (converged and not incremental and est.n_iter_ < s.max_iter)
    if history.interrupted:
        warnings.warn(f"training was interrupted (Ctrl-C) after {len(history)} complete epochs; "
                      "the model keeps the weights of the last batch", UserWarning, stacklevel=4)
    elif not converged and not incremental and s.max_iter > 0 and est.n_iter_ >= s.max_iter:
        if gradient_rule is not None:
            msg = (f"{type(est).__name__}: gradient descent did not converge in {s.max_iter} epochs: the largest "
                   f"entry of the gradient is still {gradient_rule.grad_max:.3g} (tol={s.tol:g}). Features on very "
                   "different scales slow it down: standardise X, raise the number of epochs or use solver='lstsq'.")
        else:
            msg = (f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the optimization hasn't "
                   "converged yet.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)


def _record(est, history, incremental: bool) -> None:
    """history_ of a fit, or the partial fits' history grown by one epoch."""
    if incremental and hasattr(est, "history_") and history is not est.history_:
        for r in history.records:
            est.history_.append(dict(r, epoch=len(est.history_)))
    else:
        est.history_ = history
