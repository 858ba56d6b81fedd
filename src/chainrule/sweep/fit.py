"""One fit of a sweep, as a worker runs it: a fresh clone of the estimator with one candidate's
parameters, fitted on one fold's training part and scored on its test part by scikit-learn's
``cross_validate`` (its own fit-and-score path: scorers, fit and score times).

Only this module-level function and its arguments travel to a worker (joblib pickles them); the
fitted model does not travel back, only its scores and times, so a result is a few hundred bytes.

A fit runs wholly in the process that runs ``fit_one``. joblib's Dask backend runs each task under
``parallel_config(backend="dask")``, so without care ``cross_validate``'s own ``Parallel`` (and any
``n_jobs`` inside the estimator) would be sent back to the cluster as nested tasks whose data lives
on the worker that sent them: a worker killed in the middle then cancels the nested task of a fit
running on a healthy worker, and that fit would be recorded as failed (NaN score, error text) while
it should simply run again. So the fit runs under joblib's threading backend (as loky's workers run
nested calls), and a lost worker or a cancelled task is never recorded as a failed fit: it is
raised as ``FitLost`` and the sweep dispatches the fit again.
"""
from __future__ import annotations

import math
import os
import socket
import time
import warnings

#: exceptions that mean "the process or the data a fit needed is gone", not "this fit failed":
#: a dead loky worker, a task Dask gave up on or cancelled, and our own FitLost
LOST = ("TerminatedWorkerError", "KilledWorker", "BrokenProcessPool", "FutureCancelledError",
        "CancelledError", "FitLost")


class FitLost(RuntimeError):
    """A fit lost a worker or a Dask task it depended on: it did not fail, it must run again."""


def worker_lost(exc) -> bool:
    """True if ``exc``, or an exception it was raised from, is a lost worker or a cancelled task."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if type(exc).__name__ in LOST:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def fit_one(key, estimator, params, X, y, train, test, scoring, blas_threads, error_score):
    """``(key, record)``: the scores and times of ``estimator`` with ``params`` on one fold.

    A chainrule network stopped by Ctrl-C raises KeyboardInterrupt (never a record of a half-trained
    model). A fit that raises gives NaN scores and the error's text when ``error_score`` is NaN (as in
    scikit-learn's searches), and raises when it is ``"raise"``; a fit that lost a worker or a task it
    depended on raises ``FitLost`` (it is dispatched again, never recorded as failed).
    """
    from joblib import parallel_config
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = time.time()
    # threading, not the Dask backend the task runs under: nested joblib calls stay in this process
    with threadpool_limits(limits=blas_threads, user_api="blas"), parallel_config(backend="threading"):
        est = clone(estimator).set_params(**params)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)   # a fit's own warnings stay in the worker
                res = cross_validate(est, X, y, cv=[(train, test)], scoring=scoring, return_train_score=True,
                                     return_estimator=True, error_score="raise", n_jobs=1)
        except Exception as exc:  # noqa: BLE001 - any fit failure is recorded, as scikit-learn's searches do
            if worker_lost(exc):
                raise FitLost(f"fit {tuple(key)} lost a worker or a task it depended on "
                              f"({type(exc).__name__}: {exc}); it is run again") from None
            if isinstance(error_score, str) and error_score == "raise":
                raise
            failed = None if isinstance(error_score, float) and math.isnan(error_score) else float(error_score)
            return key, {"candidate": key[0], "fold": key[1], "test_score": failed, "train_score": failed,
                         "fit_time": time.time() - started, "score_time": 0.0,
                         "error": f"{type(exc).__name__}: {exc}"[:2000], "worker": worker}
    if _interrupted(res["estimator"][0]):
        raise KeyboardInterrupt(f"fit {key} was interrupted (Ctrl-C) before its last epoch; it is not recorded")
    return key, {"candidate": key[0], "fold": key[1], "test_score": float(res["test_score"][0]),
                 "train_score": float(res["train_score"][0]), "fit_time": float(res["fit_time"][0]),
                 "score_time": float(res["score_time"][0]), "error": None, "worker": worker}


def _interrupted(estimator) -> bool:
    """True if a chainrule network in ``estimator`` stopped training early on Ctrl-C (its trainer
    turns Ctrl-C into 'stop after this batch'): such a fit must not be scored as a finished one."""
    for part in [estimator, *(step for _, step in getattr(estimator, "steps", []))]:
        if getattr(getattr(part, "history_", None), "interrupted", False):
            return True
    return False
