"""The notes' feature-space transformation x' = x / (2 x1 x2 + 0.5)."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def notes_transform(X) -> np.ndarray:
    """x' = (x1 / (2 x1 x2 + 0.5), x2 / (2 x1 x2 + 0.5)) for every row x = (x1, x2).

    Maps the XOR points a = (0, 0), b = (1, 0), c = (0, 1), d = (1, 1) to (0, 0), (2, 0),
    (0, 2), (0.4, 0.4), where a line separates them. Undefined where x1 x2 = -1/4.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2); got {X.shape}")
    denom = 2 * X[:, 0] * X[:, 1] + 0.5
    bad = np.flatnonzero(np.abs(denom) < 1e-12)
    if bad.size:
        raise ValueError(f"the transform is undefined where x1 x2 = -1/4; row {bad[0]} is {X[bad[0]].tolist()}")
    return X / denom[:, None]


class NotesTransform(TransformerMixin, BaseEstimator):
    """``notes_transform`` as a scikit-learn transformer (nothing to learn)."""

    _fitted_attributes = ("n_features_in_", "feature_names_in_")

    def fit(self, X, y=None):
        validate_data(self, X, reset=True)
        if self.n_features_in_ != 2:
            raise ValueError(f"NotesTransform needs 2 features; got {self.n_features_in_}")
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False)
        return notes_transform(X)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(["x1'", "x2'"], dtype=object)
