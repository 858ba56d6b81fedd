"""The settings of a training run, read from an estimator's parameters and checked at ``fit``.

Two spellings lead here. The networks (``MLPClassifier``, ``MLPRegressor`` and what is built on
the same base) use scikit-learn's names: ``solver``, ``learning_rate_init``, ``max_iter``,
``nesterovs_momentum``, ``learning_rate`` ('constant', 'invscaling', 'adaptive'), ``power_t``,
``beta_1``, ``beta_2``, ``epsilon``, ``max_fun``, ``shuffle``. Their chainrule 0.1 names
(``optimizer``, ``lr``, ``epochs``, ``nesterov``) still work there with a FutureWarning: the
command line and model files written by chainrule 0.1 use them. The linear models keep the
notes' names (``optimizer``, ``lr``, ``epochs``, ``nesterov``) as their own: scikit-learn has no
common spelling for them. Errors name the parameter, what it must be and what it got.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import registry
from .._helpers.validation import check_int, check_number

#: the default of a chainrule 0.1 name that now has a scikit-learn name (scikit-learn's own marker)
DEPRECATED = "deprecated"
#: chainrule 0.1 name -> scikit-learn name
RENAMED = {"optimizer": "solver", "lr": "learning_rate_init", "epochs": "max_iter", "nesterov": "nesterovs_momentum"}
SCHEDULES = ("constant", "invscaling", "adaptive")
STOCHASTIC = tuple(registry.OPTIMIZERS)          # 'sgd', 'adam', 'rmsprop', 'adagrad'
SOLVERS = ("lbfgs",) + STOCHASTIC


@dataclass
class RunSettings:
    """Everything ``NetworkEstimator`` needs to run: the solver and its step, the batches, the
    schedule, the stopping rule."""

    solver: str
    lr: float
    max_iter: int
    batch_size: object                     # int, None (full batch) or "auto" (min(200, n))
    shuffle: bool
    optimizer_kwargs: dict = field(default_factory=dict)
    schedule: str = "constant"             # 'constant', 'invscaling', 'adaptive' or 'chainrule'
    lr_schedule: object = None             # chainrule's lr_schedule (schedule == 'chainrule')
    power_t: float = 0.5
    tol: float = 1e-4
    n_iter_no_change: float = 10
    early_stopping: bool = False
    validation_fraction: float = 0.1
    max_fun: int = 15000

    @property
    def stochastic(self) -> bool:
        return self.solver != "lbfgs"

    def batch_for(self, n: int) -> int | None:
        """The batch size for n training samples (None: the whole set)."""
        if isinstance(self.batch_size, str):
            return min(200, n)
        return self.batch_size


def _flag(name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _patience(value) -> float:
    if isinstance(value, float) and math.isinf(value) and value > 0:
        return math.inf
    return check_int("n_iter_no_change", value)


def _renamed(est, old: str):
    """The value of a chainrule 0.1 name if the user set it (with a FutureWarning), else None."""
    value = getattr(est, old, DEPRECATED)
    if isinstance(value, str) and value == DEPRECATED:
        return None
    warnings.warn(f"{type(est).__name__}: '{old}' was renamed '{RENAMED[old]}' (scikit-learn's name) in chainrule "
                  f"0.2 and will be removed in 0.4; {old}={value!r} is used as {RENAMED[old]}={value!r}",
                  FutureWarning, stacklevel=6)
    return value


def _names(est) -> dict:
    """solver, lr, max_iter, nesterov under either spelling."""
    if getattr(est, "_notes_names", False):
        nesterov = est.nesterov
        return {"solver": solver_of(est), "lr": est.lr, "max_iter": est.epochs,
                "nesterov": False if isinstance(nesterov, str) and nesterov == DEPRECATED else nesterov,
                "names": ("optimizer", "lr", "epochs", "nesterov")}
    out = {"solver": getattr(est, "solver", "adam"), "lr": getattr(est, "learning_rate_init", 0.001),
           "max_iter": getattr(est, "max_iter", 200), "nesterov": getattr(est, "nesterovs_momentum", True),
           "names": ("solver", "learning_rate_init", "max_iter", "nesterovs_momentum")}
    for key, old in (("solver", "optimizer"), ("lr", "lr"), ("max_iter", "epochs"), ("nesterov", "nesterov")):
        value = _renamed(est, old)
        if value is not None:
            out[key] = value
    return out


def solver_of(est) -> str:
    """The solver the estimator will use (either spelling), without warnings or checks."""
    if getattr(est, "_notes_names", False):
        auto = getattr(est, "_auto_optimizer", None)
        return auto() if est.optimizer == "auto" and auto is not None else est.optimizer
    old = getattr(est, "optimizer", DEPRECATED)
    return getattr(est, "solver", "adam") if isinstance(old, str) and old == DEPRECATED else old


def has_stochastic_solver(est) -> bool:
    """available_if test of partial_fit: scikit-learn offers it for the stochastic solvers only."""
    if solver_of(est) == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers; lbfgs is not stochastic")
    return True


def resolve(est, *, lr=None) -> RunSettings:
    """Check the estimator's training parameters and return its ``RunSettings``.

    ``lr`` overrides the learning rate (LinearRegression derives it from the data).
    """
    n = _names(est)
    solver_name, lr_name, iter_name, nesterov_name = n["names"]
    names = (("auto",) if hasattr(est, "_auto_optimizer") else ()) + SOLVERS
    solver = registry.choose(solver_name, {s: s for s in names}, n["solver"])
    rate = lr if lr is not None else check_number(lr_name, n["lr"], 0.0, low_inclusive=False)
    max_iter = check_int(iter_name, n["max_iter"], 0)
    momentum = check_number("momentum", est.momentum, 0.0, 1.0)     # 1 would never forget a gradient (as optim.SGD)
    nesterov = _flag(nesterov_name, n["nesterov"])
    batch = est.batch_size
    if isinstance(batch, str):
        if batch != "auto":
            raise ValueError(f"batch_size must be 'auto', a positive integer or None; got {batch!r}")
    else:
        batch = check_int("batch_size", batch, allow_none=True)
    s = RunSettings(solver=solver, lr=rate, max_iter=max_iter, batch_size=batch,
                    shuffle=_flag("shuffle", getattr(est, "shuffle", True)),
                    tol=check_number("tol", est.tol), n_iter_no_change=_patience(est.n_iter_no_change),
                    early_stopping=_flag("early_stopping", est.early_stopping),
                    max_fun=check_int("max_fun", getattr(est, "max_fun", 15000)))
    if s.early_stopping:
        s.validation_fraction = check_number("validation_fraction", est.validation_fraction, 0.0, 1.0,
                                             low_inclusive=False)
    if solver == "sgd":
        s.optimizer_kwargs = {"momentum": momentum, "nesterov": nesterov and momentum > 0}
    elif solver == "adam":
        beta_1 = check_number("beta_1", getattr(est, "beta_1", 0.9), 0.0, 1.0)
        beta_2 = check_number("beta_2", getattr(est, "beta_2", 0.999), 0.0, 1.0)
        s.optimizer_kwargs = {"betas": (beta_1, beta_2),
                              "eps": check_number("epsilon", getattr(est, "epsilon", 1e-8), 0.0, low_inclusive=False)}
    schedule = getattr(est, "learning_rate", "constant")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"learning_rate must be one of {', '.join(map(repr, SCHEDULES))}; got {schedule!r}")
    s.power_t = check_number("power_t", getattr(est, "power_t", 0.5))
    if solver == "sgd" and schedule != "constant":        # scikit-learn: only used with solver='sgd'
        if est.lr_schedule is not None:
            raise ValueError(f"learning_rate={schedule!r} and lr_schedule={est.lr_schedule!r} both set how the "
                             "learning rate changes; give one of them")
        s.schedule = schedule
    elif est.lr_schedule is not None and s.stochastic:
        s.schedule, s.lr_schedule = "chainrule", est.lr_schedule
    return s

