"""One tab's run: its data, network, loss and optimizer, trained batch by batch with the notes'
loop, and the losses measured after every epoch.

The loop is the one a learner writes from the notes, through the engine's public API::

    optimizer.zero_grad()
    scores = net.forward(x)
    objective = loss.forward(scores, y) + penalty_value(penalised)
    net.backward(loss.backward())
    add_penalty_gradients(penalised)
    optimizer.step()

A loss that is not finite (or an update that overflows) stops the run with the engine's
``TrainingDiverged``; its message says at which epoch and batch, with which learning rate, and
the weights of the start of that epoch are put back so the pictures stay meaningful.
Memory is bounded: the settings cap the data and the network, and the loss curves keep at most
``Curves.cap`` points (every other one is dropped when they fill up).
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..errors import TrainingDiverged
from ..regularizers import add_penalty_gradients, penalty_value
from ..training import batch_slices
from . import datasets, features
from .network import build_network, build_optimizer, linear_layers, task_of
from .settings import MAX_INPUTS, SettingError


class Curves:
    """Training and test loss per epoch, at most ``cap`` points: when full, every other point is
    dropped and only every ``stride``-th epoch is recorded from then on."""

    def __init__(self, cap: int = 500):
        self.cap = cap
        self.stride = 1
        self.epoch: list = []
        self.train: list = []
        self.test: list = []

    def add(self, epoch: int, train: float, test: float) -> None:
        """Record one epoch's losses (skipped between strides)."""
        if epoch % self.stride:
            return
        self.epoch.append(epoch)
        self.train.append(train)
        self.test.append(test)
        if len(self.epoch) > self.cap:
            self.epoch, self.train, self.test = self.epoch[::2], self.train[::2], self.test[::2]
            self.stride *= 2


def _finite_or_none(v):
    return float(v) if v is not None and math.isfinite(v) else None


