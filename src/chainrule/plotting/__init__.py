"""Pictures the notes show: loss and accuracy curves, confusion matrices, the class templates of a
linear classifier, decision boundaries, galleries of mistakes, and polynomial fits.

Every function returns a matplotlib ``Figure`` (built without pyplot, so no display is needed)
and, given ``path``, writes it as a PNG atomically.
"""
from __future__ import annotations

import math

import numpy as np

from .._atomic import atomic_open

BACKGROUND = "white"


def new_figure(width, height):
    """An empty Figure (no pyplot, no display needed)."""
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, facecolor=BACKGROUND, layout="constrained")


def save_png(fig, path) -> None:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", facecolor=BACKGROUND)


def _finish(fig, path):
    if path is not None:
        save_png(fig, path)
    return fig


def plot_curves(history, path=None, title: str | None = None):
    """Two panels: training and validation loss per epoch; accuracy (or RMSE) per epoch."""
    fig = new_figure(10, 4)
    ax_loss, ax_metric = fig.subplots(1, 2)
    epochs = [r["epoch"] + 1 for r in history.records]
    ax_loss.plot(epochs, history["loss"], "o-", label="training (data + penalty)", color="#1f77b4")
    if "val_loss" in history.fields():
        ax_loss.plot(epochs, history["val_loss"], "s-", label="validation", color="#d62728")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_loss.legend()
    metric = "accuracy" if "accuracy" in history.fields() else "error"
    ax_metric.plot(epochs, history[metric], "o-", label="training", color="#1f77b4")
    if f"val_{metric}" in history.fields():
        ax_metric.plot(epochs, history[f"val_{metric}"], "s-", label="validation", color="#d62728")
    ax_metric.set(xlabel="epoch", ylabel=metric if metric == "accuracy" else "RMSE", title=metric)
    ax_metric.legend()
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_confusion(cm, class_names, path=None, title: str = "confusion matrix (test set)"):
    """Counts of true class (rows) against predicted class (columns)."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    size = max(4.0, 0.55 * n + 2)
    fig = new_figure(size + 1, size)
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ticks = np.arange(n)
    ax.set_xticks(ticks, [str(c) for c in class_names], rotation=45 if n > 10 or max(map(len, map(str, class_names))) > 3 else 0)
    ax.set_yticks(ticks, [str(c) for c in class_names])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    peak = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > peak / 2 else "black")
    return _finish(fig, path)


def _to_image(row, image_shape):
    img = np.asarray(row, dtype=np.float64).reshape(image_shape)
    lo, hi = img.min(), img.max()
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def plot_templates(W, image_shape, class_names, path=None, title="class templates: the rows of W as images"):
    """Each class's row w_j of a linear classifier shown as an image (the notes' templates).

    Each template is stretched to its own range; for colour images the three channels are shown
    together (rows are flattened in (H, W, C) order).
    """
    W = np.asarray(W)
    n = W.shape[0]
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    fig = new_figure(2.0 * cols, 2.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    grey = len(image_shape) == 2
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < n:
            ax.imshow(_to_image(W[j], image_shape), cmap="gray" if grey else None, interpolation="nearest")
            ax.set_title(str(class_names[j]))
    fig.suptitle(title)
    return _finish(fig, path)


def plot_boundary(predict, X, y, class_names, path=None, title="decision boundary", ax=None, resolution=250,
                  margin=0.5):
    """Decision regions of ``predict`` (a function of (N, 2) points) with the data points on top."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    fig = None
    if ax is None:
        fig = new_figure(6, 5.5)
        ax = fig.subplots()
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    zz = np.asarray(predict(grid)).reshape(gx.shape)
    n_classes = len(class_names)
    from matplotlib.colors import ListedColormap
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    cmap = ListedColormap(palette[:max(n_classes, 2)])
    ax.contourf(gx, gy, zz, levels=np.arange(-0.5, n_classes), cmap=cmap, alpha=0.25)
    for c in range(n_classes):
        mask = y == c
        ax.scatter(X[mask, 0], X[mask, 1], s=18, color=palette[c % len(palette)], edgecolor="k", linewidth=0.3,
                   label=str(class_names[c]))
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), title=title, xlabel="x1", ylabel="x2")
    ax.legend(loc="best", fontsize=8)
    if fig is not None:
        return _finish(fig, path)
    return ax


def plot_mistakes(images, y_true, y_pred, class_names, path=None, max_images: int = 24, pixel_max: float = 255):
    """A gallery of misclassified test images, each titled 'predicted (true)'."""
    images = np.asarray(images)
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:max_images]
    n = max(len(wrong), 1)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig = new_figure(1.6 * cols, 1.9 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    grey = images.ndim == 3
    for ax, i in zip(axes, list(wrong) + [None] * (len(axes) - len(wrong))):
        ax.set_axis_off()
        if i is None:
            continue
        img = np.clip(images[i] / pixel_max, 0, 1)
        ax.imshow(img, cmap="gray" if grey else None, interpolation="nearest")
        ax.set_title(f"{class_names[y_pred[i]]} ({class_names[y_true[i]]})", fontsize=9, color="#d62728")
    if not len(wrong):
        axes[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(f"misclassified test images: predicted (true) - {len(np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred)))} in all")
    return _finish(fig, path)


def plot_polynomial_fits(x_train, y_train, x_test, y_test, fits: dict, truth=None, path=None):
    """One panel per polynomial order: training points, test points, the fitted curve."""
    orders = list(fits)
    cols = min(len(orders), 5)
    rows = math.ceil(len(orders) / cols)
    fig = new_figure(3.2 * cols, 3.0 * rows + 0.3)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True)).ravel()
    x_train, x_test = np.ravel(x_train), np.ravel(x_test)
    lo, hi = min(x_train.min(), x_test.min()), max(x_train.max(), x_test.max())
    grid = np.linspace(lo, hi, 400)
    span = np.ptp(np.concatenate([y_train, y_test]))
    ylim = (min(y_train.min(), y_test.min()) - 0.3 * span, max(y_train.max(), y_test.max()) + 0.3 * span)
    for ax, order in zip(axes, orders):
        ax.scatter(x_test, y_test, s=6, color="#bbbbbb", label="test")
        ax.scatter(x_train, y_train, s=22, color="#1f77b4", edgecolor="k", linewidth=0.3, label="training")
        if truth is not None:
            ax.plot(grid, truth(grid), "--", color="#2ca02c", linewidth=1, label="true function")
        ax.plot(grid, fits[order](grid[:, None]), color="#d62728", linewidth=1.8, label="fit")
        ax.set(title=f"order {order}", ylim=ylim)
    for ax in axes[len(orders):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("under- and over-fitting: polynomial models of increasing order")
    return _finish(fig, path)


from .convnets import plot_feature_maps, plot_filters  # noqa: E402 (they use the helpers above)
from .handcrafted import plot_handcrafted  # noqa: E402
