"""Networks as ONNX nodes, one table row per layer type.

A network is read through what it says of itself: ``Module.spec()`` (type and config, children
included) and ``Module.state_dict()`` (its tensors under PyTorch's names). Each row of ``LAYERS``
turns one layer's spec into nodes: ``row(graph, config, state, prefix, x) -> output name``, where
``state[prefix + "weight"]`` is that layer's weight. A new layer type is exported by adding its
row here; nothing else changes.

Evaluation form: dropout is the identity and batch norm uses its running statistics, as
chainrule's ``model.eval()`` computes them.
"""
from __future__ import annotations

import numpy as np


def _linear(g, config, state, prefix, x):
    """s = x W^T + b: Gemm(x, W, b, transB=1) (MatMul with W^T when there is no bias)."""
    w = g.const(state[prefix + "weight"], f"{prefix}weight")
    if config.get("bias", True):
        return g.node("Gemm", [x, w, g.const(state[prefix + "bias"], f"{prefix}bias")], f"{prefix}linear", transB=1)
    wt = g.const(np.ascontiguousarray(state[prefix + "weight"].T), f"{prefix}weight_t")
    return g.node("MatMul", [x, wt], f"{prefix}linear")


def _batchnorm(g, config, state, prefix, x):
    """y = gamma (x - running_mean) / sqrt(running_var + eps) + beta: BatchNormalization in
    inference mode (inputs (N, C) or (N, C, H, W))."""
    names = [g.const(state[prefix + k], prefix + k) for k in ("weight", "bias", "running_mean", "running_var")]
    return g.node("BatchNormalization", [x, *names], f"{prefix}batchnorm", epsilon=float(config.get("eps", 1e-5)))


def _identity(g, config, state, prefix, x):
    """Dropout (evaluation mode) and Identity: no node at all."""
    return x


def _unary(op, **attributes):
    def row(g, config, state, prefix, x):
        return g.node(op, [x], f"{prefix}{op.lower()}", **attributes)
    row.__doc__ = f"One {op} node."
    return row


def _leaky_relu(g, config, state, prefix, x):
    return g.node("LeakyRelu", [x], f"{prefix}leaky_relu", alpha=float(config.get("negative_slope", 0.01)))


def _sequential(g, config, state, prefix, x):
    """The children in order, child i's tensors under ``<prefix>i.``."""
    for i, spec in enumerate(config["modules"]):
        x = emit(g, spec, state, x, f"{prefix}{i}.")
    return x


def _todo(kind: str):
    """A layer type whose ONNX row is not written yet (issue 10's convolutional networks)."""
    def row(g, config, state, prefix, x):
        raise NotImplementedError(
            f"ONNX export of {kind} is not written yet (TODO: its row in chainrule.export.layers.LAYERS, "
            "for the CNNs of issue 10); chainrule exports linear layers, activations, dropout and batch norm")
    row.todo = True
    return row


LAYERS = {
    "Sequential": _sequential,
    "Linear": _linear,
    "BatchNorm1d": _batchnorm,
    "BatchNorm2d": _batchnorm,
    "Dropout": _identity,
    "Identity": _identity,
    "ReLU": _unary("Relu"),
    "LeakyReLU": _leaky_relu,
    "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"),
    "Softmax": _unary("Softmax", axis=-1),
    # TODO(issue 10, CNNs): Conv2d -> Conv (weights (out, in, kh, kw) as PyTorch's, pads, strides),
    # MaxPool2d -> MaxPool, AvgPool2d -> AveragePool, Flatten -> Flatten(axis=1), residual blocks ->
    # their branches and an Add. Each replaces its _todo row below.
    "Conv2d": _todo("Conv2d"),
    "MaxPool2d": _todo("MaxPool2d"),
    "AvgPool2d": _todo("AvgPool2d"),
    "Flatten": _todo("the Flatten layer"),
    "Residual": _todo("Residual blocks"),
}


def emit(g, spec: dict, state: dict, x: str, prefix: str = "") -> str:
    """Nodes computing the module that ``spec`` describes on tensor ``x``; returns the output's name."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    row = LAYERS.get(kind)
    if row is None:
        raise NotImplementedError(f"chainrule cannot export a {kind} layer to ONNX; layers with an export: "
                                  f"{', '.join(k for k, r in LAYERS.items() if not getattr(r, 'todo', False))}")
    return row(g, spec.get("config", {}), state, prefix, x)
