"""The notes' feature-space transformation x' = x / (2 x1 x2 + 0.5)."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def notes_transform(X) -> np.ndarray:
    r"""The notes' feature-space transformation x' = x / (2 x1 x2 + 0.5), row by row.

    It maps the XOR points a = (0, 0), b = (1, 0), c = (0, 1), d = (1, 1) to (0, 0), (2, 0),
    (0, 2), (0.4, 0.4), where a line separates them.

    Parameters
    ----------
    X : array_like of shape (N, 2)
        Rows x = (x1, x2).

    Returns
    -------
    ndarray of float64, shape (N, 2)

    Raises
    ------
    ValueError
        If ``X`` is not (N, 2), or a row has x1 x2 = -1/4 (where the transform is undefined).

    Notes
    -----
    .. math:: x' = \left(\frac{x_1}{2 x_1 x_2 + 0.5}, \frac{x_2}{2 x_1 x_2 + 0.5}\right).
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
        """Check that there are two features (there is nothing to learn).

        Parameters
        ----------
        X : array_like of shape (N, d)
            Training samples (two features).
        y : None
            Ignored (scikit-learn's transformer interface).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        ValueError
            If ``X`` does not have 2 features.
        """
        validate_data(self, X, reset=True)
        if self.n_features_in_ != 2:
            raise ValueError(f"NotesTransform needs 2 features; got {self.n_features_in_}")
        return self

    def transform(self, X):
        """``notes_transform(X)``.

        Parameters
        ----------
        X : array_like of shape (N, 2)
            Rows x = (x1, x2).

        Returns
        -------
        ndarray of float64, shape (N, 2)
        """
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False)
        return notes_transform(X)

    def get_feature_names_out(self, input_features=None):
        """The names of the transformed features.

        Parameters
        ----------
        input_features : sequence of str, optional
            Ignored: the outputs are always x1' and x2'.

        Returns
        -------
        ndarray of str
            ``["x1'", "x2'"]``.
        """
        return np.asarray(["x1'", "x2'"], dtype=object)
