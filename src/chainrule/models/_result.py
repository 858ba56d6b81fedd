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
        p = Progress(0, self.t, self.loss, list(self.loss_curve), self.best_loss, self.validation_scores,
                     self.best_validation_score, self.no_improvement_count, self.best_state)
        if early_stopping:
            p.best_loss = None
            if p.validation_scores is None:
                p.validation_scores, p.best_validation_score = [], -math.inf
        else:
            p.best_loss = math.inf if p.best_loss is None else p.best_loss
            p.validation_scores = p.best_validation_score = None
        return p

    # -- checkpoints: JSON values (no inf or nan in JSON) and the best weights as arrays ------------
    _SCALARS = ("n_iter", "t", "loss", "best_loss", "best_validation_score", "no_improvement_count", "converged",
                "grad_max")

    def to_checkpoint(self) -> tuple[dict, dict]:
        meta = {k: _finite_or_str(getattr(self, k)) for k in self._SCALARS}
        meta["loss_curve"] = [_finite_or_str(v) for v in self.loss_curve]
        meta["validation_scores"] = (None if self.validation_scores is None
                                     else [_finite_or_str(v) for v in self.validation_scores])
        return meta, {f"best.{k}": v for k, v in (self.best_state or {}).items()}

    @classmethod
    def from_checkpoint(cls, meta: dict, arrays: dict) -> "Progress":
        p = cls(**{k: _from_str(meta[k]) for k in cls._SCALARS if k in meta})
        p.loss_curve = [_from_str(v) for v in meta.get("loss_curve", [])]
        scores = meta.get("validation_scores")
        p.validation_scores = None if scores is None else [_from_str(v) for v in scores]
        p.best_state = {k[5:]: v for k, v in arrays.items() if k.startswith("best.")} or None
        return p


@dataclass(frozen=True)
class FitResult:
    """A solver's results: the run's progress and history, and what a partial fit continues with."""

    progress: Progress
    history: History
    optimizer: object = None
    schedule: object = None


def _finite_or_str(v):
    return repr(v) if isinstance(v, float) and not math.isfinite(v) else v


def _from_str(v):
    return float(v) if isinstance(v, str) and v in ("inf", "-inf", "nan") else v
