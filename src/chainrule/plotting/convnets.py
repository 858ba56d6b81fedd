"""Pictures of a convolutional network: the first layer's filters (the notes' "low-level features
(edge, corner points)") and the feature maps of one image at each stage.

Both return a matplotlib ``Figure`` built without pyplot and, given ``path``, write it as a PNG
atomically (the conventions of ``chainrule.plotting``).
"""
from __future__ import annotations

import math

import numpy as np

from . import _finish, _panels, new_figure

__all__ = ["plot_filters", "plot_feature_maps"]

FILTER_CMAP = "RdBu_r"        # diverging: negative weights blue, positive red, zero white
MAP_CMAP = "viridis"


def _first_conv(model):
    from ..layers import Conv2d
    for m in model.modules():
        if isinstance(m, Conv2d):
            return m
    raise ValueError("model has no Conv2d layer: filters and feature maps are pictures of convolutional networks")


def _network(model):
    """The Sequential of an estimator (``model_``), of a Pipeline ending in one, or the network itself."""
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    return getattr(model, "model_", model)


def plot_filters(model_or_weight, path=None, title: str | None = None, max_filters: int = 64):
    """The first convolution's filters, one tile each, on one symmetric colour scale with a colour bar.

    A filter over C > 1 input channels shows its C kernels side by side in its tile. The scale is
    [-m, m] with m the largest absolute weight shown, so white is zero and the sign of each weight reads
    the same in every tile.

    Parameters
    ----------
    model_or_weight : Module, estimator or ndarray
        A network, a fitted ``CNNClassifier`` (or a Pipeline ending in one), or a weight array
        of shape (O, C, kh, kw).
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, optional
        The title; by default it says how many filters of which size are shown.
    max_filters : int, default 64
        Show at most this many filters (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    W = model_or_weight if isinstance(model_or_weight, np.ndarray) else _first_conv(_network(model_or_weight)).weight.value
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 4:
        raise ValueError(f"plot_filters expected a weight of shape (out, in, kh, kw); got shape {W.shape}")
    O, C, kh, kw = W.shape
    n = min(O, max_filters)
    m = float(np.abs(W[:n]).max()) or 1.0
    fig, axes = _panels(n, 8, 1.1 * max(1, C * 0.7), 1.25, margin=(1.0, 0.8))
    image = None
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= n:
            continue
        tile = np.full((kh, C * (kw + 1) - 1), np.nan)     # channels side by side, a blank column between
        for c in range(C):
            tile[:, c * (kw + 1):c * (kw + 1) + kw] = W[k, c]
        image = ax.imshow(tile, cmap=FILTER_CMAP, vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(f"filter {k}", fontsize=8)
    fig.colorbar(image, ax=axes.tolist(), shrink=0.8, label="weight")
    channels = "" if C == 1 else f" (each shows its {C} input channels side by side)"
    fig.suptitle(title or f"first convolution: {n} of {O} filters {kh} x {kw}{channels}")
    return _finish(fig, path)


def _layer_name(layer) -> str:
    """A layer as a row label names it: its class, and a convolution's kernel size."""
    name = type(layer).__name__
    kernel = getattr(layer, "kernel_size", None)
    if name == "Conv2d" and kernel is not None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        name += f" {kh}x{kw}"
    return name


def stage_label(layers, output_shape) -> str:
    """"Conv2d 3x3 → ReLU → MaxPool2d: 32 maps 14 x 14": the layers since the previous row, a run
    of one layer or of a pair counted ("(Residual → ReLU) ×3"), and what comes out of them."""
    names = [_layer_name(layer) for layer in layers]
    parts, i = [], 0
    while i < len(names):
        best = (1, 1)                                  # (unit length, repeats)
        for unit in (1, 2):
            k = 1
            while names[i + k * unit:i + (k + 1) * unit] == names[i:i + unit]:
                k += 1
            if k > 1 and k * unit > best[0] * best[1]:
                best = (unit, k)
        unit, k = best
        text = " → ".join(names[i:i + unit])
        parts.append(text if k == 1 else (f"{text} ×{k}" if unit == 1 else f"({text}) ×{k}"))
        i += unit * k
    return f"{' → '.join(parts)}: {output_shape[1]} maps {output_shape[2]} x {output_shape[3]}"


