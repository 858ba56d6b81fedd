"""Callbacks: the hooks of the training loop, early stopping, checkpoints and the epoch's mean gradient
(the progress bar is in ``progress.py``)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._helpers.validation import check_int
from ..io.lock import PathLock


class Callback:
    """Hooks called by ``Trainer.fit``: subclass and override what you need.

    Setting ``trainer.stop_training = True`` ends the run after the current epoch. ``get_state``
    and ``set_state`` let a checkpoint carry the callback's memory, so that a resumed run behaves
    as an uninterrupted one.
    """

    def on_train_begin(self, trainer) -> None:
        """Called once before the first epoch (also when a run is resumed).

        Parameters
        ----------
        trainer : Trainer
            The running trainer (its ``model``, ``history``, ``epochs``...).
        """

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        """Called before each epoch's first batch.

        Parameters
        ----------
        trainer : Trainer
            The running trainer (its ``model``, ``history``, ``epochs``...).
        epoch : int
            The epoch, counted from 0.
        """

    def on_batch_end(self, trainer, epoch: int, batch: int, loss: float) -> None:
        """Called after each batch's optimizer step.

        Parameters
        ----------
        trainer : Trainer
            The running trainer (its ``model``, ``history``, ``epochs``...).
        epoch : int
            The epoch, counted from 0.
        batch : int
            The batch within the epoch, counted from 0.
        loss : float
            The batch's loss.
        """

    def on_epoch_end(self, trainer, epoch: int, record: dict) -> None:
        """Called after each epoch, once its record (validation included) is in the history.

        Parameters
        ----------
        trainer : Trainer
            The running trainer (its ``model``, ``history``, ``epochs``...).
        epoch : int
            The epoch, counted from 0.
        record : dict
            The epoch's record, as ``History`` keeps it (``loss``, ``val_loss``, ``lr``...).
        """

    def on_train_end(self, trainer) -> None:
        """Called once after the run, also when it was interrupted, stopped or diverged.

        Parameters
        ----------
        trainer : Trainer
            The running trainer (its ``model``, ``history``, ``epochs``...).
        """

    def get_state(self):
        """The callback's memory, for a checkpoint.

        Returns
        -------
        arrays : dict
            ``{name: ndarray}``.
        meta : dict
            JSON-able values.
        """
        return {}, {}

    def set_state(self, arrays, meta) -> None:
        """Restore what ``get_state`` returned (when a run resumes from a checkpoint).

        Parameters
        ----------
        arrays : dict
            ``{name: ndarray}``.
        meta : dict
            JSON-able values.
        """


def overrides(cb: Callback, name: str) -> bool:
    return getattr(type(cb), name) is not getattr(Callback, name)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, and keep the best weights.

    Without validation data a ``val_*`` monitor falls back to its training counterpart, with a
    warning.

    Parameters
    ----------
    patience : int >= 1, default 5
        Epochs without improvement before stopping.
    min_delta : float >= 0, default 0
        The smallest change that counts as an improvement.
    restore_best : bool, default True
        Put back the weights of the best epoch at the end of training.
    monitor : str, default "val_loss"
        A history field: ``"val_loss"``, ``"val_accuracy"``, ``"loss"``... Loss-like fields are
        minimised, accuracy-like ones maximised.

    Raises
    ------
    ValueError
        If ``patience`` or ``min_delta`` is out of range.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, restore_best: bool = True,
                 monitor: str = "val_loss"):
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0; got {min_delta!r}")
        self.patience = check_int("patience", patience)
        self.min_delta, self.restore_best, self.monitor = float(min_delta), restore_best, monitor
        self._reset()

    def _reset(self):
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self._best_state = None
        self._field = self.monitor

    def _maximise(self) -> bool:
        return "acc" in self._field

    def on_train_begin(self, trainer):
        if trainer.start_epoch == 0:
            self._reset()
        if self.monitor.startswith("val_") and not trainer.has_validation:
            self._field = self.monitor[4:]
            warnings.warn(f"EarlyStopping monitors {self.monitor!r} but there is no validation data; "
                          f"monitoring {self._field!r} instead", UserWarning, stacklevel=3)
        else:
            self._field = self.monitor

    def on_epoch_end(self, trainer, epoch, record):
        value = record.get(self._field)
        if value is None or not math.isfinite(value):
            return
        better = self.best is None or (value > self.best + self.min_delta if self._maximise()
                                       else value < self.best - self.min_delta)
        if better:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_state = trainer.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True
                trainer.history.stopped_early = True
        trainer.history.best_epoch = self.best_epoch

    def on_train_end(self, trainer):
        if self.restore_best and self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)

    def get_state(self):
        arrays = {f"best.{k}": v for k, v in (self._best_state or {}).items()}
        return arrays, {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def set_state(self, arrays, meta):
        self.best, self.best_epoch, self.wait = meta.get("best"), meta.get("best_epoch"), meta.get("wait", 0)
        best = {k[5:]: v for k, v in arrays.items() if k.startswith("best.")}
        self._best_state = best or None


class Checkpoint(Callback):
    """Write a checkpoint every ``every`` epochs, atomically, so an interrupted run loses nothing.

    A checkpoint holds the model, the optimizer, the random generators, the history and the
    callbacks' state; ``Trainer.resume(path)`` continues from it bit for bit. It is written to a
    temporary file, then renamed, so the file on disk is always a whole checkpoint.

    From train begin to train end the run holds ``<path>.lock``: a second live run given the same
    path is refused with ``PathLocked`` instead of silently overwriting this run's checkpoints. The
    lock is released at train end, also when training raises or diverges.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    every : int >= 1, default 1
        Epochs between two checkpoints.

    Raises
    ------
    ValueError
        If ``every`` is not a positive integer.
    """

    def __init__(self, path, every: int = 1):
        self.path, self.every = path, check_int("every", every)
        self._lock = None

    def on_train_begin(self, trainer):
        if self._lock is None or not self._lock.held:
            self._lock = PathLock(self.path).acquire()

    def on_epoch_end(self, trainer, epoch, record):
        # only at epoch boundaries: a checkpoint never holds the weights of half an epoch, so an
        # interrupted run resumes from its last complete epoch exactly
        if (epoch + 1) % self.every == 0:
            trainer.save_checkpoint(self.path, completed_epochs=epoch + 1)

    def on_train_end(self, trainer):
        self.release()

    def release(self) -> None:
        """Free ``<path>.lock`` (done at train end; harmless when not held)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class EpochGradient(Callback):
    """The mean of every parameter's gradient over the epoch's batches: the exact gradient of the
    objective for full-batch gradient descent. ``mean()`` gives it as (parameter, gradient) pairs
    in float64 (LinearRegression stops when its largest entry is at most ``tol``)."""

    def on_epoch_begin(self, trainer, epoch):
        self._params, self._sums, self._count = [], None, 0

    def on_batch_end(self, trainer, epoch, batch, loss):
        self._params = [p for p in trainer.model.parameters() if p.grad is not None]
        if self._sums is None:
            self._sums = [np.array(p.grad, dtype=np.float64) for p in self._params]
        else:
            for total, p in zip(self._sums, self._params):
                total += p.grad
        self._count += 1

    def mean(self) -> list:
        """[(parameter, its mean gradient over the epoch's batches)]."""
        return [(p, total / self._count) for p, total in zip(self._params, self._sums or [])]


def get_state_arrays(callbacks):
    """(arrays, meta) of every callback, keyed by position."""
    arrays, meta = {}, {}
    for i, cb in enumerate(callbacks):
        a, m = cb.get_state()
        for k, v in a.items():
            arrays[f"{i}.{k}"] = np.asarray(v)
        if m:
            meta[str(i)] = {"type": type(cb).__name__, **m}
    return arrays, meta
