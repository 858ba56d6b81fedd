"""What the sweep tests share: a small data set, a small network, a grid, and estimators that show
what a fit saw (its BLAS threads, the joblib backend of its nested calls) or kill the process that
runs it (or have the task it needs cancelled) a given number of times."""
from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

GRID = {"alpha": [1e-4, 1e-2], "learning_rate_init": [3e-3, 3e-2]}


def digits(n=360):
    """The first n of scikit-learn's bundled digits, scaled to [0, 1] (no network needed)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).astype(np.float32), y[:n]


def network(epochs=8):
    """A small chainrule MLP, seeded: every fit's bits are fixed by its settings."""
    from chainrule.models import MLPClassifier

    return MLPClassifier((16,), max_iter=epochs, batch_size=32, tol=0.0, random_state=0)


def comparable(rows):
    """A results table without what depends on the machine and the moment (times, worker)."""
    from chainrule.sweep.table import TIMING_COLUMNS

    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


class BlasThreads(ClassifierMixin, BaseEstimator):
    """Any scikit-learn estimator: its score is the number of BLAS threads its fit could use."""

    def __init__(self, c=0):
        self.c = c

    def fit(self, X, y):
        from threadpoolctl import threadpool_info

        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        self.threads_ = max(blas) if blas else 0
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return float(self.threads_)


class NestedBackend(ClassifierMixin, BaseEstimator):
    """Any scikit-learn estimator: its score is 1 if the joblib calls inside its fit run in the
    fitting process (threads or sequential), 0 if they would be sent to a Dask cluster."""

    def __init__(self, c=0):
        self.c = c

    def fit(self, X, y):
        from joblib.parallel import get_active_backend

        self.nested_ = type(get_active_backend()[0]).__name__
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return 0.0 if "Dask" in self.nested_ else 1.0


class DiesOnce(ClassifierMixin, BaseEstimator):
    """Kills the process that fits it (os._exit) the first ``times`` times candidate ``c == die_at``
    is fitted; ``marker`` counts the deaths (one line each), so that the fit succeeds later.
    ``how="cancel"``: the fit raises what a fit whose Dask task was cancelled raises (an error
    raised from a CancelledError) instead of killing its process."""

    def __init__(self, c=0, die_at=-1, marker=None, times=1, how="exit"):
        self.c, self.die_at, self.marker, self.times, self.how = c, die_at, marker, times, how

    def fit(self, X, y):
        deaths = open(self.marker).read().count("x") if self.marker and os.path.exists(self.marker) else 0
        if self.c == self.die_at and self.marker and deaths < self.times:
            with open(self.marker, "a") as f:
                f.write("x")
            if self.how == "cancel":
                from concurrent.futures import CancelledError

                raise RuntimeError("a nested task was cancelled") from CancelledError("lost dependencies")
            os._exit(7)
        self.classes_ = np.unique(y)
        self.offset_ = float(self.c)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return float(np.mean(np.asarray(y) == self.classes_[0])) - 0.01 * self.offset_
