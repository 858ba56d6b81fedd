"""What the exported graph takes, and how it becomes what the network takes.

A bare network's input shape is read from its first layer where that layer fixes it (a Linear
layer or a BatchNorm1d: (D,)); an image network (Conv2d first) takes (C, H, W) and its H and W
are not in its description, so ``input_shape`` must be given.

An estimator takes raw samples (its fitted sample shape) and turns them into the network's input
in ``_model_input`` (an MLP: the rows as they are; a CNN: images (N, H, W), (N, C, H, W), or
flat rows with ``image_shape``, as (N, C, H, W)). Rather than knowing each estimator's rule, the
exporter asks the estimator itself: it passes one probe sample whose entries are 0, 1, ..., P - 1
through ``_model_input`` and reads where each entry went. An unchanged probe exports nothing; a
reshape exports one Reshape; any other rearrangement (a channels-last to channels-first
transpose) exports Flatten and a Gather with the probe's indices. An input rule that changes
values (not a rearrangement) is refused, by name.
"""
from __future__ import annotations

import warnings

import numpy as np


def module_input_shape(spec):
    """The sample shape a network's first layer fixes ((D,) for Linear or BatchNorm1d), or None."""
    config = spec.get("config", {})
    kind = spec.get("type")
    if kind == "Linear":
        return (int(config["in_features"]),)
    if kind == "BatchNorm1d":
        return (int(config["num_features"]),)
    if kind == "Sequential":
        for child in config.get("modules", []):
            found = module_input_shape(child)
            if found is not None:
                return found
            if child.get("type") not in ("Dropout", "Identity"):
                return None
    return None


def first_image_layer(spec):
    """'Conv2d(in_channels=C)' when the network starts with an image layer (its input is
    (N, C, H, W)), else None: used to say what ``input_shape`` must be."""
    kind, config = spec.get("type"), spec.get("config", {})
    if kind == "Conv2d":
        return f"Conv2d(in_channels={config['in_channels']})"
    if kind == "BatchNorm2d":
        return f"BatchNorm2d(num_features={config['num_features']})"
    if kind in ("Sequential",) and config.get("modules"):
        return first_image_layer(config["modules"][0])
    if kind == "Residual":
        return first_image_layer(config["block"])
    return None


def _probe(est, shape):
    """est._model_input of one sample holding 0 .. P-1 in C order (exact in float32 up to 2^24)."""
    size = int(np.prod(shape))
    probe = np.arange(size, dtype=np.float64).reshape(1, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # no feature names on the probe: not the user's concern
        try:
            out = est._model_input(probe)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"cannot tell how {type(est).__name__} turns a sample of shape {tuple(shape)} into "
                             f"its network's input ({exc}); pass input_shape, the shape of one raw sample") from None
    if hasattr(out, "toarray"):
        out = out.toarray()
    return np.asarray(out)


def network_input(g, est, x: str, shape: tuple):
    """Nodes turning the estimator's input ``x`` (samples of ``shape``) into its network's
    input, as ``est._model_input`` does; returns (tensor, network sample shape)."""
    if not hasattr(est, "_model_input"):
        return x, tuple(shape)
    out = _probe(est, shape)
    size = int(np.prod(shape))
    target = tuple(int(d) for d in out.shape[1:])
    flat = out.reshape(-1)
    if out.shape[0] != 1 or flat.size != size or not np.array_equal(np.sort(flat), np.arange(size)):
        raise NotImplementedError(f"ONNX export of {type(est).__name__}: its input rule (_model_input) changes "
                                  f"values, not only their arrangement (a sample {tuple(shape)} became "
                                  f"{tuple(out.shape[1:])}); chainrule exports reshapes and transposes only")
    if np.array_equal(flat, np.arange(size)):
        if target == tuple(shape):
            return x, target
        new_shape = g.const(np.array([-1, *target], np.int64), "network_input_shape")
        return g.node("Reshape", [x, new_shape], "network_input"), target
    rows = g.node("Flatten", [x], "input_rows", axis=1)
    index = g.const(flat.astype(np.int64).reshape(target), "network_input_index")
    return g.node("Gather", [rows, index], "network_input", axis=1), target
