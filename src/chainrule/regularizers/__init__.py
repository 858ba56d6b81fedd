"""Regularisers of the notes: penalties lambda R(W) and the max-norm constraint.

Dropout and batch normalisation, the notes' other regularisers, are layers (``chainrule.nn``).
"""
from .constraints import MaxNorm
from .penalties import L1, L2, ElasticNet, Penalty, add_penalty_gradients, penalty_value

__all__ = ["Penalty", "L2", "L1", "ElasticNet", "MaxNorm", "penalty_value", "add_penalty_gradients"]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
