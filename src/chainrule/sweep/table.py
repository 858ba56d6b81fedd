"""The results table of a sweep: one row per fit (candidate, fold) with its parameters, scores and
times, plus each candidate's mean and rank; written as CSV and JSON.

Candidates are ranked as scikit-learn's searches rank them (``GridSearchCV.cv_results_``): by
the mean test score over the folds, rank 1 the best, ties sharing the lowest rank, a candidate
whose fit failed (score NaN) last; the best is the first candidate of rank 1.
"""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from ..io.atomic import atomic_write_text

#: columns that depend on the machine and the moment, not on the sweep (left out of comparisons)
TIMING_COLUMNS = ("fit_time", "score_time", "worker")


def plain(value):
    """A parameter value as plain JSON (tuples as lists, NumPy numbers as numbers, anything else
    that JSON cannot hold, such as an estimator or a distribution, as its repr)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else repr(f)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    return repr(value)


def python(value):
    """``value`` with NumPy scalars made Python numbers, inside tuples and lists too, so that its
    repr is what a person would type (``0.0027``, not ``np.float64(0.0027)``)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(python(v) for v in value)
    if isinstance(value, list):
        return [python(v) for v in value]
    return value


def _score(v):
    return float("nan") if v is None else float(v)


def rank(means: np.ndarray) -> np.ndarray:
    """Ranks 1, 2, ... of the mean scores (higher is better; ties share the lowest rank; NaN last)."""
    from scipy.stats import rankdata

    filled = np.where(np.isnan(means), -np.inf, means)
    return rankdata(-filled, method="min").astype(int)


def build(candidates: list[dict], n_splits: int, records: dict) -> dict:
    """The table from the journal's records: ``{"rows": [...], "best_index", "best_params",
    "best_score", "mean_test_score", "std_test_score", "rank_test_score"}``."""
    names = sorted({k for c in candidates for k in c})
    scores = np.full((len(candidates), n_splits), np.nan)
    for (i, k), r in records.items():
        scores[i, k] = _score(r.get("test_score"))
    with np.errstate(invalid="ignore"):
        means = scores.mean(axis=1)
        stds = scores.std(axis=1)
    ranks = rank(means)
    rows = []
    for i, params in enumerate(candidates):
        for k in range(n_splits):
            r = records[(i, k)]
            row = {"candidate": i, "fold": k}
            row.update({f"param_{n}": plain(params.get(n)) for n in names})
            row.update({"test_score": _score(r.get("test_score")), "train_score": _score(r.get("train_score")),
                        "mean_test_score": float(means[i]), "std_test_score": float(stds[i]),
                        "rank_test_score": int(ranks[i]), "fit_time": r.get("fit_time"),
                        "score_time": r.get("score_time"), "error": r.get("error"), "worker": r.get("worker")})
            rows.append(row)
    best = int(np.argmin(ranks))
    return {"rows": rows, "param_names": names, "best_index": best, "best_params": candidates[best],
            "best_score": float(means[best]), "mean_test_score": means, "std_test_score": stds,
            "rank_test_score": ranks}


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)                           # every digit: the CSV holds the exact score
    return v


def write(table: dict, folder, extra: dict) -> None:
    """results.csv and results.json in ``folder`` (both atomic)."""
    rows = table["rows"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    atomic_write_text(f"{folder}/results.csv", buf.getvalue())
    doc = {**extra, "best_index": table["best_index"], "best_params": plain(table["best_params"]),
           "best_score": plain(table["best_score"]), "rows": [{k: plain(v) for k, v in r.items()} for r in rows]}
    atomic_write_text(f"{folder}/results.json", json.dumps(doc, indent=1))
