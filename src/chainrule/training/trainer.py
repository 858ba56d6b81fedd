"""The one training loop used by everything else (estimators, the CLI, the benchmarks).

The notes' recipe: start from random values; for every minibatch compute the data loss plus
lambda R(W), step along the negative gradient; visit the whole set every epoch.
"""
from __future__ import annotations

import copy
import math
import signal
import threading
import time

import numpy as np

from .._validation import resolve_rng
from ..core.module import Module
from ..errors import TrainingDiverged
from ..losses.base import Loss
from ..optim.base import Optimizer
from ..optim.schedules import make_schedule
from .batching import batch_slices, random_split, stratified_split
from .callbacks import Callback, ProgressBar, overrides
from .checkpoint import read_checkpoint, restore, write_checkpoint
from .history import History
from .metrics import scores_to_labels

class _InterruptFlag:
    """While active, Ctrl-C (SIGINT) sets ``caught`` instead of raising; a second Ctrl-C raises."""

    def __init__(self):
        self.caught = False
        self._previous = None
        self._active = False

    def _handler(self, signum, frame):
        if self.caught:  # second Ctrl-C: the user means it
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.caught = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
                self._active = True
            except ValueError:  # not allowed here (e.g. some embedded interpreters)
                self._active = False
        return self

    def __exit__(self, *exc):
        if self._active:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
        return False


