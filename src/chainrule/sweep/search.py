"""``sweep()``: a grid or random search with k-fold cross-validation over any scikit-learn
estimator's hyperparameters, on loky or a Dask cluster, journaled fit by fit.

Built on scikit-learn's search machinery, not beside it: ``ParameterGrid`` / ``ParameterSampler``
give the candidates, ``check_cv`` the folds (stratified for classifiers, as ``GridSearchCV``),
``cross_validate`` fits and scores each (candidate, fold) pair, and candidates are ranked as
``GridSearchCV`` ranks them. The pairs are dispatched one by one through ``joblib.Parallel``
(results in the order they finish) because the journal must know each fit as soon as it ends;
joblib and loky or Dask do all the scheduling.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._helpers.validation import check_int
from . import table as tables
from .backends import backend
from .fit import fit_one, worker_lost
from .journal import MAX_ATTEMPTS, Journal, data_digest


class SweepInterrupted(RuntimeError):
    """A worker process died (loky) or Dask gave up on a fit; the journal keeps every finished
    fit, and the same sweep with ``resume=True`` runs only the others."""


class SweepFailed(RuntimeError):
    """Every fit of the sweep failed (as scikit-learn's searches say "All the N fits failed").

    results.csv and results.json are written, and ``resume=True`` tries the failed fits again, each
    at most ``MAX_ATTEMPTS`` times in all.

    Parameters
    ----------
    message : str
        How many fits failed, and the first error.
    result : SweepResult
        The sweep's table, every row a failed fit with its error (``result.rows``).
    """

    def __init__(self, message: str, result: "SweepResult"):
        super().__init__(message)
        self.result = result


@dataclass
class SweepResult:
    """What a sweep found.

    Parameters
    ----------
    best_params : dict
        The best candidate's hyperparameters.
    best_score : float
        Its mean test score over the folds.
    best_index : int
        Its position in ``candidates``.
    rows : list of dict
        One dict per fit: the results table.
    candidates : list of dict
        Every candidate's hyperparameters.
    n_splits : int
        The number of folds.
    n_fitted : int
        Fits run by this call.
    n_from_journal : int
        Fits a resumed sweep took from the journal.
    seconds : float
        Wall time of the fits.
    where : str
        Where they ran (loky on this machine, a Dask scheduler...).
    best_estimator : estimator, optional
        The best candidate refitted on all the data (None without ``refit``).
    out : pathlib.Path, optional
        The sweep's folder, if any.
    files : list, optional
        The files written to ``out``.
    n_failed : int
        Fits that raised (their rows hold the error; a resumed sweep tries them again, each at
        most ``MAX_ATTEMPTS`` times in all).
    first_error : str, optional
        The error of the first failed fit (by candidate, then fold).
    """

    best_params: dict
    best_score: float
    best_index: int
    rows: list
    candidates: list
    n_splits: int
    n_fitted: int
    n_from_journal: int
    seconds: float
    where: str
    best_estimator: object = None
    out: Path | None = None
    files: list = field(default_factory=list)
    n_failed: int = 0
    first_error: str | None = None


class _Progress:
    """'sweep: 12/40 fits done' on one line (rewritten in place on a terminal, a new line at most
    every 5% elsewhere)."""

    def __init__(self, total, done, stream, enabled):
        self.total, self.done, self.stream, self.enabled = total, done, stream, enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()
        self.step = max(1, total // 20)
        self.last = -1

    def show(self, final=False):
        if not self.enabled:
            return
        if self.tty and final and self.last == self.done:
            self.stream.write("\n")
            return
        if not self.tty and self.last == self.done:
            return
        if not (self.tty or final or self.done - self.last >= self.step or self.done == self.total):
            return
        self.last = self.done
        line = f"sweep: {self.done}/{self.total} fits done ({time.perf_counter() - self.start:.1f} s)"
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


def _check_estimator(estimator):
    for method in ("get_params", "set_params", "fit"):
        if not callable(getattr(estimator, method, None)):
            raise TypeError(f"estimator must be a scikit-learn estimator (get_params, set_params, fit); "
                            f"{type(estimator).__name__} has no {method}()")


def _check_scoring(estimator, scoring) -> None:
    """Refuse an unknown scoring name before the first fit (scikit-learn's own check and wording)."""
    from sklearn.metrics import check_scoring, get_scorer

    try:
        get_scorer(scoring) if isinstance(scoring, str) else check_scoring(estimator, scoring=scoring)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"scoring: {exc}") from None


def _check_values(estimator, candidates) -> None:
    """Refuse, before the first fit, a candidate whose values the estimator declares invalid: an
    estimator (or a Pipeline's steps) with scikit-learn's ``_parameter_constraints`` checks them
    with its own ``_validate_params``, as its ``fit`` would first."""
    from sklearn.base import clone

    for i, candidate in enumerate(candidates):
        est = clone(estimator).set_params(**candidate)
        for part in [est, *(step for _, step in getattr(est, "steps", []) if step not in (None, "passthrough"))]:
            if getattr(type(part), "_parameter_constraints", None) and callable(getattr(part, "_validate_params", None)):
                try:
                    part._validate_params()
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"candidate {i} ({candidate}): {exc}") from None


