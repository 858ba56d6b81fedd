"""What the network sees: the playground's features of a point (x1, x2), computed with
``chainrule.features`` where it has them (the notes' XOR transform, polynomial features).

A downloaded model file holds the network only: its inputs are these features, in the order
``feature_names`` gives, and ``transform`` computes them from raw points.
"""
from __future__ import annotations

import numpy as np

from ..features import PolynomialFeatures, notes_transform

#: the page's label of each named feature (``xor`` is two columns: the notes' transform)
LABELS = {"x1": ["x1"], "x2": ["x2"], "x1sq": ["x1²"], "x2sq": ["x2²"], "x1x2": ["x1 x2"],
          "sin1": ["sin x1"], "sin2": ["sin x2"], "xor": ["x1'", "x2'"]}
#: the monomial (powers of x1, x2) each named feature already is
_MONOMIALS = {"x1sq": (2, 0), "x2sq": (0, 2), "x1x2": (1, 1)}


def _poly_powers(dims: int, features, poly: int) -> np.ndarray:
    """The powers of the polynomial features of degree 2..poly that no named feature already gives."""
    if poly < 2:
        return np.zeros((0, dims), dtype=np.int64)
    pf = PolynomialFeatures(poly, include_bias=False).fit(np.zeros((1, dims)))
    taken = {_MONOMIALS[f][:dims] for f in features if f in _MONOMIALS}
    return np.array([p for p in pf.powers_ if p.sum() >= 2 and tuple(p) not in taken],
                    dtype=np.int64).reshape(-1, dims)


def feature_names(features, poly: int, dims: int = 2) -> list:
    """The name of every input column, in order.

    Parameters
    ----------
    features : sequence of str
        Named features (``settings.FEATURES``).
    poly : int
        The largest degree of the polynomial features (0 or 1: none).
    dims : int, default 2
        The number of raw inputs.

    Returns
    -------
    list of str
        For example ``["x1", "x2", "x1 x2", "x1^3"]``.
    """
    names = [label for f in features for label in LABELS[f]]
    for p in _poly_powers(dims, features, poly):
        names.append(" ".join(f"x{i + 1}" + (f"^{e}" if e > 1 else "") for i, e in enumerate(p) if e))
    return names


def transform(X, features, poly: int, dtype=np.float32) -> np.ndarray:
    """The input columns of the network for raw points ``X``, in the network's dtype.

    Parameters
    ----------
    X : array_like of shape (N, 2) or (N, 1)
        Raw points (x1, x2), or x alone for a curve.
    features : sequence of str
        Named features, in the order of the columns.
    poly : int
        Add every monomial of degree 2 to ``poly`` that no named feature already gives.
    dtype : dtype, default float32
        The dtype of the result: the playground's networks are float32 (a layer refuses a wider
        float, as PyTorch does). The features are computed in float64 first.

    Returns
    -------
    ndarray of shape (N, len(feature_names(features, poly, d)))

    Raises
    ------
    ValueError
        If the notes' transform is undefined at a point (x1 x2 = -1/4).
    """
    X = np.asarray(X, dtype=np.float64)
    cols = []
    for f in features:
        if f == "xor":
            cols.extend(notes_transform(X).T)
        elif f in ("x1", "x2"):
            cols.append(X[:, int(f[1]) - 1])
        elif f in ("sin1", "sin2"):
            cols.append(np.sin(X[:, int(f[3]) - 1]))
        else:
            p = _MONOMIALS[f]
            cols.append(X[:, 0] ** p[0] * (X[:, 1] ** p[1] if X.shape[1] > 1 else 1.0))
    for p in _poly_powers(X.shape[1], features, poly):
        cols.append(np.prod(X ** p, axis=1))
    return (np.column_stack(cols) if cols else np.zeros((X.shape[0], 0))).astype(dtype)
