"""chainrule.sweep in one process: the same ranking as scikit-learn's GridSearchCV, the files it
writes, random search, BLAS limits, failed fits, resume without refitting, and refusals."""
import csv
import io
import json

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, ParameterSampler, StratifiedKFold
from sweep_helpers import GRID, BlasThreads, comparable, digits, network

from chainrule import io as cio
from chainrule.sweep import SweepMismatch, sweep


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.fixture(scope="module")
def grid_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "run"
    stream = io.StringIO()
    result = sweep(network(), GRID, *data, cv=3, n_jobs=1, out=out, stream=stream)
    return result, out, stream.getvalue()


def test_scores_and_best_are_gridsearchcvs(data, grid_run):
    """Same candidates, same folds, same fit-and-score: the same mean scores and best parameters."""
    result, _, _ = grid_run
    ref = GridSearchCV(network(), GRID, cv=StratifiedKFold(3), n_jobs=1).fit(*data)
    assert [dict(c) for c in ref.cv_results_["params"]] == result.candidates
    means = [result.rows[3 * i]["mean_test_score"] for i in range(len(result.candidates))]
    np.testing.assert_array_equal(means, ref.cv_results_["mean_test_score"])
    assert [result.rows[3 * i]["rank_test_score"] for i in range(4)] == list(ref.cv_results_["rank_test_score"])
    assert result.best_params == ref.best_params_ and result.best_score == ref.best_score_
    assert len(set(means)) > 1                     # the grid matters: a real ranking was tested


def test_files_table_picture_model(data, grid_run):
    result, out, progress = grid_run
    assert sorted(result.files) == ["model.safetensors", "results.csv", "results.json", "sweep.png"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    doc = json.loads((out / "results.json").read_text())
    assert len(rows) == len(doc["rows"]) == 12                      # one row per fit: 4 candidates x 3 folds
    assert {(int(r["candidate"]), int(r["fold"])) for r in rows} == {(i, k) for i in range(4) for k in range(3)}
    for r, j in zip(rows, doc["rows"]):
        assert float(r["test_score"]) == j["test_score"] and float(r["fit_time"]) > 0
        assert float(r["param_alpha"]) == j["param_alpha"] and "param_learning_rate_init" in r
    assert doc["best_params"] == result.best_params
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = cio.load(out / "model.safetensors")               # the refitted best model, as a model file
    assert best.get_params()["alpha"] == result.best_params["alpha"]
    np.testing.assert_array_equal(best.predict_proba(data[0]), result.best_estimator.predict_proba(data[0]))
    assert "12/12 fits done" in progress and progress.count("fits done") <= 13
    assert len(list((out / "journal").glob("*.json"))) == 12


def test_random_search_draws_as_parameter_sampler(data):
    from scipy.stats import loguniform

    dist = {"alpha": loguniform(1e-5, 1e-1), "learning_rate_init": [3e-3, 3e-2]}
    result = sweep(network(2), dist, *data, n_iter=3, cv=2, n_jobs=1, random_state=4, progress=False)
    assert result.candidates == list(ParameterSampler(dist, 3, random_state=4))
    assert len(result.rows) == 6 and result.best_params in result.candidates


def test_blas_threads_are_limited_per_fit(data):
    """Any scikit-learn estimator works; its fits see exactly the BLAS threads asked for."""
    one = sweep(BlasThreads(), {"c": [0, 1]}, *data, cv=2, n_jobs=1, blas_threads=1, progress=False)
    assert {r["test_score"] for r in one.rows} == {1.0}
    two = sweep(BlasThreads(), {"c": [0, 1]}, *data, cv=2, n_jobs=1, blas_threads=2, progress=False)
    from threadpoolctl import threadpool_info
    most = max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)
    assert {r["test_score"] for r in two.rows} == {float(min(2, most))}


