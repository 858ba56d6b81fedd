"""Layers: each a pure kernel pair (forward -> output and cache; backward -> input and parameter
gradients) and a thin module that holds the parameters and keeps the cache."""
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .linear import Linear
from .pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from .reshape import Flatten
from .residual import Residual

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "BatchNorm1d",
           "BatchNorm2d", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten", "Residual"]
