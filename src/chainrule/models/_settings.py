"""The settings of a fit: read once from an estimator's parameters, checked, and frozen.

Every estimator speaks scikit-learn's names (``solver``, ``learning_rate_init``, ``max_iter``,
``nesterovs_momentum``, ``alpha``, ``batch_size``, ``tol``...). chainrule 0.1's names
(``optimizer``, ``lr``, ``epochs``, ``nesterov``) still work until 0.3, with a FutureWarning.
What differs between estimators is an argument of ``resolve``, never a class flag: what
``alpha`` means (``alpha_per_batch``), how training stops (``stopping``), and the solver or
learning rate that the data decided. Errors name the parameter, what it must be and what it got,
in scikit-learn's words where scikit-learn has them.
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from .. import registry
from .._helpers.validation import check_int, check_number

#: the default of a chainrule 0.1 name (scikit-learn's own marker for a deprecated parameter)
DEPRECATED = "deprecated"
#: chainrule 0.1 name -> scikit-learn name
RENAMED = {"optimizer": "solver", "lr": "learning_rate_init", "epochs": "max_iter", "nesterov": "nesterovs_momentum"}
STOCHASTIC = tuple(registry.OPTIMIZERS)          # 'sgd', 'adam', 'rmsprop', 'adagrad'
SOLVERS = ("lbfgs",) + STOCHASTIC
SCHEDULES = ("constant", "invscaling", "adaptive")
#: what a parameter is when an estimator does not take it
DEFAULTS = dict(penalty=None, alpha=0.0, beta=0.5, max_norm=3.0, penalize_bias=False, momentum=0.0,
                nesterovs_momentum=False, batch_size=None, learning_rate="constant", lr_schedule=None, power_t=0.5,
                shuffle=True, tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_fun=15000, verbose=0, warm_start=False, checkpoint=None)


@dataclass(frozen=True)
class Settings:
    """Everything a solver needs to know about a fit, checked."""

    solver: str                            # 'sgd', 'adam', 'rmsprop', 'adagrad', 'lbfgs' or 'lstsq'
    learning_rate_init: float
    max_iter: int
    batch_size: object                     # int, None (full batch) or 'auto' (min(200, n))
    optimizer_kwargs: dict                 # momentum, nesterov / Adam's betas and eps
    learning_rate: str = "constant"        # scikit-learn's schedule: 'constant', 'invscaling', 'adaptive'
    lr_schedule: object = None             # chainrule's schedule (a name, dict or Schedule), or None
    power_t: float = 0.5
    shuffle: bool = True
    tol: float = 1e-4
    n_iter_no_change: float = 10
    early_stopping: bool = False
    validation_fraction: float = 0.1
    max_fun: int = 15000
    stopping: str = "loss"                 # 'loss': scikit-learn's rule; 'gradient': max |dJ/dtheta| <= tol
    alpha_per_batch: bool = True           # True: alpha / (2 B) R(W) per batch (scikit-learn); False: the notes' lambda
    penalty: str | None = None
    alpha: float = 0.0
    beta: float = 0.5
    max_norm: float = 3.0
    penalize_bias: bool = False
    warm_start: bool = False
    verbose: int = 0
    checkpoint: object = None

    @property
    def stochastic(self) -> bool:
        return self.solver in STOCHASTIC

    def batch_for(self, n: int) -> int | None:
        """The batch size for n training samples (None: the whole set)."""
        return min(200, n) if isinstance(self.batch_size, str) else self.batch_size


def params(est, *, warn: bool = True, renamed: dict = RENAMED) -> dict:
    """The estimator's parameters under scikit-learn's names, with ``DEFAULTS`` for those it does not
    take; a chainrule 0.1 name of ``renamed`` that was set replaces its new name (with a FutureWarning)."""
    p = {**DEFAULTS, **est.get_params(deep=False)}
    for old, new in renamed.items():
        value = p.pop(old, DEPRECATED)
        if isinstance(value, str) and value == DEPRECATED:
            continue
        if warn:
            warnings.warn(f"{type(est).__name__}: '{old}' was renamed '{new}' (scikit-learn's name) in chainrule "
                          f"0.2 and goes in 0.3; {old}={value!r} is used as {new}={value!r}", FutureWarning,
                          stacklevel=user_stacklevel())
        p[new] = value
    return p


def user_stacklevel() -> int:
    """The ``stacklevel`` of a warning that names the user's line: the first frame outside chainrule."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("chainrule."):
        frame, level = frame.f_back, level + 1
    return level