class Session:
    """A run of the playground: ``configure`` builds it from settings, ``step`` trains one batch.

    Parameters
    ----------
    settings : Settings
        What to build.
    upload : tuple, optional
        ``(X, y)`` of the CSV file the page sent, for ``dataset="upload"``.

    Raises
    ------
    SettingError
        If the settings do not fit the data (too many inputs, a feature undefined at a point...).
    """

    def __init__(self, settings, upload=None):
        self.upload = upload
        self.configure(settings)

    # -- building ---------------------------------------------------------------------------------
    def configure(self, settings) -> None:
        """Draw the data and a fresh network for ``settings`` (also what reset does).

        Parameters
        ----------
        settings : Settings
            Checked settings (``parse_settings``).

        Raises
        ------
        SettingError
            If the settings do not fit the data.
        """
        data_ss, split_ss, init_ss, batch_ss = np.random.SeedSequence(settings.seed).spawn(4)
        if settings.dataset == "upload":
            X, y = self.upload
            data = datasets.split(X, y, settings.train_pct, X.shape[1] == 1, np.random.default_rng(split_ss))
        else:
            data = datasets.generate(settings, {"data": np.random.default_rng(data_ss),
                                                "split": np.random.default_rng(split_ss)})
        if len(data.X_train) < 2 or len(data.X_test) < 1:
            raise SettingError("train_pct", f"{len(data.X_train)} training and {len(data.X_test)} test points are too "
                                            "few: use more points or another training share")
        names = features.feature_names(settings.features, settings.poly, data.dims)
        if len(names) > MAX_INPUTS:
            raise SettingError("poly", f"these features make {len(names)} inputs; the playground draws at most "
                                       f"{MAX_INPUTS}: lower poly or untick features")
        try:
            F_train, F_test = (self.features_of(data.X_train, settings), self.features_of(data.X_test, settings))
        except ValueError as exc:
            raise SettingError("features", f"the features cannot be computed for these points: {exc}") from None
        if not (np.isfinite(F_train).all() and np.isfinite(F_test).all()):
            raise SettingError("features", "the features overflow float32 on these points (a polynomial of high "
                                           "degree, or the XOR transform near x1 x2 = -1/4): lower poly or untick xor")
        self.settings, self.data, self.input_names = settings, data, names
        self.task = task_of(settings, data.task == "regression", data.n_classes)
        self.net = build_network(settings, len(names), self.task.n_outputs, np.random.default_rng(init_ss))
        self.optimizer = build_optimizer(settings, self.net)
        self.loss, self.eval_loss = self.task.loss(), self.task.loss()
        self.penalised = [p for p in self.net.parameters() if p.regularizer is not None]
        self.F_train, self.F_test = F_train, F_test
        self.T_train = self.task.targets(data.y_train, np.float32)
        self.T_test = self.task.targets(data.y_test, np.float32)
        n = len(F_train)
        min_batch = max(m.min_train_batch for m in self.net.modules())
        self.slices = batch_slices(n, min(settings.batch, n), min_batch)
        self.batch_rng = np.random.default_rng(batch_ss)
        self.order = self.batch_rng.permutation(n)
        self.cursor = 0                    # the next batch of this epoch
        self.epoch = 0                     # completed epochs
        self.batches = 0                   # steps taken
        self.diverged: str | None = None
        self.curves = Curves()
        self.net.train()
        self._good_state = self.net.state_dict()
        self.last = self.evaluate()
        self.curves.add(0, self.last["train_loss"], self.last["test_loss"])

    def features_of(self, X, settings=None) -> np.ndarray:
        """The network's float32 inputs for raw points ``X``."""
        s = settings or self.settings
        return features.transform(X, s.features, s.poly)

    @property
    def linears(self) -> list:
        """``(index in the network, Linear)`` of every Linear layer."""
        return linear_layers(self.net)

    # -- measuring --------------------------------------------------------------------------------
    def scores(self, F) -> np.ndarray:
        """The network's outputs for input features ``F`` in evaluation mode (dropout off, batch norm's
        running statistics)."""
        self.net.eval()
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self.net.forward(F)
        finally:
            self.net.train()

    def evaluate(self) -> dict:
        """The data loss (mean over points) and accuracy on the training and test points.

        Returns
        -------
        dict
            ``train_loss``, ``test_loss`` (None where not finite) and, for classification,
            ``train_acc`` and ``test_acc``.
        """
        out = {}
        for part, F, T, y in (("train", self.F_train, self.T_train, self.data.y_train),
                              ("test", self.F_test, self.T_test, self.data.y_test)):
            s = self.scores(F)
            with np.errstate(all="ignore"):
                finite = np.isfinite(s).all()      # the losses refuse non-finite scores
                out[f"{part}_loss"] = _finite_or_none(float(self.eval_loss.forward(s, T))) if finite else None
            if self.data.task == "classification":
                out[f"{part}_acc"] = float(np.mean(self.task.labels(s) == y))
        return out

    # -- training ---------------------------------------------------------------------------------
    def current_batch(self) -> np.ndarray:
        """The rows of the training set the next step trains on."""
        return self.order[self.slices[self.cursor]]

    def step(self) -> bool:
        """One optimizer step on the current batch; True when it completed an epoch.

        Returns
        -------
        bool

        Raises
        ------
        TrainingDiverged
            If the loss is not finite or the update overflowed (the weights of the start of the
            epoch are put back; ``diverged`` keeps the message).
        """
        if self.diverged:
            raise TrainingDiverged(self.diverged)
        rows = self.current_batch()
        x, y = self.F_train[rows], self.T_train[rows]
        lr = self.optimizer.lr
        self.optimizer.zero_grad()
        # overflow is looked at, not warned about: a non-finite loss stops the run below, and a gradient
        # that overflowed makes the next loss non-finite (the optimizer raises on an update that overflows)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            scores = self.net.forward(x)
            if not np.isfinite(scores).all():
                self._diverge("the network's outputs overflowed", "a score is not finite", math.nan, lr)
            objective = float(self.loss.forward(scores, y))
            if self.penalised:
                objective += penalty_value(self.penalised)
            if not math.isfinite(objective):
                self._diverge("the loss overflowed", f"it became {objective}", objective, lr)
            self.net.backward(self.loss.backward())
            add_penalty_gradients(self.penalised)
        try:
            self.optimizer.step()
        except TrainingDiverged:
            self._diverge("an update overflowed", "a weight left float32's range", objective, lr)
        self.batches += 1
        if self.cursor + 1 < len(self.slices):
            self.cursor += 1
            return False
        last = self.evaluate()
        if last["train_loss"] is None:
            self._diverge("the loss overflowed", "after its last step the training loss is not finite", math.inf, lr)
        self.epoch += 1
        self.cursor = 0
        self.order = self.batch_rng.permutation(len(self.order))
        self.last = last
        self.curves.add(self.epoch, self.last["train_loss"], self.last["test_loss"])
        self._good_state = self.net.state_dict()
        return True

    def _diverge(self, what: str, detail: str, objective: float, lr: float):
        epoch, batch = self.epoch + 1, self.cursor + 1
        self.net.load_state_dict(self._good_state)
        self.diverged = (f"{what} at epoch {epoch} (batch {batch}) with learning rate {lr:g}: {detail}. Training stopped; "
                         f"the pictures show the weights of the start of epoch {epoch}. Try a smaller learning rate "
                         f"(e.g. {lr / 10:g}) and press reset.")
        raise TrainingDiverged(self.diverged, epoch=epoch - 1, batch=batch - 1, lr=lr, loss=objective)

    def run_epoch(self) -> None:
        """Steps until the current epoch is complete (one epoch from its start)."""
        while not self.step():
            pass

    def train_for(self, epochs: int, seconds: float, stop=lambda: False) -> int:
        """Train whole epochs: ``epochs`` of them (0: as many as fit in ``seconds``), stopping early when
        ``seconds`` have passed or ``stop()`` says so; the last epoch may stay partial.

        Parameters
        ----------
        epochs : int
            How many epochs; 0 for as many as fit in the time.
        seconds : float
            The time budget.
        stop : callable, optional
            Checked after every batch.

        Returns
        -------
        int
            The epochs completed.

        Raises
        ------
        TrainingDiverged
            As ``step``.
        """
        deadline = time.perf_counter() + seconds
        done = 0
        while (epochs == 0 or done < epochs) and not stop():
            if self.step():
                done += 1
            if time.perf_counter() > deadline:
                break
        if self.cursor:                   # an epoch left in the middle: its numbers are measured now
            self.last = self.evaluate()
        return done
