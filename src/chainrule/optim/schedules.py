"""Learning-rate schedules: the learning rate of epoch e (counting from 0) from the base rate."""
from __future__ import annotations

import math

from .._helpers.validation import check_int


class Schedule:
    """A learning-rate schedule: ``schedule(base_lr, epoch) -> lr``, applied at the start of every epoch."""

    def __call__(self, base_lr: float, epoch: int) -> float:  # pragma: no cover - abstract
        """The learning rate of ``epoch``.

        Parameters
        ----------
        base_lr : float
            The optimizer's learning rate.
        epoch : int
            The epoch, counted from 0.

        Returns
        -------
        float
            The learning rate of that epoch.
        """
        raise NotImplementedError

    def to_config(self) -> dict:
        """The schedule as JSON-able values; ``make_schedule`` rebuilds it.

        Returns
        -------
        dict
            ``{"name": name, settings...}``.
        """
        return {"name": self.name, **{k: v for k, v in vars(self).items()}}


class Constant(Schedule):
    """The same rate every epoch: lr_e = lr."""
    name = "constant"

    def __call__(self, base_lr, epoch):
        return base_lr


class StepDecay(Schedule):
    r"""Divide the rate by 1/gamma every ``step_size`` epochs.

    Parameters
    ----------
    step_size : int >= 1, default 10
        Epochs between two decays.
    gamma : float in (0, 1], default 0.1
        The factor of each decay.

    Notes
    -----
    .. math:: \mathrm{lr}_e = \mathrm{lr} \, \gamma^{\lfloor e / \mathrm{step\_size} \rfloor}.
    """
    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma!r}")
        self.step_size, self.gamma = check_int("step_size", step_size), float(gamma)

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    r"""Multiply the rate by gamma every epoch.

    Parameters
    ----------
    gamma : float in (0, 1], default 0.95
        The factor per epoch.

    Notes
    -----
    .. math:: \mathrm{lr}_e = \mathrm{lr} \, \gamma^e.
    """
    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma!r}")
        self.gamma = float(gamma)

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class Cosine(Schedule):
    r"""Cosine annealing from the base rate down to ``min_lr`` over ``total_epochs`` epochs.

    Parameters
    ----------
    total_epochs : int >= 1
        T, the epochs the decay spans; ``min_lr`` after.
    min_lr : float >= 0, default 0
        The final rate.

    Notes
    -----
    .. math:: \mathrm{lr}_e = \mathrm{lr}_{min} + (\mathrm{lr} - \mathrm{lr}_{min})
       \frac{1 + \cos(\pi e / T)}{2} \quad (e < T).
    """
    name = "cosine"

    def __init__(self, total_epochs: int, min_lr: float = 0.0):
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0; got {min_lr!r}")
        self.total_epochs, self.min_lr = check_int("total_epochs", total_epochs), float(min_lr)

    def __call__(self, base_lr, epoch):
        if epoch >= self.total_epochs:
            return self.min_lr
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * epoch / self.total_epochs)) / 2


class InvScaling(Schedule):
    """scikit-learn's 'invscaling': lr_e = lr / (t + 1)^power_t, t = the samples seen before epoch e.

    t = t0 + e * samples_per_epoch: ``samples_per_epoch`` is the training set's size (1 by
    default: lr / (e + 1)^power_t) and ``t0`` the samples seen by earlier runs (a warm start or
    ``partial_fit`` continues the decay).
    """
    name = "invscaling"

    def __init__(self, power_t: float = 0.5, samples_per_epoch: int = 1, t0: int = 0):
        if not (isinstance(power_t, (int, float)) and math.isfinite(power_t) and power_t >= 0):
            raise ValueError(f"power_t must be a finite number >= 0; got {power_t!r}")
        self.power_t = float(power_t)
        self.samples_per_epoch, self.t0 = check_int("samples_per_epoch", samples_per_epoch), check_int("t0", t0, 0)

    def __call__(self, base_lr, epoch):
        return base_lr / (self.t0 + epoch * self.samples_per_epoch + 1) ** self.power_t


class Adaptive(Schedule):
    """scikit-learn's 'adaptive': lr / factor^k after k reductions (k = 0: the base rate).

    Whoever watches the run calls ``reduce()`` when it stops improving (the estimators do it
    when the loss or validation score has not improved by ``tol`` for ``n_iter_no_change``
    epochs); ``can_reduce(lr)`` is False once the rate is at or below ``min_lr``, when the run
    should stop instead. The count of reductions is the run's state, not a setting: checkpoints
    carry it through the watcher, and ``to_config`` leaves it out.
    """
    name = "adaptive"

    def __init__(self, factor: float = 5.0, min_lr: float = 1e-6):
        if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 1):
            raise ValueError(f"factor must be a finite number > 1; got {factor!r}")
        if not (isinstance(min_lr, (int, float)) and math.isfinite(min_lr) and min_lr >= 0):
            raise ValueError(f"min_lr must be a finite number >= 0; got {min_lr!r}")
        self.factor, self.min_lr = float(factor), float(min_lr)
        self.reductions = 0

    def __call__(self, base_lr, epoch):
        return base_lr / self.factor ** self.reductions

    def can_reduce(self, lr: float) -> bool:
        return lr > self.min_lr

    def reduce(self) -> None:
        self.reductions += 1

    def to_config(self) -> dict:
        return {"name": self.name, "factor": self.factor, "min_lr": self.min_lr}


SCHEDULES = {"constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "cosine": Cosine,
             "invscaling": InvScaling, "adaptive": Adaptive}


def make_schedule(spec, epochs: int | None = None) -> Schedule:
    """A Schedule from a name, a dict or a Schedule.

    Parameters
    ----------
    spec : Schedule, str, dict or None
        A Schedule (returned as it is); None or ``"constant"``; a name of ``SCHEDULES``
        (``"step"``, ``"exponential"``, ``"cosine"``...); or a dict ``{"name": name, "gamma": 0.5}``
        whose other keys are the schedule's arguments.
    epochs : int, optional
        The run's number of epochs: ``"cosine"`` by name spans them.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        If the name is unknown, or ``"cosine"`` has neither ``total_epochs`` nor ``epochs``.
    TypeError
        If ``spec`` is of another type.
    """
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if isinstance(spec, dict):
        kwargs = dict(spec)
        name = kwargs.pop("name", None)
        if name not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {sorted(SCHEDULES)}; got {name!r}")
        if name == "cosine" and "total_epochs" not in kwargs:
            if epochs is None:
                raise ValueError("the cosine schedule needs total_epochs")
            kwargs["total_epochs"] = int(epochs)
        return SCHEDULES[name](**kwargs)
    raise TypeError(f"lr_schedule must be a name, a dict or a Schedule; got {type(spec).__name__}")
