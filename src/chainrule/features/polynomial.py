"""Polynomial feature maps: the notes' quadratic classifier is a linear one on these features."""
from __future__ import annotations

from itertools import combinations_with_replacement
from math import comb

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def n_polynomial_features(n_inputs: int, degree: int, include_bias: bool = True) -> int:
    r"""The number of monomials of total degree <= k in d variables.

    Degree 2 gives (d + 1)(d + 2) / 2, the notes' count for the quadratic classifier.

    Parameters
    ----------
    n_inputs : int
        d, the number of input variables.
    degree : int
        k, the largest total degree.
    include_bias : bool, default True
        Count the constant monomial 1.

    Returns
    -------
    int

    Notes
    -----
    .. math:: \binom{d + k}{k} \quad (\text{minus 1 without the constant}).
    """
    return comb(n_inputs + degree, degree) - (0 if include_bias else 1)


def monomial_powers(n_inputs: int, degree: int, include_bias: bool = True) -> np.ndarray:
    """The exponents of every monomial, ordered by degree, then lexicographically.

    Parameters
    ----------
    n_inputs : int
        d, the number of input variables.
    degree : int
        k, the largest total degree.
    include_bias : bool, default True
        Count the constant monomial 1.

    Returns
    -------
    ndarray of int64, shape (n_output, n_inputs)
        Row r holds the power of each input in output column r.
    """
    rows = [np.zeros(n_inputs, dtype=np.int64)] if include_bias else []
    for k in range(1, degree + 1):
        for combo in combinations_with_replacement(range(n_inputs), k):
            r = np.zeros(n_inputs, dtype=np.int64)
            for i in combo:
                r[i] += 1
            rows.append(r)
    return np.array(rows, dtype=np.int64).reshape(-1, n_inputs)


class PolynomialFeatures(TransformerMixin, BaseEstimator):
    """Map x = (x_1 .. x_d) to every monomial of total degree <= ``degree``.

    Degree 2 on d inputs gives 1, x_1 .. x_d, x_1^2, x_1 x_2, .., x_d^2: (d + 1)(d + 2) / 2 columns
    with the constant, as the notes count; the notes' quadratic classifier is a linear classifier
    on these features. Each column is computed as a previous column times one input (no loop over
    samples).

    Parameters
    ----------
    degree : int >= 0, default 2
        The largest total degree.
    include_bias : bool, default True
        Include the constant column 1.

    Examples
    --------
    >>> import numpy as np
    >>> pf = PolynomialFeatures(2).fit(np.zeros((1, 2)))
    >>> pf.get_feature_names_out().tolist()
    ['1', 'x0', 'x1', 'x0^2', 'x0 x1', 'x1^2']
    """

    _fitted_attributes = ("powers_", "n_output_features_", "n_features_in_", "feature_names_in_")

    def __init__(self, degree: int = 2, include_bias: bool = True):
        self.degree = degree
        self.include_bias = include_bias

    def fit(self, X, y=None):
        """Record the number of input features and the exponents of the output columns.

        Parameters
        ----------
        X : array_like of shape (N, d)
            Training samples (only their number of features is used).
        y : None
            Ignored (scikit-learn's transformer interface).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        ValueError
            If ``degree`` is not an integer >= 0.
        """
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)) or self.degree < 0:
            raise ValueError(f"degree must be an integer >= 0; got {self.degree!r}")
        X = validate_data(self, X, reset=True)
        self.powers_ = monomial_powers(X.shape[1], int(self.degree), self.include_bias)
        self.n_output_features_ = self.powers_.shape[0]
        return self

    def transform(self, X):
        """Every monomial of each row.

        Parameters
        ----------
        X : array_like of shape (N, d)
            Samples with the fitted number of features.

        Returns
        -------
        ndarray of shape (N, ``n_output_features_``)
            float64 (float32 input stays float32).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        n, d = X.shape
        out = np.empty((n, self.n_output_features_), dtype=X.dtype)
        # build column by column: each monomial is an earlier monomial times one input
        index = {}
        for j, p in enumerate(self.powers_):
            key = tuple(p)
            if p.sum() == 0:
                out[:, j] = 1
            elif p.sum() == 1:
                out[:, j] = X[:, int(np.argmax(p))]
            else:
                i = int(np.flatnonzero(p)[-1])
                prev = list(key)
                prev[i] -= 1
                np.multiply(out[:, index[tuple(prev)]], X[:, i], out=out[:, j])
            index[key] = j
        return out

    def get_feature_names_out(self, input_features=None):
        """The name of each output column (``"x0 x1"``, ``"x1^2"``...).

        Parameters
        ----------
        input_features : sequence of str, optional
            The input names (default ``x0``, ``x1``...).

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        names = []
        for p in self.powers_:
            terms = [f"{input_features[i]}" + (f"^{e}" if e > 1 else "") for i, e in enumerate(p) if e]
            names.append(" ".join(terms) if terms else "1")
        return np.asarray(names, dtype=object)
