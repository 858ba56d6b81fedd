"""Learning-rate schedules: the learning rate of epoch e (counting from 0) from the base rate."""
from __future__ import annotations

import math


class Schedule:
    """``schedule(base_lr, epoch) -> lr``. Applied at the start of every epoch."""

    def __call__(self, base_lr: float, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_config(self) -> dict:
        return {"name": self.name, **{k: v for k, v in vars(self).items()}}


class Constant(Schedule):
    """lr_e = lr."""
    name = "constant"

    def __call__(self, base_lr, epoch):
        return base_lr


class StepDecay(Schedule):
    """lr_e = lr * gamma^floor(e / step_size)."""
    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer; got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma!r}")
        self.step_size, self.gamma = step_size, float(gamma)

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr_e = lr * gamma^e."""
    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1]; got {gamma!r}")
        self.gamma = float(gamma)

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class Cosine(Schedule):
    """lr_e = min_lr + (lr - min_lr) (1 + cos(pi e / T)) / 2, for e < T; min_lr after."""
    name = "cosine"

    def __init__(self, total_epochs: int, min_lr: float = 0.0):
        if not isinstance(total_epochs, int) or total_epochs < 1:
            raise ValueError(f"total_epochs must be a positive integer; got {total_epochs!r}")
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0; got {min_lr!r}")
        self.total_epochs, self.min_lr = total_epochs, float(min_lr)

    def __call__(self, base_lr, epoch):
        if epoch >= self.total_epochs:
            return self.min_lr
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * epoch / self.total_epochs)) / 2


SCHEDULES = {"constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "cosine": Cosine}


def make_schedule(spec, epochs: int | None = None) -> Schedule:
    """A Schedule from itself, None/"constant", a name, or a dict {"name": ..., **kwargs}.

    "cosine" by name spans ``epochs``.
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
