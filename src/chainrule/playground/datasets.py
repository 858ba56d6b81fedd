"""The playground's data: the notes' toy sets drawn from one seed, split into training and test
points, and the square of the plane (or the interval) the pictures cover.

XOR, the spirals, the Gaussian blobs and the 1-D curve of the under/over-fitting slide come from
``chainrule.datasets``; the concentric circles and the linear set are drawn here. ``noise`` is one
number from 0 to 1 for every set; ``NOISE`` says what it scales in each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets import make_blobs, make_polynomial_curve, make_spirals, make_xor
from ..training import random_split, stratified_split

#: what ``noise`` (0 to 1) becomes in each data set
NOISE = {
    "xor": "the standard deviation of the Gaussian noise around the four XOR corners is noise / 2",
    "circle": "the standard deviation of the Gaussian noise added to each point is noise / (2 classes)",
    "spiral": "the angular noise of the spirals (chainrule.datasets.make_spirals) is noise",
    "gauss": "the standard deviation of each blob is 0.3 + 1.2 noise",
    "linear": "the standard deviation of the Gaussian noise added after labelling is noise / 2",
    "curve": "the standard deviation of the noise on y is 1.25 noise (0.25 at the default 0.2)",
}


@dataclass
class Data:
    """Training and test points and what the pictures cover.

    Parameters
    ----------
    X_train, X_test : ndarray of float64, shape (N, d)
        The raw points (d = 2, or 1 for a curve).
    y_train, y_test : ndarray
        Class indices (int) or real targets (float64).
    task : str
        ``"classification"`` or ``"regression"``.
    n_classes : int
        The number of classes (1 for regression).
    extent : tuple of float
        ``(x_min, x_max, y_min, y_max)``: the square the boundary covers (d = 2), or the x
        interval and the range of the targets (d = 1).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int
    extent: tuple

    @property
    def dims(self) -> int:
        """The number of raw inputs (1 or 2)."""
        return self.X_train.shape[1]


def make_circles(n: int, n_classes: int, noise: float, rng: np.random.Generator):
    """Concentric rings, one per class, class 0 inside; the gaps between rings are as wide as the rings."""
    y = np.arange(n) % n_classes
    r = (y + rng.uniform(0.15, 0.85, n)) / n_classes
    theta = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return X + rng.normal(0, noise / (2 * n_classes), X.shape), y


def make_linear(n: int, n_classes: int, noise: float, rng: np.random.Generator):
    """Points in the square [-1, 1]^2 cut into ``n_classes`` bands by parallel lines (linearly separable
    without noise), the lines' direction drawn from ``rng``."""
    X = rng.uniform(-1, 1, (n, 2))
    angle = rng.uniform(0, np.pi)
    proj = X @ np.array([np.cos(angle), np.sin(angle)])
    edges = np.quantile(proj, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.searchsorted(edges, proj)
    return X + rng.normal(0, noise / 2, X.shape), y


def draw(name: str, n: int, n_classes: int, noise: float, rng: np.random.Generator):
    """``n`` points of the named data set: ``(X, y)``, y class indices (int) or real targets for ``"curve"``.

    Parameters
    ----------
    name : str
        ``"xor"``, ``"circle"``, ``"spiral"``, ``"gauss"``, ``"linear"`` or ``"curve"``.
    n : int
        The number of points.
    n_classes : int
        The number of classes (XOR has 2; ignored by ``"curve"``).
    noise : float
        From 0 to 1 (``NOISE`` says what it scales).
    rng : numpy.random.Generator
        Where every random number comes from.

    Returns
    -------
    X : ndarray of float64, shape (n, 2) or (n, 1)
    y : ndarray
    """
    if name == "xor":
        return make_xor(n, noise / 2, rng)
    if name == "circle":
        return make_circles(n, n_classes, noise, rng)
    if name == "spiral":
        return make_spirals(n, n_classes, noise, rng=rng)
    if name == "gauss":
        return make_blobs(n, n_classes, 0.3 + 1.2 * noise, rng=rng)
    if name == "linear":
        return make_linear(n, n_classes, noise, rng)
    if name == "curve":
        X, y, _ = make_polynomial_curve(n, noise=1.25 * noise, rng=rng)
        return X, y
    raise ValueError(f"unknown data set {name!r}")


def _extent(X, y) -> tuple:
    if X.shape[1] == 1:
        lo, hi = float(X.min()), float(X.max())
        ylo, yhi = float(y.min()), float(y.max())
        px, py = 0.05 * (hi - lo or 1.0), 0.15 * (yhi - ylo or 1.0)
        return (lo - px, hi + px, ylo - py, yhi + py)
    lo, hi = X.min(axis=0), X.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.1
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def split(X, y, train_pct: int, regression: bool, rng: np.random.Generator) -> Data:
    """Training and test points (stratified by class for classification) and the pictures' extent.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The points.
    y : ndarray of shape (N,)
        Class indices or real targets.
    train_pct : int
        The share of points for training, in percent.
    regression : bool
        Real-valued targets.
    rng : numpy.random.Generator
        Draws the split.

    Returns
    -------
    Data
    """
    X = np.asarray(X, dtype=np.float64)
    if regression:
        y = np.asarray(y, dtype=np.float64)
        train, test = random_split(len(X), 1 - train_pct / 100, rng)
        n_classes = 1
    else:
        y = np.asarray(y, dtype=np.int64)
        train, test = stratified_split(y, 1 - train_pct / 100, rng)
        n_classes = int(y.max()) + 1
    return Data(X[train], y[train], X[test], y[test], "regression" if regression else "classification",
                n_classes, _extent(X, y))


def generate(settings, streams) -> Data:
    """The data of ``settings`` (a generated set; uploads are split with ``split`` directly).

    Parameters
    ----------
    settings : Settings
        Its dataset, points, classes, noise and train_pct are used.
    streams : dict
        ``{"data": Generator, "split": Generator}``, from the run's seed.

    Returns
    -------
    Data
    """
    X, y = draw(settings.dataset, settings.points, settings.classes, settings.noise, streams["data"])
    return split(X, y, settings.train_pct, settings.dataset == "curve", streams["split"])