def test_failed_fits_are_recorded_and_ranked_last(data):
    result = sweep(network(2), {"loss": ["nope", "softmax"]}, *data, cv=2, n_jobs=1, progress=False)
    bad = [r for r in result.rows if r["param_loss"] == "nope"]
    assert all(np.isnan(r["test_score"]) and "loss must be one of" in r["error"] for r in bad)
    assert all(r["rank_test_score"] == 2 for r in bad) and result.best_params == {"loss": "softmax"}


def test_resume_runs_only_the_missing_fits(data, grid_run, tmp_path):
    result, out, _ = grid_run
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    records = sorted((copy / "journal").glob("*.json"))
    removed = records[1::3]                               # 4 of the 12 fits "never finished"
    kept = {p.name: p.read_bytes() for p in records if p not in removed}
    for p in removed:
        p.unlink()
    again = sweep(network(), GRID, *data, cv=3, n_jobs=1, out=copy, resume=True, progress=False)
    assert (again.n_fitted, again.n_from_journal) == (4, 8)
    assert {p.name: p.read_bytes() for p in sorted((copy / "journal").glob("*.json")) if p.name in kept} == kept
    assert comparable(again.rows) == comparable(result.rows)
    assert again.best_params == result.best_params


def test_a_folder_holds_one_sweep(data, grid_run):
    _, out, _ = grid_run
    with pytest.raises(SweepMismatch, match="already holds a sweep; continue it with resume=True"):
        sweep(network(), GRID, *data, cv=3, n_jobs=1, out=out, progress=False)
    with pytest.raises(SweepMismatch, match="candidates"):
        sweep(network(), {"alpha": [1.0]}, *data, cv=3, n_jobs=1, out=out, resume=True, progress=False)
    X, y = data
    with pytest.raises(SweepMismatch, match="data_sha256"):
        sweep(network(), GRID, X + 1, y, cv=3, n_jobs=1, out=out, resume=True, progress=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"params": {"alpah": [1]}}, ValueError, r"params names \['alpah'\].*its parameters are: .*alpha"),
    ({"params": {"alpha": 0.1}}, ValueError, r"params\['alpha'\] must be a non-empty list"),
    ({"params": {}}, ValueError, "params must be a non-empty dict"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be a number of processes >= 1, -1 for every core, or None; got 0"),
    ({"blas_threads": 0}, ValueError, "blas_threads must be a positive integer; got 0"),
    ({"scheduler": "localhost"}, ValueError, "scheduler must be a Dask scheduler address like tcp://HOST:PORT"),
    ({"estimator": object()}, TypeError, "estimator must be a scikit-learn estimator"),
])
def test_bad_arguments_are_named(data, kwargs, error, match):
    args = {"estimator": network(1), "params": {"alpha": [1e-4]}, **kwargs}
    with pytest.raises(error, match=match):
        sweep(args.pop("estimator"), args.pop("params"), *data, cv=2, progress=False, **args)


def test_environment_scheduler_is_checked(data, monkeypatch):
    monkeypatch.setenv("CHAINRULE_SCHEDULER", "8786")
    with pytest.raises(ValueError, match="CHAINRULE_SCHEDULER must be a Dask scheduler address"):
        sweep(network(1), {"alpha": [1e-4]}, *data, cv=2, progress=False)


def test_a_sweep_that_never_fitted_may_start_again(tmp_path):
    """A first start that failed before any fit (an unreachable scheduler) does not need --resume."""
    from chainrule.sweep.journal import Journal
    manifest = {"n_candidates": 2, "n_splits": 2, "candidates": [{"a": 1}, {"a": 2}]}
    Journal(tmp_path).open(manifest, resume=False)
    journal = Journal(tmp_path).open(manifest, resume=False)
    journal.add((0, 1), {"candidate": 0, "fold": 1, "test_score": 0.5})
    with pytest.raises(SweepMismatch, match="already holds a sweep"):
        Journal(tmp_path).open(manifest, resume=False)
    assert list(Journal(tmp_path).open(manifest, resume=True).done) == [(0, 1)]
    with pytest.raises(SweepMismatch, match="already holds a sweep"):
        Journal(tmp_path).open({**manifest, "n_splits": 3}, resume=False)
