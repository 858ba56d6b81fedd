"""``to_torch``: a chainrule network (or model file) as the equivalent ``torch.nn`` model, weights
loaded strictly, so that nobody retypes an architecture to use chainrule's weights in PyTorch.

Each layer type declares its ``torch.nn`` equivalent next to its kernels, as plain data
(``Module.torch_modules(config)``: the constructor calls, their arguments read from the layer's
``get_config()``); ``calls`` finds them through ``registry.LAYERS``. Containers (``Sequential``,
``Residual``) are built here, in ``TORCH_CONTAINERS``. Every type in ``registry.LAYERS`` is one or
the other (``tests/test_to_torch_table.py`` checks it without PyTorch). State names and layouts are
PyTorch's already (``Module.state_dict()``), so the weights load with
``load_state_dict(strict=True)``: a missing, extra or misshapen tensor is an error, never a silent
default.

PyTorch is optional: it is imported inside ``to_torch`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import registry
from ..core.module import Module
from .files import architecture, network_state


@dataclass(frozen=True)
class Call:
    """One ``torch.nn.<name>(*args, **kwargs)`` call."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


#: containers: built from their children's descriptions (state names nest as in chainrule)
TORCH_CONTAINERS = {
    "Sequential": "torch.nn.Sequential of the children, in order (names 0, 1, ...)",
    "Residual": "a torch.nn.Module with .block and .shortcut (absent when the identity): shortcut(x) + "
                "block(x) in eval mode; in training the block is kept with probability survival_prob and "
                "divided by it (torchvision's stochastic_depth, p = 1 - survival_prob), per row or per batch",
}


def convertible() -> list:
    """The layer types ``to_torch`` converts: the containers and every registered type that declares
    ``torch_modules``."""
    return [*TORCH_CONTAINERS, *(name for name, cls in registry.LAYERS.items()
                                 if name not in TORCH_CONTAINERS and cls.torch_modules is not Module.torch_modules)]


def calls(spec: dict) -> list:
    """The constructor calls of a non-container layer's description (no PyTorch needed)."""
    kind = spec.get("type")
    if kind in TORCH_CONTAINERS or kind not in convertible():
        raise NotImplementedError(f"to_torch has no PyTorch equivalent for a {kind} layer; it converts "
                                  f"{', '.join(convertible())}")
    return [Call(*row) for row in registry.LAYERS[kind].torch_modules(spec.get("config", {}))]


def _network_and_state(path_or_model):
    """(network description, state dict of NumPy arrays) of a model file, a network, a fitted
    estimator (its ``model_``) or a Pipeline ending in one (its network only, as from a file)."""
    if isinstance(path_or_model, Module):
        return path_or_model.spec(), path_or_model.state_dict()
    steps = getattr(path_or_model, "steps", None)
    if steps:
        path_or_model = steps[-1][1]
    module = getattr(path_or_model, "model_", None)
    if isinstance(module, Module):
        return module.spec(), module.state_dict()
    if isinstance(path_or_model, (str, bytes)) or hasattr(path_or_model, "__fspath__"):
        return architecture(path_or_model), network_state(path_or_model)
    raise TypeError(f"path_or_model must be a model file's path, a chainrule network or a fitted chainrule "
                    f"estimator; got {type(path_or_model).__name__}"
                    + (" that is not fitted" if hasattr(path_or_model, "fit") else ""))


def to_torch(path_or_model):
    """The ``torch.nn`` model computing what a chainrule network computes, weights loaded strictly.

    So that nobody retypes an architecture to use chainrule's weights in PyTorch: each layer
    becomes the ``torch.nn`` module(s) it declares (``Module.torch_modules``), and the state loads with
    ``load_state_dict(strict=True)`` (a missing, extra or misshapen tensor is an error). Only the
    network converts: a Pipeline's preprocessing (a run's ScaleToUnit and Flatten) and an
    estimator's own input rule (flat rows to images) are not part of it, so inputs must be
    preprocessed as ``predict`` would before they reach it. Needs PyTorch (``pip install
    torch``), which chainrule itself never imports.

    Parameters
    ----------
    path_or_model : str, path-like, Module, estimator or Pipeline
        A model file (``chainrule.io.save``; a run's ``model.safetensors``), a network
        (``Sequential`` and any nesting, ``Residual`` included), a fitted estimator (its
        ``model_``) or a Pipeline ending in one.

    Returns
    -------
    torch.nn.Module
        A ``torch.nn.Sequential`` (or the single module), in the network's dtype and in
        evaluation mode.

    Raises
    ------
    TypeError
        If ``path_or_model`` is none of the above (or an estimator that is not fitted).
    NotImplementedError
        If a layer has no PyTorch equivalent.
    ImportError
        If PyTorch is not installed.
    chainrule.io.ModelFileError
        If a model file fails ``chainrule.io.read``'s checks.
    """
    spec, state = _network_and_state(path_or_model)
    try:
        import torch
    except ImportError:
        raise ImportError("chainrule.io.to_torch needs PyTorch, which is not a chainrule dependency: "
                          "pip install torch (https://pytorch.org/get-started/locally/)") from None

    class Residual(torch.nn.Module):
        """out = shortcut(x) + b block(x); b = Bernoulli(survival_prob) / survival_prob in training
        (per row or once per batch), 1 in evaluation (chainrule's Residual)."""

        def __init__(self, block, shortcut, survival_prob: float, mode: str):
            super().__init__()
            self.block = block
            if shortcut is not None:
                self.shortcut = shortcut
            self.survival_prob, self.mode = float(survival_prob), mode

        def forward(self, x):
            s = self.shortcut(x) if hasattr(self, "shortcut") else x
            p = self.survival_prob
            if not self.training or p >= 1.0:
                return s + self.block(x)
            if self.mode == "batch":
                return s + self.block(x) / p if torch.rand(()) < p else s
            keep = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(p)
            return s + self.block(x) * keep.div_(p)

        def extra_repr(self):
            return f"survival_prob={self.survival_prob}, mode={self.mode!r}"

    def build(spec):
        kind, config = spec.get("type"), spec.get("config", {})
        if kind == "Sequential":
            return torch.nn.Sequential(*[build(s) for s in config.get("modules", [])])
        if kind == "Residual":
            shortcut = config.get("shortcut")
            return Residual(build(config["block"]), None if shortcut is None else build(shortcut),
                            config.get("survival_prob", 1.0), config.get("mode", "row"))
        made = [getattr(torch.nn, c.name)(*c.args, **c.kwargs) for c in calls(spec)]
        return made[0] if len(made) == 1 else torch.nn.Sequential(*made)

    net = build(spec)
    floats = [np.asarray(v).dtype for v in state.values() if np.asarray(v).dtype.kind == "f"]
    if floats and floats[0] == np.float64:
        net = net.double()                    # load_state_dict would cast float64 weights silently
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=True)
    return net.eval()


__all__ = ["to_torch", "TORCH_CONTAINERS", "Call", "calls", "convertible"]
