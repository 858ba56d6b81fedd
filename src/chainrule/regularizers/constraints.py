"""Constraints projected after each update (the notes' max-norm regularisation)."""
from __future__ import annotations

import numpy as np

from .._helpers.validation import check_number


class MaxNorm:
    r"""The max-norm constraint: keep every row w_j of W inside the ball ||w_j|| <= c.

    Rows longer than c are scaled back onto the ball, shorter rows are untouched. Applied after
    each optimizer step (``Parameter(..., constraint=MaxNorm(3.0))``). W has shape (out, in) with
    rows w_j^T (one per output unit), as in the notes; a vector is treated as one row.

    Parameters
    ----------
    max_norm : float > 0, default 3.0
        c, the largest norm a row may have.

    Notes
    -----
    .. math:: w_j \leftarrow w_j \min\left(1, \frac{c}{\lVert w_j \rVert_2}\right).
    """

    def __init__(self, max_norm: float = 3.0):
        self.max_norm = check_number("max_norm", max_norm, 0.0, low_inclusive=False)

    def row_norms(self, W) -> np.ndarray:
        """The L2 norm of each row of W (of the whole vector for a 1-D W).

        Parameters
        ----------
        W : array_like
            The weights, rows w_j^T.

        Returns
        -------
        ndarray
            Shape (out,), or a scalar for a vector.
        """
        W = np.asarray(W)
        return np.sqrt((W.reshape(W.shape[0], -1) ** 2).sum(axis=1)) if W.ndim > 1 else np.sqrt(np.vdot(W, W))

    def apply(self, W: np.ndarray) -> np.ndarray:
        """Project W onto the constraint in place and return it.

        Parameters
        ----------
        W : ndarray of float
            The weights, modified in place.

        Returns
        -------
        ndarray
            ``W`` itself.

        Raises
        ------
        TypeError
            If ``W`` is not a floating-point NumPy array.
        """
        if not isinstance(W, np.ndarray) or W.dtype.kind != "f":
            raise TypeError("MaxNorm.apply needs a floating-point NumPy array to project in place")
        norms = self.row_norms(W)
        scale = np.minimum(1.0, self.max_norm / np.maximum(norms, np.finfo(W.dtype).tiny))
        if W.ndim > 1:
            W *= scale.astype(W.dtype).reshape((-1,) + (1,) * (W.ndim - 1))
        else:
            W *= W.dtype.type(scale)
        return W

    def project(self, W) -> np.ndarray:
        """A projected copy of W (W itself is left as it is).

        Parameters
        ----------
        W : array_like
            The weights.

        Returns
        -------
        ndarray
            A new array, at least float32.
        """
        return self.apply(np.array(W, dtype=np.result_type(np.asarray(W).dtype, np.float32)))

    def __repr__(self):
        return f"MaxNorm(max_norm={self.max_norm})"