class Trainer:
    """Minibatch training of ``model`` on ``loss`` with ``optimizer``.

    - Every epoch reshuffles with ``rng`` and visits every sample once; the last partial batch
      is kept (a last batch of one sample is merged into the previous one when the model has a
      batch norm). ``batch_size=None`` is full-batch gradient descent.
    - Objective = data loss + the penalty lambda R(W) of every parameter that carries a
      regulariser (estimators give them to weights only unless asked otherwise).
    - ``task='classification'`` records accuracy (the running accuracy over the epoch's batches,
      as the weights change); ``'regression'`` records the root-mean-square error.
    - A non-finite loss, or one above ``divergence_factor`` times the first batch's, stops with
      ``TrainingDiverged`` (naming epoch, batch and learning rate); the weights of the start of
      that epoch are put back and the history so far is attached.
    - Ctrl-C stops after the current batch, keeps the weights and marks the history interrupted.
    """

    def __init__(self, model: Module, loss: Loss, optimizer: Optimizer, *, batch_size: int | None = 128,
                 epochs: int = 10, rng=None, lr_schedule=None, callbacks=(), verbose: int = 0,
                 task: str = "classification", divergence_factor: float = 1e3, eval_batch_size: int = 4096,
                 predict_labels=scores_to_labels):
        if not isinstance(model, Module):
            raise TypeError(f"model must be a Module; got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a Loss; got {type(loss).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer; got {type(optimizer).__name__}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None (full batch); got {batch_size!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0; got {epochs!r}")
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.batch_size = None if batch_size is None else int(batch_size)
        self.epochs = int(epochs)
        self.rng = resolve_rng(rng)
        self.schedule = make_schedule(lr_schedule, epochs)
        self.base_lr = optimizer.lr
        self.callbacks: list[Callback] = list(callbacks)
        if verbose and not any(isinstance(c, ProgressBar) for c in self.callbacks):
            self.callbacks.append(ProgressBar(verbose))
        self.task = task
        self.divergence_factor = float(divergence_factor)
        self.eval_batch_size = int(eval_batch_size)
        self.predict_labels = predict_labels
        self.history = History()
        self.start_epoch = 0
        self.completed_epochs = 0
        self.stop_training = False
        self.has_validation = False
        self.batches_per_epoch = 0
        self.checkpoint_extra: dict = {}       # estimator state carried in checkpoints
        self.checkpoint_arrays: dict = {}
        self._divergence_ref = None
        self.split_seed = None

    # -- evaluation -----------------------------------------------------------------------------
    def predict_scores(self, X) -> np.ndarray:
        """Forward pass in evaluation mode, in chunks of ``eval_batch_size`` rows."""
        was_training = self.model.training
        self.model.eval()
        try:
            return predict_in_batches(self.model, X, self.eval_batch_size)
        finally:
            self.model.train(was_training)

    def evaluate(self, X, y, y_labels=None) -> dict:
        """Data loss and accuracy (or RMSE) of the model on (X, y), in evaluation mode."""
        scores = self.predict_scores(X)
        eval_loss = copy.copy(self.loss)
        eval_loss.reduction = "mean"
        eval_loss.check_input = True
        out = {"loss": float(eval_loss.forward(scores, y))}
        if self.task == "classification":
            labels = y if y_labels is None else y_labels
            out["accuracy"] = float((self.predict_labels(scores) == labels).mean())
        else:
            d = scores.astype(np.float64) - np.asarray(y, dtype=np.float64).reshape(scores.shape)
            out["error"] = float(np.sqrt(np.mean(d * d)))
        return out

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, X, y, *, y_labels=None, sample_weight=None, validation_data=None,
            validation_fraction: float | None = None, stratify: bool | None = None) -> History:
        """Train for the remaining epochs (all of them, or those after a resumed checkpoint).

        ``y`` holds the loss's targets; ``y_labels`` the class indices used for accuracy (default
        ``y``); ``sample_weight`` weights each sample's loss (class weights; the validation loss is
        unweighted). ``validation_data=(X_val, y_val[, y_val_labels])`` or ``validation_fraction``
        (held out from (X, y) with the run's generator, stratified for classification).
        """
        dtype = self.model.dtype or np.float64
        X = np.asarray(X)
        if X.dtype != dtype:
            X = X.astype(dtype)
        y = np.asarray(y)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y must have the same number of samples; got {X.shape[0]} and {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("X must contain at least one sample; got 0")
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.shape != (X.shape[0],) or not np.isfinite(sw).all() or (sw < 0).any() or not sw.sum() > 0:
                raise ValueError(f"sample_weight must be {X.shape[0]} finite numbers >= 0, not all zero")
            # mean 1 over the training set: each batch's 1/B sum w_i L_i is then an unbiased estimate
            # of the weighted mean over the whole set (see Loss)
            sw = (sw / sw.mean()).astype(dtype)
        labels = None
        if self.task == "classification":
            labels = y if y_labels is None else np.asarray(y_labels)
        Xv = yv = lv = None
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, y_val_labels)")
            Xv, yv = np.asarray(validation_data[0], dtype=dtype), np.asarray(validation_data[1])
            lv = np.asarray(validation_data[2]) if len(validation_data) == 3 else (yv if labels is not None else None)
        elif validation_fraction:
            if self.split_seed is None:  # drawn once; a checkpoint carries it so a resumed run splits alike
                self.split_seed = int(self.rng.integers(2**63))
            split_rng = np.random.default_rng(self.split_seed)
            stratify = (self.task == "classification") if stratify is None else stratify
            if stratify:
                tr, va = stratified_split(labels, validation_fraction, split_rng)
            else:
                tr, va = random_split(X.shape[0], validation_fraction, split_rng)
            Xv, yv = X[va], y[va]
            lv = labels[va] if labels is not None else None
            X, y = X[tr], y[tr]
            labels = labels[tr] if labels is not None else None
            sw = sw[tr] if sw is not None else None
        self.has_validation = Xv is not None and len(Xv) > 0

        n = X.shape[0]
        has_bn = any(type(m).__name__ == "BatchNorm1d" for m in self.model.modules())
        slices = batch_slices(n, self.batch_size, merge_single=has_bn)
        self.batches_per_epoch = len(slices)
        full_batch = len(slices) == 1
        penalised = [p for p in self.model.parameters() if p.regularizer is not None]
        batch_cbs = [c for c in self.callbacks if overrides(c, "on_batch_end")]

        # validate every target once with the loss's own checks, then skip them per batch
        saved_check = self.loss.check_input
        self.loss.check_targets(y, self.predict_scores(X[:1]).shape[1:], dtype, sample_weight=sw)
        self.loss.check_input = False
        self.stop_training = False
        history = self.history
        for cb in self.callbacks:
            cb.on_train_begin(self)
        # hot-loop locals: one attribute lookup per epoch instead of several per batch
        model, loss, optimizer = self.model, self.loss, self.optimizer
        predict_labels = self.predict_labels
        labels_are_y = labels is y
        classification = self.task == "classification"
        # SGD takes gradients pre-multiplied by the learning rate: the loss gradient (N x C) is
        # scaled, backpropagation carries the factor, and the update saves a pass over the weights
        prescale = optimizer.prescales_gradients
        try:
            with _InterruptFlag() as interrupt:
                for epoch in range(self.start_epoch, self.epochs):
                    lr = self.schedule(self.base_lr, epoch)
                    optimizer.lr = lr
                    grad_scale = lr if prescale else 1.0
                    model.train()
                    for cb in self.callbacks:
                        cb.on_epoch_begin(self, epoch)
                    t0 = time.perf_counter()
                    good_state = model.state_dict()
                    perm = None if full_batch else self.rng.permutation(n)
                    sum_obj = sum_data = 0.0
                    correct = 0
                    sq_err = 0.0
                    seen = 0
                    for b, sl in enumerate(slices):
                        if perm is None:
                            xb, yb, lb, wb = X, y, labels, sw
                        else:
                            idx = perm[sl]
                            xb, yb = X[idx], y[idx]
                            lb = yb if labels_are_y else (labels[idx] if labels is not None else None)
                            wb = sw[idx] if sw is not None else None
                        m = xb.shape[0]
                        optimizer.zero_grad(grad_scale)
                        scores = model.forward(xb)
                        data_loss = float(loss.forward(scores, yb, sample_weight=wb))
                        if lb is not None:
                            correct += int(np.count_nonzero(predict_labels(scores) == lb))
                        elif not classification:
                            d = scores - yb.reshape(scores.shape)
                            sq_err += float(np.vdot(d, d))
                        penalty = 0.0
                        for p in penalised:   # the value at the weights the data loss was computed with
                            penalty += float(p.regularizer.penalty(p.value))
                        objective = data_loss + penalty
                        if not (objective <= self._divergence_limit):   # also catches NaN
                            self._check_divergence(objective, epoch, b, lr, good_state)
                        upstream = loss.backward()
                        if grad_scale != 1.0:
                            upstream *= grad_scale
                        model.backward(upstream, need_input_grad=False)
                        for p in penalised:
                            buf, scale = p.scaled_grad()
                            p.regularizer.add_gradient(p.value, buf, scale)
                        optimizer.step()
                        sum_obj += objective * m
                        sum_data += data_loss * m
                        seen += m
                        for cb in batch_cbs:
                            cb.on_batch_end(self, epoch, b, objective)
                        if interrupt.caught:
                            break
                    if interrupt.caught and seen < n:
                        history.interrupted = True
                        break
                    record = {"epoch": epoch, "loss": sum_obj / seen, "data_loss": sum_data / seen}
                    if self.task == "classification":
                        record["accuracy"] = correct / seen
                    else:
                        record["error"] = math.sqrt(sq_err / (seen * max(1, int(np.prod(y.shape[1:])))))
                    if self.has_validation:
                        val = self.evaluate(Xv, yv, lv)
                        record["val_loss"] = val["loss"]
                        if "accuracy" in val:
                            record["val_accuracy"] = val["accuracy"]
                        else:
                            record["val_error"] = val["error"]
                    record["lr"] = lr
                    record["seconds"] = time.perf_counter() - t0
                    history.append(record)
                    self.completed_epochs = epoch + 1
                    for cb in self.callbacks:
                        cb.on_epoch_end(self, epoch, record)
                    if interrupt.caught:
                        history.interrupted = True
                        break
                    if self.stop_training:
                        break
        finally:
            self.loss.check_input = saved_check
            self.model.eval()
            if not history.diverged:
                for cb in self.callbacks:
                    cb.on_train_end(self)
        self.start_epoch = self.completed_epochs
        return history

    @property
    def _divergence_limit(self) -> float:
        """Loss above which training has diverged: divergence_factor times the first batch's loss
        (at least 1); -inf until the first batch sets it, so that batch goes through the check."""
        ref = self._divergence_ref
        return -math.inf if ref is None else self.divergence_factor * ref

    def _check_divergence(self, objective, epoch, batch, lr, good_state):
        if self._divergence_ref is None and math.isfinite(objective):
            self._divergence_ref = max(abs(objective), 1.0)
        limit = self.divergence_factor * (self._divergence_ref or 1.0)
        if math.isfinite(objective) and objective <= limit:
            return
        self.model.load_state_dict(good_state)
        self.history.diverged = True
        what = "is not finite" if not math.isfinite(objective) else f"exploded above {limit:.3g}"
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: the loss {what} ({objective:.4g}) "
            f"with learning rate {lr:g}. Try a smaller learning rate, e.g. lr={lr / 10:g}. "
            f"The weights of the start of epoch {epoch + 1} were restored; the history so far is in .history.",
            epoch=epoch, batch=batch, lr=lr, loss=objective, history=self.history,
        )

    # -- checkpoints (training/checkpoint.py) ---------------------------------------------------
    def save_checkpoint(self, path, completed_epochs: int | None = None) -> None:
        """Write model, optimizer, generators, history and callbacks to ``path`` (npz, atomic)."""
        write_checkpoint(self, path, self.completed_epochs if completed_epochs is None else completed_epochs)

    @staticmethod
    def read_checkpoint(path):
        """(arrays, meta) of a checkpoint file; never unpickles anything."""
        return read_checkpoint(path)

    def resume(self, path) -> "Trainer":
        """Restore everything a checkpoint holds; the next ``fit`` continues after its last epoch."""
        restore(self, path)
        return self


def predict_in_batches(model: Module, X, batch_size: int = 4096) -> np.ndarray:
    """model.forward over X in chunks (the caller chooses the mode)."""
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
