"""What watches a run: Ctrl-C (stop after the current batch) and divergence (stop before a bad step)."""
from __future__ import annotations

import math
import signal
import threading

from ..errors import TrainingDiverged


class InterruptGuard:
    """While active, Ctrl-C (SIGINT) sets ``caught`` instead of raising; a second Ctrl-C raises.

    The training loop checks ``caught`` after every batch, so an interrupted run keeps the weights
    of its last complete step (and its last checkpoint).

    A SIGINT that is ignored when the guard is entered stays ignored, as Python itself leaves it
    (a job started in the background of a script, with ``&``, ignores the terminal's Ctrl-C; so do
    its runs), and outside the main thread, where Python cannot install signal handlers, the guard
    does nothing.
    """

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
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
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


class DivergenceGuard:
    """Stops a run whose objective is not finite or exceeds ``factor`` times the first batch's.

    ``start_epoch(model)`` remembers the weights; ``check(...)`` runs after each forward pass, before
    the step, and on divergence puts the remembered weights back and raises ``TrainingDiverged``
    naming the epoch, batch and learning rate (the history so far attached).
    """

    def __init__(self, factor: float = 1e3, reference: float | None = None):
        self.factor = float(factor)
        self.reference = reference          # max(|first batch's objective|, 1); saved in checkpoints
        self._good_state = None
        self._model = None

    @property
    def limit(self) -> float:
        return -math.inf if self.reference is None else self.factor * self.reference

    def start_epoch(self, model) -> None:
        self._model = model
        self._good_state = model.state_dict()

    def check(self, objective: float, *, epoch: int, batch: int, lr: float, history) -> None:
        if objective <= self.limit:             # the common case; also False for NaN
            return
        if self.reference is None and math.isfinite(objective):
            self.reference = max(abs(objective), 1.0)
            return
        self.diverged(objective, epoch=epoch, batch=batch, lr=lr, history=history)

    def diverged(self, objective, *, epoch, batch, lr, history, cause: str | None = None):
        if self._model is not None and self._good_state is not None:
            self._model.load_state_dict(self._good_state)
        history.diverged = True
        if cause is None:
            cause = "is not finite" if not math.isfinite(objective) else f"exploded above {self.limit:.3g}"
            cause = f"the loss {cause} ({objective:.4g})"
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {cause} with learning rate "
            f"{lr:g}. Try a smaller learning rate, e.g. lr={lr / 10:g}. The weights of the start of epoch "
            f"{epoch + 1} were restored; the history so far is in .history.",
            epoch=epoch, batch=batch, lr=lr, loss=objective, history=history,
        )
