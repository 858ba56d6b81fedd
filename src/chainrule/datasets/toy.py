"""The notes' toy data sets, and small synthetic ones for pictures and tests."""
from __future__ import annotations

import numpy as np

from .._validation import resolve_rng


def regression_toy():
    """X = {2, 4, 6, 8}, Y = {3, 4, 5, 6}: the notes' first example (optimum w = 0.5, b = 2.0)."""
    return np.array([[2.0], [4.0], [6.0], [8.0]]), np.array([3.0, 4.0, 5.0, 6.0])


def xor_points():
    """The feature-transform example: a = (0, 0), b = (1, 0), c = (0, 1), d = (1, 1) with XOR
    labels (a and d are class 0, b and c class 1): not linearly separable as they are."""
    return np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])


def make_xor(n: int = 200, noise: float = 0.1, rng=None):
    """``n`` noisy copies of the four XOR points (for pictures and training)."""
    gen = resolve_rng(rng)
    base, labels = xor_points()
    idx = gen.integers(0, 4, n)
    return base[idx] + gen.normal(0, noise, (n, 2)), labels[idx]


def make_polynomial_curve(n: int = 13, coefficients=(1.0, -0.5, -3.0, 2.0), noise: float = 0.25,
                          x_range=(-1.0, 1.5), rng=None):
    """``n`` noisy samples of the polynomial sum_k c_k x^k (default a cubic), for the notes'
    under- and over-fitting example. Returns (x of shape (n, 1), y, the noiseless function)."""
    gen = resolve_rng(rng)
    coefficients = tuple(float(c) for c in coefficients)

    def f(x):
        return sum(c * np.asarray(x, dtype=np.float64) ** k for k, c in enumerate(coefficients))

    x = np.sort(gen.uniform(x_range[0], x_range[1], n))
    return x[:, None], f(x) + gen.normal(0, noise, n), f


def make_spirals(n: int = 300, n_classes: int = 3, noise: float = 0.2, turns: float = 1.0, rng=None):
    """Interleaved two-dimensional spirals, one arm per class (not linearly separable)."""
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2; got {n_classes}")
    gen = resolve_rng(rng)
    y = np.arange(n) % n_classes
    r = gen.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (turns * r + y / n_classes) + gen.normal(0, noise, n) * r
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return X, y


def make_blobs(n: int = 300, centers: int = 3, std: float = 0.6, rng=None):
    """Gaussian blobs around ``centers`` points on a circle of radius 2."""
    gen = resolve_rng(rng)
    y = np.arange(n) % centers
    angles = 2 * np.pi * np.arange(centers) / centers
    c = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
    return c[y] + gen.normal(0, std, (n, 2)), y
