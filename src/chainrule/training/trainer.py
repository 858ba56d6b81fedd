"""The one training loop used by everything else (estimators, the CLI, the benchmarks).

The notes' recipe: start from random values; for every minibatch compute the data loss plus
lambda R(W), step along the negative gradient; visit the whole set every epoch. ``run_epoch`` is
exactly the loop a user writes from the notes, through the public API:

    optimizer.zero_grad()
    scores = model.forward(x)
    loss_value = loss.forward(scores, y)
    model.backward(loss.backward())
    optimizer.step()

Around it, in named steps: ``prepare_data`` (batching.py) checks the data once and sets the
validation data aside; ``evaluate`` measures a data set in evaluation mode; the guards
(guards.py) stop a diverging run and catch Ctrl-C; the checkpoint module saves and restores a run.
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np

from .._helpers.validation import check_int, check_number, resolve_rng
from ..core.module import Module
from ..losses.base import Loss
from ..optim.base import Optimizer
from ..optim.schedules import make_schedule
from ..regularizers.penalties import add_penalty_gradients, penalty_value
from . import metrics
from .batching import TrainingData, batch_slices, predict_in_batches, prepare_data, shuffled_batches
from .callbacks import Callback, overrides
from .checkpoint import read_checkpoint, restore, write_checkpoint
from .guards import DivergenceGuard, InterruptGuard
from .history import History
from .progress import ProgressBar


class Trainer:
    """Minibatch training of ``model`` on ``loss`` with ``optimizer``: the notes' loop.

    - Every epoch reshuffles with ``rng`` and visits every sample once; the last partial batch
      is kept (merged into the previous one when it is smaller than what a layer needs, e.g. one
      sample for batch norm).
    - Objective = data loss + the penalty lambda R(W) of every parameter that carries a
      regulariser (estimators give them to weights only unless asked otherwise).
    - A non-finite loss, or one above ``divergence_factor`` times the first batch's, stops with
      ``TrainingDiverged`` (naming epoch, batch and learning rate) before the bad step; the
      weights of the start of that epoch are put back and the history so far is attached.
    - Ctrl-C stops after the current batch, keeps the weights and marks the history interrupted.

    Parameters
    ----------
    model : Module
        The network.
    loss : Loss
        The data loss.
    optimizer : Optimizer
        The update rule, built on ``model``'s parameters.
    batch_size : int or None, default 128
        Samples per minibatch; None is full-batch gradient descent.
    epochs : int, default 10
        Passes over the data.
    rng : int or numpy.random.Generator, optional
        Shuffling (and the validation split); a seed makes the run repeatable.
    lr_schedule : Schedule, str or dict, optional
        The learning rate of each epoch (``optim.make_schedule``); default constant.
    callbacks : sequence of Callback, default ()
        Early stopping, checkpoints, progress...
    verbose : int, default 0
        With 1 or more a ``ProgressBar`` is added.
    task : {"classification", "regression"}, default "classification"
        Classification records accuracy (the running accuracy over the epoch's batches, as the
        weights change); regression the root-mean-square error.
    divergence_factor : float >= 1, default 1e3
        A loss above this many times the first batch's counts as diverged.
    eval_batch_size : int, default 4096
        Rows per forward pass when evaluating.
    predict_labels : callable, default ``scores_to_labels``
        Scores to class indices, for the accuracy.
    shuffle : bool, default True
        False keeps the rows' order (and draws nothing from ``rng``).
    penalty_per_batch : bool, default False
        scikit-learn's convention: each batch adds its penalties divided by 2B, B its number of
        samples (its total sample weight), instead of once: 0.5 alpha ||W||^2 / B for an L2
        penalty of strength alpha (the notes' lambda = alpha / (2 B), larger on a smaller last
        batch).

    Raises
    ------
    TypeError
        If ``model``, ``loss`` or ``optimizer`` has the wrong type.
    ValueError
        If a number is out of range or ``task`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import nn, losses, optim
    >>> from chainrule.training import Trainer
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = (X[:, 0] > 0).astype(int)
    >>> net = nn.Sequential(nn.Linear(2, 2, rng=0))
    >>> trainer = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.5), batch_size=16, epochs=5, rng=0)
    >>> trainer.fit(X, y).last["accuracy"] > 0.8
    True
    """

    def __init__(self, model: Module, loss: Loss, optimizer: Optimizer, *, batch_size: int | None = 128,
                 epochs: int = 10, rng=None, lr_schedule=None, callbacks=(), verbose: int = 0,
                 task: str = "classification", divergence_factor: float = 1e3, eval_batch_size: int = 4096,
                 predict_labels=metrics.scores_to_labels, shuffle: bool = True, penalty_per_batch: bool = False):
        if not isinstance(model, Module):
            raise TypeError(f"model must be a Module; got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a Loss; got {type(loss).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer; got {type(optimizer).__name__}")
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.batch_size = check_int("batch_size", batch_size, allow_none=True)
        self.epochs = check_int("epochs", epochs, 0)
        self.seed = rng if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
        self.rng = resolve_rng(rng)
        self.initial_rng_state = None if rng is None else self.rng.bit_generator.state
        self.schedule = make_schedule(lr_schedule, self.epochs)
        self.base_lr = optimizer.lr
        self.callbacks: list[Callback] = list(callbacks)
        if verbose and not any(isinstance(c, ProgressBar) for c in self.callbacks):
            self.callbacks.append(ProgressBar(verbose))
        self.task = task
        self.guard = DivergenceGuard(check_number("divergence_factor", divergence_factor, 1.0))
        self.eval_batch_size = check_int("eval_batch_size", eval_batch_size)
        self.predict_labels = predict_labels
        self.shuffle = bool(shuffle)
        self.penalty_per_batch = bool(penalty_per_batch)
        self.history = History()
        self.start_epoch = 0
        self.completed_epochs = 0
        self.stop_training = False
        self.has_validation = False
        self.batches_per_epoch = 0
        self.checkpoint_extra: dict = {}       # estimator state carried in checkpoints
        self.checkpoint_arrays: dict = {}
        self.split_seed = None

    # -- evaluation -----------------------------------------------------------------------------
    def predict_scores(self, X) -> np.ndarray:
        """The model's outputs for ``X``, in evaluation mode, in chunks of ``eval_batch_size`` rows.

        Parameters
        ----------
        X : array_like
            The inputs, one sample per row.

        Returns
        -------
        ndarray
            One row of scores per sample.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            return predict_in_batches(self.model, X, self.eval_batch_size)
        finally:
            self.model.train(was_training)

    def evaluate(self, X, y, y_labels=None) -> dict:
        """The data loss (mean reduction) and accuracy (or RMSE) of the model on (X, y), in evaluation mode.

        Parameters
        ----------
        X : array_like
            The inputs.
        y : array_like
            The loss's targets.
        y_labels : array_like, optional
            The class indices for the accuracy (default ``y``).

        Returns
        -------
        dict
            ``{"loss": ..., "accuracy": ...}``, or ``{"loss": ..., "error": ...}`` for regression.
        """
        scores = self.predict_scores(X)
        eval_loss = copy.copy(self.loss)
        eval_loss.reduction = "mean"
        out = {"loss": float(eval_loss.forward(scores, y))}
        if self.task == "classification":
            labels = y if y_labels is None else y_labels
            out["accuracy"] = metrics.accuracy(labels, self.predict_labels(scores))
        else:
            out["error"] = metrics.rmse(np.asarray(y, dtype=np.float64).reshape(scores.shape), scores)
        return out

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, X, y, *, y_labels=None, sample_weight=None, validation_data=None,
            validation_fraction: float | None = None, stratify: bool | None = None) -> History:
        """Train for the remaining epochs (all of them, or those after a resumed checkpoint).

        Parameters
        ----------
        X : array_like or scipy.sparse matrix
            The inputs, one sample per row.
        y : array_like
            The loss's targets.
        y_labels : array_like, optional
            The class indices used for accuracy (default ``y``).
        sample_weight : array_like of shape (N,), optional
            Weights each sample's loss (class weights); the validation loss is unweighted.
        validation_data : tuple, optional
            ``(X_val, y_val)`` or ``(X_val, y_val, y_val_labels)``, measured after every epoch.
        validation_fraction : float, optional
            Hold out this share of (X, y) instead, with the run's generator.
        stratify : bool, optional
            Stratify that split by class (default: for classification).

        Returns
        -------
        History
            The records of every epoch so far, and how the run ended.

        Raises
        ------
        TrainingDiverged
            If the loss became non-finite or exploded.
        ValueError
            If the data does not fit the model or the loss.
        """
        for _ in self.iter_epochs(X, y, y_labels=y_labels, sample_weight=sample_weight,
                                  validation_data=validation_data, validation_fraction=validation_fraction,
                                  stratify=stratify):
            pass
        return self.history

    def iter_epochs(self, X, y, *, y_labels=None, sample_weight=None, validation_data=None,
                    validation_fraction: float | None = None, stratify: bool | None = None):
        """Train epoch by epoch, handing each epoch's record to the caller before the callbacks see it.

        The loop of ``fit``, as a generator: after every epoch it yields the record that the history
        holds, and waits. The caller may add values to it (they go into the history), decide to
        stop (``trainer.stop_training = True``) or set what the next checkpoint carries
        (``checkpoint_extra``, ``checkpoint_arrays``); then the callbacks' ``on_epoch_end`` run (a
        ``Checkpoint`` writes the caller's decision with the epoch) and the next epoch starts. Wrap
        it in ``contextlib.closing`` when the loop body may raise: the callbacks' ``on_train_end``
        (a checkpoint's lock) then runs at once.

        Parameters
        ----------
        X, y, y_labels, sample_weight, validation_data, validation_fraction, stratify
            As for ``fit``.

        Yields
        ------
        dict
            The epoch's record, the history's own (``loss``, ``accuracy`` or ``error``, ``lr``...).
        """
        if validation_fraction and validation_data is None and self.split_seed is None:
            # drawn once; a checkpoint carries it so that a resumed run splits alike
            self.split_seed = int(self.rng.integers(2**63))
        data = prepare_data(X, y, dtype=self.model.dtype or np.float64, classification=self.task == "classification",
                            y_labels=y_labels, sample_weight=sample_weight, validation_data=validation_data,
                            validation_fraction=validation_fraction, stratify=stratify,
                            split_rng=None if self.split_seed is None else np.random.default_rng(self.split_seed))
        self.has_validation = data.validation is not None
        # every target checked once, before any step: a bad label at row 50,000 fails now, not mid-epoch
        self.loss.check_targets(data.y, self.model.output_shape((1,) + data.X.shape[1:])[1:], data.X.dtype,
                                sample_weight=data.weights)
        min_batch = max(m.min_train_batch for m in self.model.modules())
        slices = batch_slices(len(data), self.batch_size, min_batch)
        self.batches_per_epoch = len(slices)
        self.stop_training = False
        history = self.history
        for cb in self.callbacks:
            cb.on_train_begin(self)
        try:
            with InterruptGuard() as interrupt:
                for epoch in range(self.start_epoch, self.epochs):
                    record = self.run_epoch(data, slices, epoch, interrupt)
                    if record is None:              # Ctrl-C in the middle of the epoch
                        history.interrupted = True
                        break
                    self.end_epoch(record, data, epoch)
                    yield history.records[-1]
                    for cb in self.callbacks:
                        cb.on_epoch_end(self, epoch, history.records[-1])
                    if interrupt.caught:
                        history.interrupted = True
                    if interrupt.caught or self.stop_training:
                        break
            if interrupt.caught:    # Ctrl-C after the last epoch's check, before the guard let go: still a Ctrl-C
                history.interrupted = True
        finally:
            self.model.eval()
            self.start_epoch = self.completed_epochs
            for cb in self.callbacks:          # also after a divergence: checkpoints release their lock
                cb.on_train_end(self)

    def run_epoch(self, data: TrainingData, slices, epoch: int, interrupt) -> dict | None:
        """One pass over the shuffled data, one optimizer step per batch (the notes' loop).

        For each batch: ``optimizer.zero_grad()``, ``scores = model.forward(x)``, the loss plus the
        penalties, ``model.backward(loss.backward())``, the penalties' gradients, ``optimizer.step()``.

        Parameters
        ----------
        data : TrainingData
            The checked training data (``prepare_data``).
        slices : list of slice
            The batches (``batch_slices``).
        epoch : int
            The epoch, counted from 0 (it sets the learning rate).
        interrupt : InterruptGuard
            Whose ``caught`` says Ctrl-C was pressed.

        Returns
        -------
        dict or None
            The epoch's record, or None when Ctrl-C stopped it before the last batch.
        """
        model, loss, optimizer, guard = self.model, self.loss, self.optimizer, self.guard
        lr = optimizer.lr = self.schedule(self.base_lr, epoch)
        penalised = [p for p in model.parameters() if p.regularizer is not None]
        batch_callbacks = [c for c in self.callbacks if overrides(c, "on_batch_end")]
        classification = self.task == "classification"
        model.train()
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        t0 = time.perf_counter()
        guard.start_epoch(model)
        sum_objective = sum_data = sum_err = 0.0
        correct = seen = 0
        for b, (x, y, labels, w) in enumerate(shuffled_batches(data, slices, self.rng, shuffle=self.shuffle)):
            optimizer.zero_grad()
            scores = model.forward(x)
            # outputs that overflowed are a divergence for the guard, not a bad input for the loss
            data_loss = float(loss.forward(scores, y, sample_weight=w)) if np.isfinite(scores).all() else math.inf
            scale = self._penalty_scale(x, w, data.weight_unit)
            objective = data_loss + penalty_value(penalised, scale) if penalised else data_loss
            guard.check(objective, epoch=epoch, batch=b, lr=lr, history=self.history)
            model.backward(loss.backward())
            add_penalty_gradients(penalised, scale)
            self._step(epoch, b, lr, objective)
            m = x.shape[0]
            sum_objective += objective * m
            sum_data += data_loss * m
            seen += m
            if classification:
                correct += metrics.count_correct(scores, labels, self.predict_labels)
            else:
                sum_err += metrics.squared_error_sum(scores, y)
            for cb in batch_callbacks:
                cb.on_batch_end(self, epoch, b, objective)
            if interrupt.caught:
                break
        if seen < len(data):
            return None
        record = {"epoch": epoch, "loss": sum_objective / seen, "data_loss": sum_data / seen}
        if classification:
            record["accuracy"] = correct / seen
        else:
            record["error"] = math.sqrt(sum_err / (seen * max(1, int(np.prod(data.y.shape[1:])))))
        record["lr"] = lr
        record["seconds"] = time.perf_counter() - t0
        return record

    def _penalty_scale(self, x, w, weight_unit: float) -> float:
        """1, or with ``penalty_per_batch`` 1 / (2 B) for the batch x of weights w (B in the user's units)."""
        if not self.penalty_per_batch:
            return 1.0
        b = x.shape[0] if w is None else weight_unit * float(np.sum(w))
        return 0.5 / b if b > 0 else 0.0

    def _step(self, epoch, batch, lr, objective) -> None:
        """optimizer.step(); an update that overflows (Adam's g^2 on huge inputs) stops the run
        like a diverged loss, with the weights of the start of the epoch put back."""
        from ..errors import TrainingDiverged
        try:
            self.optimizer.step()
        except TrainingDiverged as exc:
            self.guard.diverged(objective, epoch=epoch, batch=batch, lr=lr, history=self.history, cause=str(exc))

    def end_epoch(self, record: dict, data: TrainingData, epoch: int) -> None:
        """Measure the validation data and append the record to the history.

        Parameters
        ----------
        record : dict
            The epoch's record from ``run_epoch`` (validation values are added to it).
        data : TrainingData
            The training data with its validation part.
        epoch : int
            The epoch, counted from 0.
        """
        if data.validation is not None:
            val = self.evaluate(*data.validation)
            record["val_loss"] = val["loss"]
            if "accuracy" in val:
                record["val_accuracy"] = val["accuracy"]
            else:
                record["val_error"] = val["error"]
        self.history.append(record)
        self.completed_epochs = epoch + 1

    # -- checkpoints (training/checkpoint.py) ---------------------------------------------------
    def save_checkpoint(self, path, completed_epochs: int | None = None) -> None:
        """Write model, optimizer, generators, history, callbacks and settings to ``path``, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The checkpoint file.
        completed_epochs : int, optional
            The epochs it records as done (default: those completed).
        """
        write_checkpoint(self, path, self.completed_epochs if completed_epochs is None else completed_epochs)

    @staticmethod
    def read_checkpoint(path):
        """The contents of a checkpoint file; never unpickles anything.

        Parameters
        ----------
        path : str or os.PathLike
            The checkpoint file.

        Returns
        -------
        arrays : dict
            ``{name: ndarray}``.
        meta : dict
            The JSON part: settings, history, optimizer scalars...
        """
        return read_checkpoint(path)

    def resume(self, path) -> "Trainer":
        """Restore everything a checkpoint holds; the next ``fit`` continues after its last epoch.

        A checkpoint written with other settings (learning rate, optimizer, architecture, seed, batch
        size...) is refused with one message naming each difference.

        Parameters
        ----------
        path : str or os.PathLike
            The checkpoint file.

        Returns
        -------
        Trainer
            This trainer.

        Raises
        ------
        ValueError
            If the checkpoint's settings differ from this trainer's.
        """
        restore(self, path)
        return self
