"""The stochastic solvers ('sgd', 'adam', 'rmsprop', 'adagrad'): ``fit_stochastic`` trains a network
epoch by epoch with ``training.Trainer`` and decides after each epoch, as scikit-learn's MLP does,
whether to go on.

scikit-learn's rule (``stopping='loss'``): without early stopping an epoch "does not improve" when
its training loss (the objective) is above ``best_loss - tol``; with early stopping, when its
validation score (accuracy, or R^2) is below ``best_validation_score + tol``. More than
``n_iter_no_change`` such epochs in a row end the run (converged); with
``learning_rate='adaptive'`` they divide the learning rate by 5 instead, until it is at or below
1e-6. With early stopping the weights of the best validation score are put back at the end, also
when a later epoch diverges. ``verbose`` prints scikit-learn's lines on stdout.

The gradient rule (``stopping='gradient'``, LinearRegression's): converged when every entry of
the objective's gradient (averaged over the epoch's batches) is at most ``tol``. A loss that
stops changing says nothing there: descent crawling along a badly scaled direction changes the
loss by less than its rounding while the gradient stays large.
"""
from __future__ import annotations

import math
import sys
import warnings
from contextlib import closing

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import registry
from ..errors import TrainingDiverged
from ..optim.schedules import Adaptive, InvScaling
from ..training.callbacks import Checkpoint, EpochGradient
from ..training.trainer import Trainer
from ._objective import penalise
from ._result import FitResult, Progress
from ._settings import user_stacklevel


def fit_stochastic(s, model, loss, data, start: Progress, *, rng, incremental=False, optimizer=None,
                   schedule=None, resume_from=None, identity=None) -> FitResult:
    """Train ``model`` on ``data`` for ``s.max_iter`` epochs (one for a partial fit) and return the run.

    ``start``: the progress to continue (a new ``Progress`` for a first fit); ``optimizer`` and
    ``schedule``: a previous partial fit's, to continue; ``resume_from``: a checkpoint of this
    run; ``identity``: what a checkpoint records about the estimator (its class, input size and
    classes), to refuse resuming another's.
    """
    stored = _stored_run(resume_from, identity)
    split_seed = None
    if data.validation is None and s.early_stopping:
        drawn = int(rng.integers(2**32 - 1))            # drawn on resume too: the generator's stream stays
        split_seed = stored.get("split_seed", drawn)
        data = data.hold_out(s.validation_fraction, split_seed)
    n_train, weights = data.X.shape[0], data.sample_weight
    penalise(model, s)
    if optimizer is None:
        optimizer = registry.optimizer(s.solver, model, s.learning_rate_init, **s.optimizer_kwargs)
    optimizer.lr = s.learning_rate_init       # the base rate: the schedule derives each epoch's from it
    schedule = _schedule(s, n_train, start.t, schedule if incremental else None)
    gradient = EpochGradient() if s.stopping == "gradient" else None
    checkpoint = Checkpoint(s.checkpoint) if s.checkpoint and not incremental else None
    callbacks = [c for c in (gradient, checkpoint) if c is not None]
    trainer = Trainer(model, loss, optimizer, batch_size=s.batch_for(n_train), epochs=1 if incremental else s.max_iter,
                      rng=rng, lr_schedule=schedule, callbacks=callbacks, verbose=s.verbose, task=data.task.kind,
                      eval_batch_size=4096, shuffle=s.shuffle, penalty_per_batch=s.alpha_per_batch)
    trainer.checkpoint_extra = {**(identity or {}), "split_seed": split_seed}
    progress = start
    if resume_from is not None:
        trainer.resume(resume_from)
        progress = Progress.from_checkpoint(trainer.checkpoint_extra.get("progress", {}), trainer.checkpoint_arrays)
        if isinstance(schedule, Adaptive):
            schedule.reductions = int(trainer.checkpoint_extra.get("reductions", 0))
    early = s.early_stopping and data.validation is not None
    measure = data.measures(loss)
    try:
        with closing(trainer.iter_epochs(data.X, data.targets, y_labels=data.labels, sample_weight=weights)) as epochs:
            for record in epochs:                       # one epoch done: measure it, then decide
                record.update(measure(trainer.predict_scores))
                progress.n_iter += 1
                progress.t += n_train
                progress.loss = float(record["loss"])
                progress.loss_curve.append(progress.loss)
                _print(s, "Iteration %d, loss = %.8f" % (progress.n_iter, progress.loss))
                stop = _scikit_learns_rule(s, progress, record, early, trainer, schedule)
                if gradient is not None:
                    progress.grad_max = record["grad_max"] = _largest_free_entry(gradient.mean())
                    stop = progress.grad_max <= s.tol
                progress.converged = trainer.stop_training = stop
                if checkpoint is not None:                  # what the epoch's checkpoint will hold
                    meta, trainer.checkpoint_arrays = progress.to_checkpoint()
                    trainer.checkpoint_extra.update(progress=meta, reductions=getattr(schedule, "reductions", 0))
    except TrainingDiverged as exc:
        if not (early and progress.best_state is not None):
            raise
        model.load_state_dict(progress.best_state)
        progress.validation_scores.append(math.nan)
        warnings.warn(f"training diverged ({exc}); early stopping keeps the weights of the best validation "
                      f"score ({progress.best_validation_score:.6g})", ConvergenceWarning, stacklevel=user_stacklevel())
        return FitResult(progress, exc.history, optimizer, schedule)
    if early and progress.best_state is not None:
        model.load_state_dict(progress.best_state)
    history = trainer.history
    history.stopped_early = history.stopped_early or (progress.converged and not incremental
                                                      and progress.n_iter < s.max_iter)
    if history.interrupted:
        warnings.warn(f"training was interrupted (Ctrl-C) after {len(history)} complete epochs; "
                      "the model keeps the weights of the last batch", UserWarning, stacklevel=user_stacklevel())
    elif not progress.converged and not incremental and progress.n_iter >= s.max_iter:
        warnings.warn(_not_converged(s, progress), ConvergenceWarning, stacklevel=user_stacklevel())
    return FitResult(progress, history, optimizer, schedule)


