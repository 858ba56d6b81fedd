"""What a solver returns: ``FitResult``, and ``Progress``, scikit-learn's memory of a run (or what
it raises: ``NonFiniteWeights``).

A solver trains the network in place and returns the run's ``Progress`` (the iterations, the
samples seen, the loss curve, the best loss or validation score, the epochs without improvement),
its ``History``, and what a later ``partial_fit`` continues with (the optimizer and the
learning-rate schedule). The estimator sets its fitted attributes (``n_iter_``, ``t_``,
``loss_curve_``, ``best_loss_``, ``validation_scores_``...) from them, and gives the progress
back to the next warm start or partial fit, which continue it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..errors import TrainingDiverged
from ..training.history import History


class NonFiniteWeights(TrainingDiverged, ValueError):
    """Training diverged and left (or would have left) non-finite weights.

    A ``TrainingDiverged`` (the cause, epoch, batch and learning rate are in the message and the
    attributes) and a ``ValueError`` with scikit-learn's wording, so code written for either
    library catches it.
    """


@dataclass
class Progress:
    """scikit-learn's memory of a run (the fitted attributes of the same names, without the ``_``)."""

    n_iter: int = 0                       # epochs (L-BFGS iterations) of this fit
    t: int = 0                            # training samples seen since the first fit
    loss: float = math.nan
    loss_curve: list = field(default_factory=list)
    best_loss: float | None = math.inf    # None with early stopping
    validation_scores: list | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    best_state: dict | None = None        # the weights of the best validation score
    converged: bool = False
    grad_max: float = math.inf            # the gradient rule's measure

    def restart(self, early_stopping: bool) -> "Progress":
        """The progress a new fit starts from: this one's memory, no iteration yet, and the best
        value that the stopping rule (early stopping or not) compares with."""
        p = dataclasses.replace(self, n_iter=0, loss_curve=list(self.loss_curve), converged=False, grad_max=math.inf)
        if early_stopping:
            p.best_loss = None
            p.validation_scores, p.best_validation_score = ((list(p.validation_scores), p.best_validation_score)
                                                            if p.validation_scores is not None else ([], -math.inf))
        else:
            p.best_loss = math.inf if p.best_loss is None else p.best_loss
            p.validation_scores = p.best_validation_score = None
        return p

    def to_checkpoint(self) -> tuple[dict, dict]:
        """(JSON values, the best weights as arrays): what a checkpoint carries of the run's memory."""
        meta = _json_safe({k: v for k, v in vars(self).items() if k != "best_state"})
        return meta, {f"best.{k}": v for k, v in (self.best_state or {}).items()}

    @classmethod
    def from_checkpoint(cls, meta: dict, arrays: dict) -> "Progress":
        """The progress ``to_checkpoint`` wrote."""
        best = {k[5:]: v for k, v in arrays.items() if k.startswith("best.")} or None
        return cls(**_from_json(meta), best_state=best)


@dataclass(frozen=True)
class FitResult:
    """A solver's results: the run's progress and history, and what a partial fit continues with."""

    progress: Progress
    history: History
    optimizer: object = None
    schedule: object = None


def _json_safe(v):
    """JSON has no inf or nan: they are written as strings (and lists and dicts converted throughout)."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return repr(v) if isinstance(v, float) and not math.isfinite(v) else v


def _from_json(v):
    if isinstance(v, dict):
        return {k: _from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    return float(v) if isinstance(v, str) and v in ("inf", "-inf", "nan") else v
