"""The network building blocks: ``Parameter``, ``Module``, ``Sequential`` and the layers.

>>> import numpy as np
>>> from chainrule import nn
>>> net = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
>>> [name for name, _ in net.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
"""
from .core import Module, Parameter, Sequential
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Identity,
                     LeakyReLU, Linear, MaxPool2d, ReLU, Residual, Sigmoid, Softmax, Tanh)

__all__ = [
    "Parameter", "Module", "Sequential", "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
    "Tanh", "Softmax", "Dropout", "BatchNorm1d", "BatchNorm2d", "Conv2d", "MaxPool2d", "AvgPool2d",
    "GlobalAvgPool2d", "Flatten", "Residual",
]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