def _stored_run(path, identity) -> dict:
    """What a checkpoint recorded about its estimator; another estimator's checkpoint is refused."""
    if path is None:
        return {}
    stored = Trainer.read_checkpoint(path)[1].get("extra", {})
    if stored.get("estimator") != identity["estimator"]:
        raise ValueError(f"checkpoint {path} was written by {stored.get('estimator')}, not {identity['estimator']}")
    if stored.get("n_features_in") not in (None, identity["n_features_in"]):
        raise ValueError(f"checkpoint {path} was trained on {stored['n_features_in']} features; X has "
                         f"{identity['n_features_in']}")
    if "classes" in stored and "classes" in identity and stored["classes"] != identity["classes"]:
        raise ValueError(f"checkpoint {path} was trained on classes {stored['classes']}; y has {identity['classes']}")
    if "progress" not in stored:
        raise ValueError(f"checkpoint {path} was written by chainrule 0.1, whose estimators kept their progress "
                         "elsewhere; this chainrule cannot continue it exactly: start the run again")
    return stored


def _schedule(s, n_train: int, t: int, previous):
    """The learning-rate schedule of the run: scikit-learn's, chainrule's, or None (constant)."""
    if s.learning_rate == "invscaling":
        return InvScaling(s.power_t, n_train, int(t))
    if s.learning_rate == "adaptive":
        return previous if isinstance(previous, Adaptive) else Adaptive()
    return s.lr_schedule


def _print(s, line: str) -> None:
    if s.verbose:
        print(line, file=sys.stdout, flush=True)


def _scikit_learns_rule(s, p: Progress, record: dict, early: bool, trainer, schedule) -> bool:
    """Update the best loss or validation score and the epochs without improvement; True: stop."""
    epoch = record["epoch"]
    if early:
        score = record["val_score"]
        p.validation_scores.append(score)
        _print(s, "Validation score: %f" % score)
        p.no_improvement_count = p.no_improvement_count + 1 if score < p.best_validation_score + s.tol else 0
        if score > p.best_validation_score:
            p.best_validation_score, p.best_state = score, trainer.model.state_dict()
            trainer.history.best_epoch = epoch
    else:
        p.no_improvement_count = p.no_improvement_count + 1 if p.loss > p.best_loss - s.tol else 0
        if p.loss < p.best_loss:
            p.best_loss = p.loss
            trainer.history.best_epoch = epoch
    if s.stopping != "loss" or p.no_improvement_count <= s.n_iter_no_change:
        return False
    what = "Validation score" if early else "Training loss"
    msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (what, s.tol, s.n_iter_no_change)
    if isinstance(schedule, Adaptive) and schedule.can_reduce(trainer.optimizer.lr):
        schedule.reduce()
        p.no_improvement_count = 0
        _print(s, msg + " Setting learning rate to %f" % schedule(trainer.base_lr, epoch))
        return False
    _print(s, msg + (" Learning rate too small." if isinstance(schedule, Adaptive) else "") + " Stopping.")
    return True


def _largest_free_entry(gradients) -> float:
    """max |g| over the parameters' mean gradients, of the part a step may still act on: for a row
    held on its max-norm ball (||w_j|| = c) whose descent direction -g points outward (g . w_j < 0),
    the projection removes the radial part, leaving g - (g . w_j / ||w_j||^2) w_j. At a constrained
    minimum that is 0 (KKT: g = -lambda w_j, lambda >= 0); elsewhere it is g."""
    largest = 0.0
    for param, g in gradients:
        c = getattr(param.constraint, "max_norm", None)
        if c is not None:
            W = np.asarray(param.value, dtype=np.float64)
            rows = W.reshape(W.shape[0], -1) if W.ndim > 1 else W.reshape(1, -1)
            G = np.array(g, dtype=np.float64).reshape(rows.shape)
            norms2 = (rows ** 2).sum(axis=1)
            radial = (G * rows).sum(axis=1) / np.maximum(norms2, np.finfo(np.float64).tiny)
            held = (np.sqrt(norms2) >= c * (1 - 1e-6)) & (radial < 0)
            G[held] -= radial[held, None] * rows[held]
            g = G
        largest = max(largest, float(np.abs(g).max(initial=0.0)))
    return largest


def _not_converged(s, p: Progress) -> str:
    if s.stopping == "gradient":
        return (f"gradient descent did not converge in {s.max_iter} epochs: the largest entry of the gradient is "
                f"still {p.grad_max:.3g} (tol={s.tol:g}). Features on very different scales slow it down: "
                "standardise X, raise max_iter or use solver='lstsq'.")
    return f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the optimization hasn't converged yet."
