"""Networks as ONNX nodes. Each layer type declares its own nodes next to its kernels
(``Module.onnx_nodes``: ``Linear`` -> Gemm, ``Conv2d`` -> Conv...); ``emit`` finds them through
``registry.LAYERS`` and runs a ``Sequential``'s children in order, child i's tensors under
``<prefix>i.``.

A network is read through what it says of itself: ``Module.spec()`` (type and config, children
included) and ``Module.state_dict()`` (its tensors under PyTorch's names), in evaluation form, as
chainrule's ``model.eval()`` computes it: dropout is the identity, batch norm uses its running
statistics, a residual block with stochastic depth is shortcut(x) + block(x). Image layers take
(N, C, H, W), PyTorch's layout, which is ONNX's too.
"""
from __future__ import annotations

from ... import registry
from ...core.module import Module


def exportable() -> list:
    """The layer types with an ONNX form: ``Sequential`` and every registered type that declares one."""
    return ["Sequential"] + [name for name, cls in registry.LAYERS.items() if cls.onnx_nodes is not Module.onnx_nodes]


def emit(g, spec: dict, state: dict, x: str, prefix: str = "") -> str:
    """Nodes computing the module that ``spec`` describes on tensor ``x``; returns the output's name."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    config = spec.get("config", {}) if isinstance(spec, dict) else {}
    if kind == "Sequential":
        for i, child in enumerate(config["modules"]):
            x = emit(g, child, state, x, f"{prefix}{i}.")
        return x
    if kind not in exportable():
        raise NotImplementedError(f"chainrule cannot export a {kind} layer to ONNX; layers with an export: "
                                  f"{', '.join(exportable())}")
    return registry.LAYERS[kind].onnx_nodes(g, config, state, prefix, x)
