"""chainrule: deep learning on NumPy, every gradient derived by hand with the chain rule and
checked numerically.

Subpackages: ``nn`` (layers), ``losses``, ``regularizers``, ``grad`` (numerical derivatives and
the gradient check). The core needs NumPy only.
"""
__version__ = "0.1.0"

from . import grad, losses, nn, regularizers  # noqa: E402,F401
from .errors import NoForwardError, TrainingDiverged  # noqa: E402,F401
