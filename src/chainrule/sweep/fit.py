"""One fit of a sweep, as a worker runs it: a fresh clone of the estimator with one candidate's
parameters, fitted on one fold's training part and scored on its test part by scikit-learn's
``cross_validate`` (its own fit-and-score path: scorers, fit and score times).

Only this module-level function and its arguments travel to a worker (joblib pickles them); the
fitted model does not travel back, only its scores and times, so a result is a few hundred bytes.
"""
from __future__ import annotations

import math
import os
import socket
import time
import warnings


def fit_one(key, estimator, params, X, y, train, test, scoring, blas_threads, error_score):
    """``(key, record)``: the scores and times of ``estimator`` with ``params`` on one fold.

    A chainrule network stopped by Ctrl-C raises KeyboardInterrupt (never a record of a half-trained
    model). A fit that raises gives NaN scores and the error's text when ``error_score`` is NaN (as in
    scikit-learn's searches), and raises when it is ``"raise"``.
    """
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = time.time()
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        est = clone(estimator).set_params(**params)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)   # a fit's own warnings stay in the worker
                res = cross_validate(est, X, y, cv=[(train, test)], scoring=scoring, return_train_score=True,
                                     return_estimator=True, error_score="raise")
        except Exception as exc:  # noqa: BLE001 - any fit failure is recorded, as scikit-learn's searches do
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
