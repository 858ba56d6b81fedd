"""Optimizers (one update function per rule, per-parameter state) and learning-rate schedules."""
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, adam_update
from .base import Optimizer
from .rmsprop import RMSprop, rmsprop_update
from .schedules import SCHEDULES, Constant, Cosine, ExponentialDecay, Schedule, StepDecay, make_schedule
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "sgd_update", "adam_update", "rmsprop_update",
           "adagrad_update", "Schedule", "Constant", "StepDecay", "ExponentialDecay", "Cosine", "SCHEDULES",
           "make_schedule"]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
