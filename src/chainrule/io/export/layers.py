"""Networks as ONNX nodes, one table row per layer type.

A network is read through what it says of itself: ``Module.spec()`` (type and config, children
included) and ``Module.state_dict()`` (its tensors under PyTorch's names). Each row of ``LAYERS``
turns one layer's spec into nodes: ``row(graph, config, state, prefix, x) -> output name``, where
``state[prefix + "weight"]`` is that layer's weight. A new layer type is exported by adding its
row here; nothing else changes.

Evaluation form, as chainrule's ``model.eval()`` computes it: dropout is the identity, batch
norm (1d and 2d) uses its running statistics, and a residual block with stochastic depth is
shortcut(x) + block(x). Image layers take (N, C, H, W), PyTorch's layout, which is ONNX's too.
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


def _conv2d(g, config, state, prefix, x):
    """y = W * x + b (cross-correlation, PyTorch's layout (out, in, kh, kw)): one Conv node with
    symmetric zero padding ``pads = [ph, pw, ph, pw]`` and the layer's strides."""
    kh, kw = (int(v) for v in config["kernel_size"])
    sh, sw = (int(v) for v in config.get("stride", (1, 1)))
    ph, pw = (int(v) for v in config.get("padding", (0, 0)))
    inputs = [x, g.const(state[prefix + "weight"], f"{prefix}weight")]
    if config.get("bias", True):
        inputs.append(g.const(state[prefix + "bias"], f"{prefix}bias"))
    return g.node("Conv", inputs, f"{prefix}conv", kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw],
                  dilations=[1, 1], group=1)


def _pool(op):
    def row(g, config, state, prefix, x):
        kernel = [int(v) for v in config["kernel_size"]]
        stride = [int(v) for v in config.get("stride") or kernel]
        return g.node(op, [x], f"{prefix}{op.lower()}", kernel_shape=kernel, strides=stride, pads=[0, 0, 0, 0],
                      ceil_mode=0)
    row.__doc__ = (f"One {op} node: windows kernel_size moved by stride, no padding, floor mode "
                   "(H_out = floor((H - kh) / s) + 1), as chainrule's and PyTorch's pooling.")
    return row


def _global_avgpool(g, config, state, prefix, x):
    """y[n, c] = mean over H and W: GlobalAveragePool gives (N, C, 1, 1), Flatten(axis=1) (N, C)."""
    pooled = g.node("GlobalAveragePool", [x], f"{prefix}global_avgpool")
    return g.node("Flatten", [pooled], f"{prefix}global_avgpool_flat", axis=1)


def _flatten(g, config, state, prefix, x):
    """(N, C, H, W) -> (N, C H W) in (channel, row, column) order: Flatten(axis=1)."""
    return g.node("Flatten", [x], f"{prefix}flatten", axis=1)


def _residual(g, config, state, prefix, x):
    """Evaluation form of stochastic depth: out = shortcut(x) + block(x) (the mask's expectation
    is 1, the kept branch being divided by survival_prob in training): the two branches and an
    Add. The shortcut is the identity when the config has none, else its own module (a 1 x 1
    Conv2d and a BatchNorm2d in the ResNet), its tensors under ``<prefix>shortcut.``."""
    f = emit(g, config["block"], state, x, f"{prefix}block.")
    s = x if config.get("shortcut") is None else emit(g, config["shortcut"], state, x, f"{prefix}shortcut.")
    return g.node("Add", [s, f], f"{prefix}residual")


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
    "Conv2d": _conv2d,
    "MaxPool2d": _pool("MaxPool"),
    "AvgPool2d": _pool("AveragePool"),
    "GlobalAvgPool2d": _global_avgpool,
    "Flatten": _flatten,
    "Residual": _residual,
}


def emit(g, spec: dict, state: dict, x: str, prefix: str = "") -> str:
    """Nodes computing the module that ``spec`` describes on tensor ``x``; returns the output's name."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    row = LAYERS.get(kind)
    if row is None:
        raise NotImplementedError(f"chainrule cannot export a {kind} layer to ONNX; layers with an export: "
                                  f"{', '.join(LAYERS)}")
    return row(g, spec.get("config", {}), state, prefix, x)