def _candidates(estimator, params, n_iter, random_state) -> tuple[list, str]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    grids = params if isinstance(params, (list, tuple)) else [params]
    if not grids or not all(isinstance(g, dict) and g for g in grids):
        raise ValueError(f"params must be a non-empty dict {{name: values}} or a list of them; got {params!r}")
    known = estimator.get_params(deep=True)
    for g in grids:
        unknown = [n for n in g if n not in known]
        if unknown:
            raise ValueError(f"params names {unknown} that {type(estimator).__name__} does not have; "
                             f"its parameters are: {', '.join(sorted(known))}")
    if n_iter is None:
        for g in grids:
            for n, v in g.items():
                if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) == 0:
                    raise ValueError(f"params[{n!r}] must be a non-empty list of values for a grid search; "
                                     f"got {v!r} (pass n_iter for a random search over distributions)")
        return list(ParameterGrid(list(grids))), "grid"
    n_iter = check_int("n_iter", n_iter, 1)
    return list(ParameterSampler(list(grids), n_iter, random_state=random_state)), "random"


def _manifest(estimator, candidates, splits, scoring, X, y, search) -> dict:
    import hashlib

    h = hashlib.sha256()
    for train, test in splits:
        h.update(np.asarray(train, np.int64).tobytes() + b"|" + np.asarray(test, np.int64).tobytes() + b";")
    return {"estimator": type(estimator).__name__,
            "estimator_params": {k: tables.plain(v) for k, v in estimator.get_params(deep=True).items()},
            "search": search, "candidates": [tables.plain(c) for c in candidates],
            "n_candidates": len(candidates), "n_splits": len(splits), "folds_sha256": h.hexdigest(),
            "scoring": tables.plain(scoring), "data_sha256": data_digest(X, y)}


