"""Optimizers (one update rule each) and learning-rate schedules."""
from .adam import Adam
from .base import Optimizer
from .schedules import SCHEDULES, Constant, Cosine, ExponentialDecay, Schedule, StepDecay, make_schedule
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "Schedule", "Constant", "StepDecay", "ExponentialDecay", "Cosine",
           "SCHEDULES", "make_schedule"]
