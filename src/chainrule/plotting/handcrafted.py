"""The picture of ``chainrule demo handcrafted``: what a hand-crafted feature sees (the HOG cells
of one image: one histogram of gradient orientations per cell) beside the test accuracies of
hand-crafted and learned features on the same split."""
from __future__ import annotations

import math

import numpy as np

from . import _finish, new_figure

__all__ = ["plot_handcrafted"]

KIND_COLOURS = {"hand-crafted": "#ff7f0e", "none": "#7f7f7f", "learned": "#1f77b4"}


def accuracy_axis(accuracies) -> tuple[float, float]:
    """The bars' axis: from a multiple of 0.05 at least 0.03 below the lowest accuracy, to 1."""
    low = min(accuracies, default=0.0)
    return max(0.0, math.floor((low - 0.03) / 0.05) * 0.05), 1.0


def plot_handcrafted(image, results, path=None, *, orientations: int = 9, pixels_per_cell=(4, 4),
                     resize_to=None, title: str | None = None):
    """Three panels: ``image`` with its HOG cell grid, the HOG cells (scikit-image's rendering:
    in each cell a star of lines, one per orientation bin, as bright as the bin), and one bar per
    method of ``results``, coloured by the kind of features.

    Parameters
    ----------
    image : array_like
        One image, (H, W) or (H, W, 3).
    results : list of dict
        One per method: 'method' (its name), 'features' ('hand-crafted', 'none' or 'learned')
        and 'test_accuracy'.
    path : str or path-like, optional
        Where to write the picture as a PNG (atomically); None: not written.
    orientations : int, default 9
        HOG's orientation bins per cell.
    pixels_per_cell : tuple of int, default (4, 4)
        HOG's cell size, as the demo's ``HOGFeatures``.
    resize_to : tuple of int, optional
        Resize the image first, as ``HOGFeatures`` does (the 8 x 8 digits go to 24 x 24).
    title : str, optional
        The title over the panels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without pyplot: no display needed).
    """
    from skimage.feature import hog

    img = np.asarray(image, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"plot_handcrafted expected one image (H, W) or (H, W, 3); got shape {img.shape}")
    peak = img.max() if img.max() > 0 else 1.0
    img = img / peak
    if resize_to is not None:
        from skimage.transform import resize
        img = resize(img, tuple(resize_to) + img.shape[2:], order=1, anti_aliasing=False)
    _, cells = hog(img, orientations=orientations, pixels_per_cell=tuple(pixels_per_cell), cells_per_block=(1, 1),
                   visualize=True, channel_axis=-1 if img.ndim == 3 else None)
    fig = new_figure(13, 4.2)
    ax_img, ax_hog, ax_bar = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.9]})
    ax_img.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    ax_hog.imshow(cells, cmap="magma", interpolation="nearest")
    h, w = img.shape[:2]
    for ax in (ax_img, ax_hog):
        for y in np.arange(pixels_per_cell[0], h, pixels_per_cell[0]) - 0.5:
            ax.axhline(y, color="#2ca02c", linewidth=0.6)
        for x in np.arange(pixels_per_cell[1], w, pixels_per_cell[1]) - 0.5:
            ax.axvline(x, color="#2ca02c", linewidth=0.6)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_img.set_title(f"one test image ({h} x {w})\nHOG cells of {pixels_per_cell[0]} x {pixels_per_cell[1]}",
                     fontsize=9)
    ax_hog.set_title(f"its HOG\n{orientations} orientation bins per cell", fontsize=9)
    names = [r["method"] for r in results]
    acc = [r["test_accuracy"] for r in results]
    y = np.arange(len(results))[::-1]
    ax_bar.barh(y, acc, color=[KIND_COLOURS.get(r["features"], "#7f7f7f") for r in results])
    for yi, a in zip(y, acc):       # inside the bar's end: the axis stops at 1, where accuracy does
        ax_bar.text(a, yi, f"{a:.3f} ", va="center", ha="right", fontsize=8, color="white", fontweight="bold")
    ax_bar.set_yticks(y, names, fontsize=8)
    ax_bar.set(xlim=accuracy_axis(acc), xlabel="test accuracy", title="test accuracy on the same split")
    from matplotlib.patches import Patch
    ax_bar.legend(handles=[Patch(color=c, label=f"features: {k}") for k, c in KIND_COLOURS.items()],
                  fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title or "hand-crafted (HOG) against learned features")
    return _finish(fig, path)
