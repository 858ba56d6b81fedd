"""The picture of a sweep: the mean cross-validated score against each hyperparameter (every
candidate a dot with its spread over the folds, the best score at each value joined by a line),
and, for a grid over exactly two hyperparameters, a heat map of the mean score."""
from __future__ import annotations

import numpy as np

from ..plotting import new_figure, save_png
from .table import python


def _varying(candidates) -> list[str]:
    names = sorted({k for c in candidates for k in c})
    return [n for n in names if len({repr(c.get(n)) for c in candidates}) > 1]


def axis_name(name: str) -> str:
    """A hyperparameter as the user typed it: 'alpha' for a Pipeline's 'model__alpha'."""
    return name.removeprefix("model__")


def label(value) -> str:
    """A value as the user would type it: 'relu', '(64,)', '0.001' (never 'np.float64(0.001)')."""
    return value if isinstance(value, str) else repr(python(value))


def categories(values) -> list:
    """The distinct values, in their natural order ((64,) before (128,), 0.001 before 0.01), or in
    order of first appearance when they cannot be compared (None among numbers, mixed types). Every
    panel of the picture orders a hyperparameter's values this way."""
    distinct = list({label(v): v for v in values}.values())
    try:
        return sorted(distinct, key=lambda v: python(v))
    except TypeError:
        return distinct


def _positions(values):
    """(x positions, tick labels or None, log scale?) of one hyperparameter's values."""
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)
    if numeric:
        arr = np.asarray(values, dtype=float)
        positive = arr[arr > 0]
        log = bool(positive.size == arr.size and positive.max() / positive.min() >= 10)
        return arr, None, log
    labels = [label(v) for v in categories(values)]
    index = {text: i for i, text in enumerate(labels)}
    return np.array([index[label(v)] for v in values], float), labels, False


def _heat_map(fig, ax, table, candidates, names):
    a, b = names
    ya = [label(v) for v in categories([c[a] for c in candidates])]
    xb = [label(v) for v in categories([c[b] for c in candidates])]
    grid = np.full((len(ya), len(xb)), np.nan)
    for i, c in enumerate(candidates):
        grid[ya.index(label(c[a])), xb.index(label(c[b]))] = table["mean_test_score"][i]
    im = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    fig.colorbar(im, ax=ax, shrink=0.85, label="mean test score")
    ax.set_xticks(range(len(xb)), xb, rotation=30 if max(map(len, xb)) > 6 else 0)
    ax.set_yticks(range(len(ya)), ya)
    ax.set(xlabel=axis_name(b), ylabel=axis_name(a), title="mean test score")
    finite = grid[np.isfinite(grid)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0
    best = table["best_index"]
    for i in range(len(ya)):
        for j in range(len(xb)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=8,
                        color="black" if grid[i, j] > middle else "white")
    bi, bj = ya.index(label(candidates[best][a])), xb.index(label(candidates[best][b]))
    ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
        (bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))


def plot_sweep(table: dict, candidates: list, search: str, path=None, title: str | None = None):
    """The picture of a sweep: the score against each swept hyperparameter.

    One panel per swept hyperparameter (every candidate's mean and standard deviation over the
    folds, the best at each value, the best candidate starred), plus a heat map when a grid sweeps
    exactly two.

    Parameters
    ----------
    table : dict
        The results table (``mean_test_score``, ``std_test_score``, ``best_index``).
    candidates : list of dict
        Every candidate's hyperparameters.
    search : {"grid", "random"}
        How the candidates were chosen.
    path : str or os.PathLike, optional
        Write the figure there as a PNG, atomically.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = _varying(candidates) or sorted({k for c in candidates for k in c})[:1]
    means, stds = table["mean_test_score"], table["std_test_score"]
    heat = search == "grid" and len(names) == 2 and len(candidates) == (
        len({repr(c[names[0]]) for c in candidates}) * len({repr(c[names[1]]) for c in candidates}))
    panels = len(names) + heat
    fig = new_figure(4.2 * panels + 0.6, 3.8)
    axes = np.atleast_1d(fig.subplots(1, panels))
    best = table["best_index"]
    for ax, name in zip(axes, names):
        values = [c.get(name) for c in candidates]
        x, labels, log = _positions(values)
        ax.errorbar(x, means, yerr=stds, fmt="o", color="#1f77b4", alpha=0.55, capsize=3,
                    label="candidate (mean ± std over folds)")
        order = np.unique(x)
        top = [np.nanmax(np.where(x == v, means, np.nan)) if np.isfinite(means[x == v]).any() else np.nan
               for v in order]
        ax.plot(order, top, "-", color="#1f77b4", label="best at this value")
        ax.plot([x[best]], [means[best]], "*", color="#d62728", markersize=14, label="best candidate")
        if log:
            ax.set_xscale("log")
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels)) > 6 else 0)
        ax.set(xlabel=axis_name(name), ylabel="mean test score", title=f"score against {axis_name(name)}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="best")
    if heat:
        _heat_map(fig, axes[-1], table, candidates, names)
    if title:
        fig.suptitle(title)
    if path is not None:
        save_png(fig, path)
    return fig
