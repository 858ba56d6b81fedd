"""chainrule: deep learning on NumPy, every gradient derived by hand with the chain rule and
checked numerically.

Every subpackage is reachable after ``import chainrule`` and is loaded at its first use, so the
import itself stays fast:

- the differentiable core (NumPy only): ``nn`` (Parameter, Module, Sequential and the layers),
  ``losses``, ``regularizers``, ``grad`` (numerical derivatives and the gradient check),
  ``optim`` (update rules and schedules), ``training`` (the loop, history, callbacks, checkpoints);
- files and names: ``io`` (model files, their safe reading, ONNX and PyTorch export), ``registry``
  (names of layers, losses, optimizers);
- the shells: ``models`` (scikit-learn estimators), ``datasets``, ``features``, ``plotting``,
  ``sweep`` (hyperparameter sweeps on loky or Dask), ``cli``;
- how it computes: ``show_config()`` (versions, the compiled backend, BLAS, threads),
  ``set_num_threads(n)`` / ``get_num_threads()`` (the workers of the compiled kernels and BLAS).
"""
from __future__ import annotations

import importlib
import warnings

from .errors import NoForwardError, TrainingDiverged

__version__ = "0.2.0"

_SUBPACKAGES = ("nn", "losses", "regularizers", "grad", "grad_cases", "optim", "training", "io", "registry",
                "models", "datasets", "features", "plotting", "sweep", "cli", "errors", "architectures",
                "playground")
#: 0.1 names of subpackages that moved: old name -> new, still importable as an attribute until 0.3
_MOVED = {"export": "io.export"}
#: functions at the top, from the module that defines them (loaded at first use, as the subpackages)
_FUNCTIONS = {"show_config": "_compiled.config", "set_num_threads": "_compiled.workers",
              "get_num_threads": "_compiled.workers"}

__all__ = ["__version__", "NoForwardError", "TrainingDiverged", *_SUBPACKAGES, *_FUNCTIONS]


def __getattr__(name: str):
    """Import a subpackage at its first use (PEP 562)."""
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f".{_FUNCTIONS[name]}", __name__), name)
    if name in _MOVED:
        warnings.warn(f"chainrule.{name} moved to chainrule.{_MOVED[name]} in 0.2 and goes in 0.3",
                      FutureWarning, stacklevel=2)
        return importlib.import_module(f".{_MOVED[name]}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__():
    return list(__all__)