def _stage_outputs(net, image):
    """(index, layer, output) after each top-level layer, in evaluation mode."""
    from ..layers import AvgPool2d, MaxPool2d
    was_training = getattr(net, "training", False)
    net.eval()
    try:
        x, outs = image, []
        for i, layer in enumerate(net):
            x = layer.forward(x)
            outs.append((i, layer, x))
    finally:
        if was_training:
            net.train()
    chosen = []
    for k, (i, layer, y) in enumerate(outs):
        if y.ndim != 4:
            continue
        nxt = outs[k + 1][2] if k + 1 < len(outs) else None
        last_at_size = nxt is None or nxt.ndim != 4 or nxt.shape[2:] != y.shape[2:]
        if isinstance(layer, (MaxPool2d, AvgPool2d)) or last_at_size:
            chosen.append((i, layer, y))
    return chosen


def plot_feature_maps(model, image, path=None, title: str | None = None, max_maps: int = 12, label=None):
    """One image (top row) and its feature maps after each pooling and at the end of each stage
    (one row each: the first ``max_maps`` channels, each row on its own colour scale with a
    colour bar).

    Parameters
    ----------
    model : Module or estimator
        A network taking (N, C, H, W), or a fitted ``CNNClassifier`` (or a Pipeline ending in one).
    image : array_like
        One image as (H, W), (C, H, W) or the model's flat row.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, optional
        The title over the rows.
    max_maps : int, default 12
        Show at most this many channels per row (the first ones).
    label : object, optional
        What the image is (its class), shown over it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    net = _network(model)
    x = np.asarray(image, dtype=np.float32)
    shape = tuple(getattr(est, "image_shape_", ()) or ())
    if shape and x.size == math.prod(shape):
        x = x.reshape(shape)
    elif x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"plot_feature_maps expected one image (H, W) or (C, H, W); got shape {np.shape(image)}")
    stages = _stage_outputs(net, x[None])
    if not stages:
        raise ValueError("model produces no image-shaped output: no feature maps to show")
    cols = min(max_maps, max(s[2].shape[1] for s in stages))
    fig = new_figure(1.15 * cols + 1.4, 1.3 * (len(stages) + 1) + 0.6)
    grid = fig.subplots(len(stages) + 1, cols, squeeze=False)
    for ax in grid.ravel():
        ax.set_axis_off()
    shown = x[0] if x.shape[0] == 1 else np.clip(np.moveaxis(x, 0, -1), 0, 1)
    grid[0, 0].imshow(shown, cmap="gray" if x.shape[0] == 1 else None, interpolation="nearest")
    grid[0, 0].set_title("input" + ("" if label is None else f" ({label})"), fontsize=8, loc="left")
    previous = -1
    for r, (i, layer, y) in enumerate(stages, start=1):
        maps = y[0, :cols]
        lo, hi = float(maps.min()), float(maps.max())
        image_ = None
        for c in range(maps.shape[0]):
            image_ = grid[r, c].imshow(maps[c], cmap=MAP_CMAP, vmin=lo, vmax=hi if hi > lo else lo + 1,
                                       interpolation="nearest")
        # the label runs over the row's other panels: as the first panel's title it would widen the
        # first column; an empty title keeps the row's room for it
        grid[r, 0].set_title(" ", fontsize=8, loc="left")
        grid[r, 0].text(0, 1.0, stage_label([net[k] for k in range(previous + 1, i + 1)], y.shape), fontsize=8,
                        transform=grid[r, 0].transAxes, ha="left", va="bottom", in_layout=False)
        previous = i
        fig.colorbar(image_, ax=grid[r, :].tolist(), shrink=0.9)
    fig.suptitle(title or "feature maps of one image after each stage (first channels)")
    return _finish(fig, path)
