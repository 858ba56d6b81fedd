from .module import Module
from .parameter import Parameter
from .sequential import Sequential

__all__ = ["Module", "Parameter", "Sequential"]
