"""Pictures the notes show: loss and accuracy curves, confusion matrices, the class templates of a
linear classifier, decision boundaries, galleries of mistakes, and polynomial fits.

Every function returns a matplotlib ``Figure`` (built without pyplot, so no display is needed)
and, given ``path``, writes it as a PNG atomically.
"""
from __future__ import annotations

import math

import numpy as np

from ..io.atomic import atomic_open

__all__ = ["new_figure", "save_png", "plot_curves", "plot_confusion", "plot_templates", "plot_boundary",
           "plot_mistakes", "plot_polynomial_fits", "plot_filters", "plot_feature_maps", "plot_handcrafted",
           "show"]

BACKGROUND = "white"


def new_figure(width, height):
    """An empty Figure, built without pyplot so that no display (and no global state) is needed.

    Parameters
    ----------
    width, height : float
        The size in inches (at 100 dots per inch).

    Returns
    -------
    matplotlib.figure.Figure
        White, with constrained layout.
    """
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, facecolor=BACKGROUND, layout="constrained")


def save_png(fig, path) -> None:
    """Write ``fig`` as a PNG, atomically: an interrupted run never leaves half a picture.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write.
    path : str or path-like
        The file; replaced only once the whole PNG is written.
    """
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", facecolor=BACKGROUND)


def _finish(fig, path):
    if path is not None:
        save_png(fig, path)
    return fig


def _panels(n, max_cols, width, height, margin=(0.0, 0.0), **subplots):
    """A new figure of ``n`` panels, at most ``max_cols`` to a row, each ``width`` x ``height`` inches
    (plus ``margin``, inches across and down): ``(figure, its axes as a flat array)``."""
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig = new_figure(width * cols + margin[0], height * rows + margin[1])
    return fig, fig.subplots(rows, cols, squeeze=False, **subplots).ravel()


def plot_confusion(cm, class_names, path=None, title: str = "confusion matrix (test set)"):
    """Counts of true class (rows) against predicted class (columns), each count written in its cell.

    The title ends with the accuracy (the diagonal's share of all counts), so the picture says
    how good the model is as well as which classes it confuses.

    Parameters
    ----------
    cm : array_like of int, shape (C, C)
        The confusion matrix (``training.metrics.confusion_matrix``).
    class_names : sequence
        The C class names, in label order.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, default "confusion matrix (test set)"
        The title's first line.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    cm = np.asarray(cm)
    n = cm.shape[0]
    total = int(cm.sum())
    if total:
        correct = int(np.trace(cm))
        title = f"{title}\naccuracy {correct / total:.2%} ({correct:,} of {total:,})"
    size = max(4.0, 0.55 * n + 2)
    fig = new_figure(size + 1, size)
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8, label="number of samples (true class, predicted class)")
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


def plot_templates(W, image_shape, class_names, path=None, title="class templates: the rows of W as images"):
    """Each class's row w_j of a linear classifier shown as an image (the notes' templates).

    All templates share one symmetric scale, -max|W| to +max|W|, so that a weight's colour says
    its sign and size and the colour bar reads for every panel: grey images in a diverging map
    (red: positive, the class likes bright pixels there; blue: negative; white: 0); colour images
    show each channel on that scale around mid-grey (0), with a grey colour bar. Rows are
    flattened in (H, W, C) order.

    Parameters
    ----------
    W : array_like, shape (C, D)
        The weights, one row per class (D = the product of ``image_shape``).
    image_shape : tuple of int
        (H, W) for grey images, (H, W, channels) for colour ones.
    class_names : sequence
        The C class names, in row order.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, optional
        The title's first line.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    fig, axes = _panels(n, 5, 2.0, 2.2, margin=(1.0, 0.3))
    grey = len(image_shape) == 2
    bound = float(np.abs(W).max()) or 1.0
    norm = Normalize(-bound, bound)
    cmap = "RdBu_r" if grey else "gray"
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < n:
            img = W[j].reshape(image_shape)
            if grey:
                ax.imshow(img, cmap=cmap, norm=norm, interpolation="nearest")
            else:
                ax.imshow(np.clip(0.5 + img / (2 * bound), 0, 1), interpolation="nearest")
            ax.set_title(str(class_names[j]))
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.tolist(), shrink=0.85, pad=0.02)
    bar.set_label("weight (0: white)" if grey else "weight of each channel (mid-grey: 0)")
    fig.suptitle(title + ("\nred: a bright pixel there raises the class's score; blue: lowers it" if grey
                          else "\nbrighter than grey: a bright channel there raises the class's score"))
    return _finish(fig, path)


PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def plot_boundary(predict, X, y, class_names, path=None, title="decision boundary", ax=None, resolution=250,
                  margin=0.5, X_test=None, y_test=None, axis_names=("x1", "x2")):
    """Decision regions of ``predict`` (a function of (N, 2) points) with the data points on top.

    ``X, y`` are the training points (filled circles); ``X_test, y_test``, if given, the test
    points (triangles with a black edge), so that a reader sees which points the model was fitted
    on. Colour is the class, marker the set; the legend keys both. The regions are ``predict``
    evaluated on a ``resolution`` by ``resolution`` grid over the points' range.

    Parameters
    ----------
    predict : callable
        Maps (N, 2) points to N class indices in 0..C-1 (e.g. an estimator's ``predict``).
    X : array_like, shape (N, 2)
        The training points.
    y : array_like of int, shape (N,)
        Their classes.
    class_names : sequence
        The C class names, in label order.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    title : str, default "decision boundary"
        The panel's title.
    ax : matplotlib.axes.Axes, optional
        Draw into this panel instead of a new figure (``path`` is then ignored).
    resolution : int, default 250
        Grid points along each axis.
    margin : float, default 0.5
        How far the grid extends beyond the points, in data units.
    X_test : array_like, shape (M, 2), optional
        Test points, drawn as triangles.
    y_test : array_like of int, shape (M,), optional
        Their classes (needed with ``X_test``).
    axis_names : tuple of str, default ("x1", "x2")
        The axes' labels (e.g. ("x1'", "x2'") for a transformed space).

    Returns
    -------
    matplotlib.figure.Figure or matplotlib.axes.Axes
        A new figure, or ``ax`` when one was given.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    sets = [(X, y, "training", dict(marker="o", s=16, edgecolor="none", alpha=0.7))]
    if X_test is not None:
        sets.append((np.asarray(X_test, dtype=np.float64), np.asarray(y_test), "test",
                     dict(marker="^", s=26, edgecolor="k", linewidth=0.6)))
    fig = None
    if ax is None:
        fig = new_figure(6, 5.5)
        ax = fig.subplots()
    points = np.concatenate([P for P, _, _, _ in sets])
    lo, hi = points.min(axis=0) - margin, points.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    zz = np.asarray(predict(grid)).reshape(gx.shape)
    n_classes = len(class_names)
    colour = lambda c: PALETTE[c % len(PALETTE)]  # noqa: E731
    cmap = ListedColormap([colour(c) for c in range(max(n_classes, 2))])
    ax.contourf(gx, gy, zz, levels=np.arange(-0.5, n_classes), cmap=cmap, alpha=0.25)
    for P, labels, name, style in sets:
        for c in range(n_classes):
            mask = labels == c
            ax.scatter(P[mask, 0], P[mask, 1], color=colour(c), label=f"{class_names[c]} ({name})", **style)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), title=title, xlabel=axis_names[0], ylabel=axis_names[1])
    handles = [Patch(color=colour(c), alpha=0.7, label=str(class_names[c])) for c in range(n_classes)]
    if len(sets) > 1:
        handles += [Line2D([], [], linestyle="", color="#777777", markeredgecolor=style.get("edgecolor", "none"),
                           marker=style["marker"], markersize=6, label=f"{name} points")
                    for _, _, name, style in sets]
    ax.legend(handles=handles, loc="best", fontsize=8)
    if fig is not None:
        return _finish(fig, path)
    return ax


def plot_mistakes(images, y_true, y_pred, class_names, path=None, max_images: int = 24, pixel_max: float = 255):
    """A gallery of misclassified test images, each titled 'predicted (true)'.

    Looking at the mistakes shows what a model gets wrong (sloppy digits, confusable classes)
    better than the error rate does; the title gives the number of mistakes in all.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 3)
        The test images, grey or colour.
    y_true : array_like of int, shape (N,)
        The true classes.
    y_pred : array_like of int, shape (N,)
        The predicted classes.
    class_names : sequence
        The class names, in label order.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    max_images : int, default 24
        At most this many mistakes are shown (the first ones).
    pixel_max : float, default 255
        The pixel value shown as white (1 for images scaled to [0, 1]).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    images = np.asarray(images)
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:max_images]
    fig, axes = _panels(max(len(wrong), 1), 8, 1.6, 1.9, margin=(0.0, 0.4))
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
    r"""One panel per polynomial order (three to a row): training points, test points, the fitted
    curve, and in each panel's title the training and test mean squared errors of that fit; one
    legend for all panels, below them, where it covers no curve.

    Together the panels show under- and over-fitting: the training error falls with the order
    while the test error falls, then rises. Each error is

    .. math:: \mathrm{MSE} = \frac{1}{N} \sum_{i=1}^{N} (f(x_i) - y_i)^2 .

    Parameters
    ----------
    x_train, y_train : array_like, shape (N,)
        The training points.
    x_test, y_test : array_like, shape (M,)
        The test points.
    fits : dict
        Polynomial order -> a fitted function taking (K, 1) inputs (e.g. a fitted model's
        ``predict``); one panel each, in the dict's order.
    truth : callable, optional
        The true function of a 1-D array, drawn dashed.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    orders = list(fits)
    fig, axes = _panels(len(orders), 3, 3.6, 3.0, margin=(0.0, 1.0), sharey=True)
    x_train, x_test = np.ravel(x_train), np.ravel(x_test)
    y_train, y_test = np.ravel(y_train), np.ravel(y_test)
    lo, hi = min(x_train.min(), x_test.min()), max(x_train.max(), x_test.max())
    grid = np.linspace(lo, hi, 400)
    span = np.ptp(np.concatenate([y_train, y_test]))
    ylim = (min(y_train.min(), y_test.min()) - 0.3 * span, max(y_train.max(), y_test.max()) + 0.3 * span)
    mse = lambda f, x, t: float(np.mean((np.ravel(f(x[:, None])) - t) ** 2))  # noqa: E731
    for ax, order in zip(axes, orders):
        fit = fits[order]
        ax.scatter(x_test, y_test, s=6, color="#bbbbbb", label="test points")
        ax.scatter(x_train, y_train, s=22, color="#1f77b4", edgecolor="k", linewidth=0.3, label="training points")
        if truth is not None:
            ax.plot(grid, truth(grid), "--", color="#2ca02c", linewidth=1, label="true function")
        ax.plot(grid, np.ravel(fit(grid[:, None])), color="#d62728", linewidth=1.8, label="the fitted polynomial")
        ax.set_title(f"order {order}\ntraining MSE {mse(fit, x_train, y_train):.3g}, "
                     f"test MSE {mse(fit, x_test, y_test):.3g}", fontsize=9)
        ax.set(ylim=ylim, xlabel="x", ylabel="y")
        ax.yaxis.set_tick_params(labelleft=True)
    for ax in axes[len(orders):]:
        ax.set_axis_off()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle("under- and over-fitting: polynomial models of increasing order\n"
                 "(MSE: mean squared error of the fit on the training and the test points)", fontsize=11)
    return _finish(fig, path)


from .convnets import plot_feature_maps, plot_filters  # noqa: E402 (they use the helpers above)
from .curves import plot_curves  # noqa: E402
from .handcrafted import plot_handcrafted  # noqa: E402
from .display import show  # noqa: E402