def _flag(name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _range_error(est_name, name, kind, interval, value):
    return ValueError(f"The {name!r} parameter of {est_name} must be {kind} in the range {interval}. "
                      f"Got {value!r} instead.")


def resolve(est_name: str, p: dict, *, alpha_per_batch: bool, stopping: str = "loss",
            solvers: tuple = SOLVERS) -> Settings:
    """Check the parameters ``p`` (from ``params``; the solver and the learning rate already chosen
    by the estimator) and return the frozen ``Settings``.

    ``alpha_per_batch``: scikit-learn's alpha (``alpha / (2 B) R(W)`` on each batch of B samples)
    or the notes' lambda (``lambda R(W)``). ``stopping``: 'loss' (scikit-learn's rule on the loss
    or the validation score) or 'gradient' (every entry of the gradient at most ``tol``).
    ``solvers``: the solvers the estimator offers.
    """
    solver = registry.choose("solver", {s: s for s in solvers}, p["solver"])
    rate = check_number("learning_rate_init", p["learning_rate_init"], 0.0, low_inclusive=False)
    max_iter = p["max_iter"]
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise _range_error(est_name, "max_iter", "an int", "[1, inf)", max_iter)
    fraction = p["validation_fraction"]
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number)) or not 0 < fraction < 1:
        raise _range_error(est_name, "validation_fraction", "a float", "(0.0, 1.0)", fraction)
    momentum = check_number("momentum", p["momentum"], 0.0, 1.0)   # 1 would never forget a gradient (as optim.SGD)
    nesterov = _flag("nesterovs_momentum", p["nesterovs_momentum"])
    batch = p["batch_size"]
    if isinstance(batch, str):
        if batch != "auto":
            raise ValueError(f"batch_size must be 'auto', a positive integer or None; got {batch!r}")
    else:
        batch = check_int("batch_size", batch, allow_none=True)
    kwargs = {}
    if solver == "sgd":
        kwargs = {"momentum": momentum, "nesterov": nesterov and momentum > 0}
    elif solver == "adam":
        kwargs = {"betas": (check_number("beta_1", p["beta_1"], 0.0, 1.0), check_number("beta_2", p["beta_2"], 0.0, 1.0)),
                  "eps": check_number("epsilon", p["epsilon"], 0.0, low_inclusive=False)}
    schedule, lr_schedule = p["learning_rate"], p["lr_schedule"]
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"learning_rate must be one of {', '.join(map(repr, SCHEDULES))}; got {schedule!r}")
    if solver != "sgd":
        schedule = "constant"                  # scikit-learn: only solver='sgd' follows learning_rate
    elif schedule != "constant" and lr_schedule is not None:
        raise ValueError(f"learning_rate={schedule!r} and lr_schedule={lr_schedule!r} both set how the learning "
                         "rate changes; give one of them")
    patience = p["n_iter_no_change"]
    if not (isinstance(patience, float) and math.isinf(patience) and patience > 0):
        patience = check_int("n_iter_no_change", patience)
    alpha, beta = check_number("alpha", p["alpha"]), check_number("beta", p["beta"])
    max_norm = check_number("max_norm", p["max_norm"], 0.0, low_inclusive=False)
    registry.penalty(p["penalty"], alpha, beta, max_norm)         # an unknown penalty is refused by name here
    return Settings(solver=solver, learning_rate_init=rate, max_iter=int(max_iter), batch_size=batch,
                    optimizer_kwargs=kwargs, learning_rate=schedule,
                    lr_schedule=lr_schedule if solver in STOCHASTIC else None,
                    power_t=check_number("power_t", p["power_t"]), shuffle=_flag("shuffle", p["shuffle"]),
                    tol=check_number("tol", p["tol"]), n_iter_no_change=patience,
                    early_stopping=_flag("early_stopping", p["early_stopping"]), validation_fraction=float(fraction),
                    max_fun=check_int("max_fun", p["max_fun"]), stopping=stopping, alpha_per_batch=alpha_per_batch,
                    penalty=p["penalty"], alpha=alpha, beta=beta, max_norm=max_norm,
                    penalize_bias=_flag("penalize_bias", p["penalize_bias"]),
                    warm_start=_flag("warm_start", p["warm_start"]), verbose=p["verbose"], checkpoint=p["checkpoint"])


def has_stochastic_solver(est) -> bool:
    """available_if test of partial_fit: scikit-learn offers it for the stochastic solvers only."""
    solver = est._solver(params(est, warn=False))
    if solver not in STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers; {solver} is not stochastic")
    return True