def sweep(estimator, params, X, y=None, *, n_iter=None, cv=5, scoring=None, out=None, resume=False,
          scheduler=None, n_jobs=None, blas_threads=1, random_state=0, refit=True, error_score=np.nan,
          groups=None, progress=True, stream=None) -> SweepResult:
    """Cross-validate every candidate of a grid (or random draws) of an estimator's hyperparameters.

    The candidates are ranked by their mean test score and the best is refitted on all of (X, y).
    Every finished fit is journaled in ``out`` at once, so an interrupted sweep loses nothing:
    ``resume=True`` runs only the fits not done yet. A fit that lost a worker is dispatched again,
    never recorded as failed.

    Parameters
    ----------
    estimator : estimator
        A scikit-learn compatible estimator (a chainrule model or a Pipeline).
    params : dict or list of dict
        ``{name: [values]}`` (a list of such dicts for several grids), names as
        ``estimator.get_params()`` lists them (``model__alpha`` inside a Pipeline); with ``n_iter``,
        values may also be scipy distributions (``ParameterSampler``, seeded by ``random_state``).
    X : array_like
        The samples.
    y : array_like, optional
        The targets.
    n_iter : int, optional
        Draw this many random candidates instead of the whole grid.
    cv : int or splitter, default 5
        Folds (an int: stratified k-fold for classifiers) or a scikit-learn splitter.
    scoring : str or callable, optional
        scikit-learn's scoring (None: the estimator's ``score``).
    out : str or os.PathLike, optional
        A folder for the journal, results.csv, results.json, sweep.png and, if the best model is a
        chainrule model, model.safetensors; None keeps everything in memory.
    resume : bool, default False
        Continue the sweep journaled in ``out``; fits already done are not run again.
    scheduler : str, optional
        A Dask scheduler address ``tcp://HOST:PORT`` (default ``$CHAINRULE_SCHEDULER``; none: loky
        on this machine's cores).
    n_jobs : int, optional
        Processes on this machine (-1: every core; 1: in this process).
    blas_threads : int, default 1
        BLAS threads per fit (threadpoolctl).
    random_state : int, default 0
        Seeds the random draws of candidates.
    refit : bool, default True
        Refit the best candidate on all of (X, y).
    error_score : float, default nan
        The score recorded for a fit that raised.
    groups : array_like, optional
        Group labels for a group-aware splitter.
    progress : bool, default True
        Show the "k/n fits" line.
    stream : file-like, optional
        Where progress goes (default: standard error).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        If ``params`` names a hyperparameter the estimator does not have, or an argument is out of
        range.
    SweepMismatch
        If ``out`` holds another sweep (or one to be resumed with ``resume=True``).
    SweepInterrupted
        If workers kept being lost; the journal keeps what was done.
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import check_cv

    _check_estimator(estimator)
    _check_scoring(estimator, scoring)
    blas_threads = check_int("blas_threads", blas_threads, 1)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer))
                               or not (n_jobs >= 1 or n_jobs == -1)):
        raise ValueError(f"n_jobs must be a number of processes >= 1, -1 for every core, or None; got {n_jobs!r}")
    candidates, search = _candidates(estimator, params, n_iter, random_state)
    _check_values(estimator, candidates)
    splits = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y, groups))
    stream = sys.stderr if stream is None else stream
    lock = None
    journal = Journal(out)
    if out is not None:
        from ..io.lock import PathLock
        lock = PathLock(out).acquire()           # one live driver per sweep folder
    try:
        manifest = _manifest(estimator, candidates, splits, scoring, X, y, search)
        journal.open(manifest, resume)
        total = len(candidates) * len(splits)
        keys = [(i, k) for i in range(len(candidates)) for k in range(len(splits))]
        from_journal = total - len(journal.to_run(keys))       # failed fits tried again are not "from the journal"
        bar = _Progress(total, from_journal, stream, progress)
        t0 = time.perf_counter()
        shared = [X, y, *(part for fold in splits for part in fold)]   # sent to every Dask worker once, up front
        with backend(scheduler, n_jobs, blas_threads, data=shared) as where:
            if progress:
                stream.write(f"sweep: {len(candidates)} candidates x {len(splits)} folds = {total} fits on "
                             f"{where}" + (f"; {from_journal} done already (journal)" if from_journal else "") + "\n")
            fitted = 0
            for attempt in range(1 + RETRIES):
                # a lost worker loses only the fits it was running: the pairs not in the journal are
                # dispatched again (up to RETRIES times); each finished pair is journaled exactly once
                pending = journal.to_run(keys)
                tasks = (delayed(fit_one)(key, estimator, candidates[key[0]], X, y, splits[key[1]][0],
                                          splits[key[1]][1], scoring, blas_threads, error_score) for key in pending)
                try:
                    for key, record in Parallel(return_as="generator_unordered", batch_size=1)(tasks):
                        fitted += journal.add(tuple(key), record)
                        bar.done = from_journal + fitted
                        bar.show()
                    break
                except KeyboardInterrupt:
                    bar.show(final=True)
                    raise
                except Exception as exc:
                    if not worker_lost(exc):
                        raise
                    if attempt < RETRIES:
                        continue
                    raise SweepInterrupted(
                        f"a worker was lost {RETRIES + 1} times ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); {len(journal.done)} of {total} fits are "
                        "in the journal" + (f" in {out}: run the same sweep with resume=True (--resume) to finish "
                                            "the others" if out is not None else "")) from exc
        bar.show(final=True)
        result = _finish(estimator, candidates, splits, journal, X, y, out, refit, search, scoring,
                         time.perf_counter() - t0, where, fitted, from_journal, clone)
    finally:
        if lock is not None:
            lock.release()
    return result


#: how many times the fits of a lost worker are dispatched again before the sweep stops
RETRIES = 2


def _finish(estimator, candidates, splits, journal, X, y, out, refit, search, scoring, seconds, where,
            fitted, from_journal, clone) -> SweepResult:
    table = tables.build(candidates, len(splits), journal.done)
    failed = journal.failed()
    first_error = None
    if failed:
        (i, k), record = failed[0]
        first_error = f"candidate {i} ({_shown(candidates[i])}), fold {k}: {record['error']}"
    best_params = table["best_params"]
    best = None
    if refit and math.isfinite(table["best_score"]):
        best = clone(estimator).set_params(**best_params).fit(X, y)
    result = SweepResult(best_params=best_params, best_score=table["best_score"], best_index=table["best_index"],
                         rows=table["rows"], candidates=candidates, n_splits=len(splits), n_fitted=fitted,
                         n_from_journal=from_journal, seconds=seconds, where=where, best_estimator=best,
                         out=Path(out) if out is not None else None, n_failed=len(failed), first_error=first_error)
    everything_failed = len(failed) == len(table["rows"])
    if out is not None:
        extra = {"estimator": type(estimator).__name__, "search": search, "scoring": tables.plain(scoring),
                 "n_candidates": len(candidates), "n_splits": len(splits), "n_failed": len(failed),
                 "max_attempts": MAX_ATTEMPTS}
        tables.write(table, out, extra)
        result.files += ["results.csv", "results.json"]
    if everything_failed:
        retry = any(r.get("attempts", 1) < MAX_ATTEMPTS for _, r in failed)
        again = (f"; resume=True (--resume) tries them again, each at most {MAX_ATTEMPTS} times in all" if retry
                 else f"; each was tried {MAX_ATTEMPTS} times")
        raise SweepFailed(f"all {len(failed)} fits failed{again}. The first: {first_error}", result)
    if out is None:
        return result
    from .picture import plot_sweep
    plot_sweep(table, candidates, search, Path(out) / "sweep.png",
               title=f"{type(estimator).__name__}: {len(splits)}-fold {search} search")
    result.files.append("sweep.png")
    if best is not None:
        from .. import io
        try:
            io.save(best, Path(out) / "model.safetensors")
            result.files.append("model.safetensors")
        except TypeError as exc:
            import warnings
            warnings.warn(f"the best model is not written as a model file: {exc}", UserWarning, stacklevel=3)
    return result


def _shown(params: dict) -> str:
    """'alpha=0.01, hidden_layer_sizes=(64,)': NumPy scalars as plain numbers, a Pipeline's
    ``model__`` prefix dropped (what a person typed)."""
    return ", ".join(f"{k.removeprefix('model__')}={tables.python(v)!r}" for k, v in params.items())
