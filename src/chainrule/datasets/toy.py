"""The notes' toy data sets, and small synthetic ones for pictures and tests."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import resolve_rng


def regression_toy():
    """The notes' first example: X = {2, 4, 6, 8}, Y = {3, 4, 5, 6} (optimum w = 0.5, b = 2.0).

    Returns
    -------
    X : ndarray of shape (4, 1)
    y : ndarray of shape (4,)
    """
    return np.array([[2.0], [4.0], [6.0], [8.0]]), np.array([3.0, 4.0, 5.0, 6.0])


def xor_points():
    """The feature-transform example: the four XOR points, not linearly separable as they are.

    a = (0, 0), b = (1, 0), c = (0, 1), d = (1, 1); a and d are class 0, b and c class 1.

    Returns
    -------
    X : ndarray of shape (4, 2)
    y : ndarray of int, shape (4,)
    """
    return np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])


def make_xor(n: int = 200, noise: float = 0.1, rng=None):
    """``n`` noisy copies of the four XOR points (for pictures and training).

    Parameters
    ----------
    n : int, default 200
        The number of points.
    noise : float, default 0.1
        The standard deviation of the Gaussian noise added to each point.
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
    y : ndarray of int, shape (n,)
        The class of each point.
    """
    gen = resolve_rng(rng)
    base, labels = xor_points()
    idx = gen.integers(0, 4, n)
    return base[idx] + gen.normal(0, noise, (n, 2)), labels[idx]


def make_polynomial_curve(n: int = 13, coefficients=(1.0, -0.5, -3.0, 2.0), noise: float = 0.25,
                          x_range=(-1.0, 1.5), rng=None):
    """``n`` noisy samples of a polynomial, for the notes' under- and over-fitting example.

    Parameters
    ----------
    n : int, default 13
        The number of samples.
    coefficients : sequence of float, default (1.0, -0.5, -3.0, 2.0)
        c_0, c_1, ...: the polynomial sum_k c_k x^k (default a cubic).
    noise : float, default 0.25
        The standard deviation of the Gaussian noise on y.
    x_range : tuple of float, default (-1.0, 1.5)
        x is drawn uniformly in this interval (and sorted).
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    x : ndarray of shape (n, 1)
    y : ndarray of shape (n,)
    f : callable
        The noiseless polynomial.
    """
    gen = resolve_rng(rng)
    coefficients = tuple(float(c) for c in coefficients)

    def f(x):
        return sum(c * np.asarray(x, dtype=np.float64) ** k for k, c in enumerate(coefficients))

    x = np.sort(gen.uniform(x_range[0], x_range[1], n))
    return x[:, None], f(x) + gen.normal(0, noise, n), f


def make_spirals(n: int = 300, n_classes: int = 3, noise: float = 0.2, turns: float = 1.0, rng=None):
    """Interleaved two-dimensional spirals, one arm per class (not linearly separable).

    Parameters
    ----------
    n : int, default 300
        The number of points (spread evenly over the classes).
    n_classes : int >= 2, default 3
        The number of arms.
    noise : float, default 0.2
        Angular noise, growing with the radius.
    turns : float, default 1.0
        How many turns each arm makes.
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
    y : ndarray of int, shape (n,)
        The class of each point.

    Raises
    ------
    ValueError
        If ``n_classes`` is below 2.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2; got {n_classes}")
    gen = resolve_rng(rng)
    y = np.arange(n) % n_classes
    r = gen.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (turns * r + y / n_classes) + gen.normal(0, noise, n) * r
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return X, y


def make_blobs(n: int = 300, centers: int = 3, std: float = 0.6, rng=None):
    """Gaussian blobs around ``centers`` points on a circle of radius 2.

    Parameters
    ----------
    n : int, default 300
        The number of points (spread evenly over the blobs).
    centers : int, default 3
        The number of blobs (classes).
    std : float, default 0.6
        The standard deviation of each blob.
    rng : int or numpy.random.Generator, optional
        Seed or generator.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
    y : ndarray of int, shape (n,)
        The class of each point.
    """
    gen = resolve_rng(rng)
    y = np.arange(n) % centers
    angles = 2 * np.pi * np.arange(centers) / centers
    c = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
    return c[y] + gen.normal(0, std, (n, 2)), y
