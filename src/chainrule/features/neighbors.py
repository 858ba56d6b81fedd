"""The notes' nearest-neighbour classifier, with vectorised, chunked distances."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class KNeighborsClassifier(ClassifierMixin, BaseEstimator):
    r"""The notes' nearest-neighbour classifier: the majority label of the ``k`` nearest training
    samples (Euclidean distance).

    Ties between labels go to the label whose members are nearest (the sum of their ranks is
    lowest).

    Parameters
    ----------
    k : int, default 1
        The number of neighbours that vote.
    memory_mb : float, default 64.0
        The most memory a chunk of distances may take: 10,000 x 60,000 distances (2.4 GB in
        float32) are computed 20 MB at a time.

    Notes
    -----
    Distances come from one matrix product per chunk of test rows, no loop over samples:

    .. math:: \lVert a - b \rVert^2 = \lVert a \rVert^2 + \lVert b \rVert^2 - 2\, a \cdot b.
    """

    _fitted_attributes = ("classes_", "_y", "_X", "_sq", "n_samples_fit_", "n_features_in_", "feature_names_in_")

    def __init__(self, k: int = 1, memory_mb: float = 64.0):
        self.k = k
        self.memory_mb = memory_mb

    def fit(self, X, y):
        """Memorise the training samples (and their squared norms).

        Parameters
        ----------
        X : array_like of shape (N, d)
            Training samples.
        y : array_like of shape (N,)
            Their labels.

        Returns
        -------
        self
            The fitted classifier.
        """
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k must be a positive integer; got {self.k!r}")
        if not self.memory_mb > 0:
            raise ValueError(f"memory_mb must be > 0; got {self.memory_mb!r}")
        X, y = validate_data(self, X, y, reset=True, dtype=(np.float32, np.float64))
        check_classification_targets(y)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._X = X.astype(np.float32 if X.dtype == np.float32 else np.float64)
        self._sq = np.einsum("ij,ij->i", self._X, self._X)
        self.n_samples_fit_ = X.shape[0]
        return self

    def _chunk_rows(self, n_train: int, itemsize: int) -> int:
        return max(1, int(self.memory_mb * 2**20 // (n_train * itemsize * 2)))

    def kneighbors(self, X):
        """The k nearest training samples of each row, nearest first.

        Parameters
        ----------
        X : array_like of shape (M, d)
            Query samples.

        Returns
        -------
        distances : ndarray of shape (M, k)
            Euclidean distances.
        indices : ndarray of int, shape (M, k)
            Rows of the training data.
        """
        check_is_fitted(self, "_X")
        X = validate_data(self, X, reset=False, dtype=(np.float32, np.float64)).astype(self._X.dtype)
        k = min(int(self.k), self.n_samples_fit_)
        n = X.shape[0]
        dist = np.empty((n, k), dtype=self._X.dtype)
        idx = np.empty((n, k), dtype=np.intp)
        step = self._chunk_rows(self.n_samples_fit_, self._X.itemsize)
        for s in range(0, n, step):
            q = X[s:s + step]
            d2 = q @ self._X.T
            d2 *= -2
            d2 += self._sq
            d2 += np.einsum("ij,ij->i", q, q)[:, None]
            if k < d2.shape[1]:
                part = np.argpartition(d2, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(d2.shape[1]), d2.shape).copy()
            pd = np.take_along_axis(d2, part, axis=1)
            order = np.argsort(pd, axis=1, kind="stable")
            idx[s:s + step] = np.take_along_axis(part, order, axis=1)
            dist[s:s + step] = np.sqrt(np.maximum(np.take_along_axis(pd, order, axis=1), 0))
        return dist, idx

    def predict_proba(self, X):
        """The fraction of the k neighbours in each class.

        Parameters
        ----------
        X : array_like of shape (M, d)
            Query samples.

        Returns
        -------
        ndarray of shape (M, n_classes)
            Columns in the order of ``classes_``.
        """
        _, idx = self.kneighbors(X)
        labels = self._y[idx]
        counts = np.zeros((labels.shape[0], self.classes_.size))
        np.add.at(counts, (np.repeat(np.arange(labels.shape[0]), labels.shape[1]), labels.ravel()), 1)
        return counts / labels.shape[1]

    def predict(self, X):
        """The majority label of each row's k nearest training samples.

        Parameters
        ----------
        X : array_like of shape (M, d)
            Query samples.

        Returns
        -------
        ndarray of shape (M,)
            Labels from ``classes_``.
        """
        _, idx = self.kneighbors(X)
        labels = self._y[idx]
        n, k = labels.shape
        counts = np.zeros((n, self.classes_.size))
        rows = np.repeat(np.arange(n), k)
        np.add.at(counts, (rows, labels.ravel()), 1)
        # tie-break: among the most voted labels, the one with the lowest sum of neighbour ranks
        ranks = np.zeros((n, self.classes_.size))
        np.add.at(ranks, (rows, labels.ravel()), np.tile(np.arange(k), n))
        best = counts.max(axis=1, keepdims=True)
        score = np.where(counts == best, -ranks, -np.inf)
        return self.classes_[score.argmax(axis=1)]
