"""Layers: each a pure kernel pair (forward -> output and cache; backward -> input and parameter
gradients) and a thin module that holds the parameters, keeps the cache and declares its
gradient-check cases, its ONNX nodes and its PyTorch equivalent."""
from .linear import Linear
from .activations import Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax
from .dropout import Dropout
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .pooling import MaxPool2d, AvgPool2d, GlobalAvgPool2d
from .reshape import Flatten
from .residual import Residual

#: every layer class imported above, in that order: ``nn`` exports them and ``registry.LAYERS``
#: names them for model files, so a new layer is its own file and its import here
__all__ = [name for name, value in dict(globals()).items() if isinstance(value, type)]
