"""The network building blocks: ``Parameter``, ``Module``, ``Sequential`` and the layers.

>>> import numpy as np
>>> from chainrule import nn
>>> net = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
>>> [name for name, _ in net.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""
from . import layers
from .core import Module, Parameter, Sequential
from .layers import *  # noqa: F401,F403 (every layer: layers.__all__)

__all__ = ["Parameter", "Module", "Sequential", *layers.__all__]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
