"""A sweep tells the truth (issue 19.3 and the sweep items of issue 22): options are checked before
the first fit; a failed fit is recorded as failed with its error, shown, and tried again by a
resume a bounded number of times; a sweep whose every fit failed says so (exit 1); the best line,
the picture and config.json show values as a person types them."""
import csv
import json
import os

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sweep_helpers import digits, network

from chainrule.cli import main
from chainrule.sweep import MAX_ATTEMPTS, SweepFailed, plot_sweep, sweep


class Flaky(ClassifierMixin, BaseEstimator):
    """Fails while the file ``broken`` exists (as a fit fails for a reason of the machine), else
    predicts the first class; ``bad=True`` fails always (a value no fit accepts)."""

    def __init__(self, broken="", bad=False):
        self.broken, self.bad = broken, bad

    def fit(self, X, y):
        if self.bad or os.path.exists(self.broken):
            raise ValueError(f"cannot fit (bad={self.bad})")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.fixture(scope="module")
def data():
    return digits(120)


def _records(out):
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "journal").glob("*.json"))}


def test_a_failed_fit_is_recorded_as_failed_and_a_resume_tries_it_again(data, tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("")
    out = tmp_path / "sweep"
    with pytest.raises(SweepFailed) as info:                   # every fit fails while the machine is "broken"
        sweep(Flaky(str(broken)), {"bad": [False, True]}, *data, cv=2, n_jobs=1, out=out, progress=False)
    result = info.value.result
    failed = [r for r in result.rows if r["error"]]
    assert len(failed) == result.n_failed == 4 and result.first_error.startswith("candidate 0 (bad=False), fold 0: "
                                                                                    "ValueError: cannot fit")
    assert {r["attempts"] for r in _records(out).values()} == {1}
    with open(out / "results.csv") as f:
        assert [row["error"] for row in csv.DictReader(f)] == [r["error"] for r in result.rows]
    broken.unlink()                                              # the machine is fine again
    again = sweep(Flaky(str(broken)), {"bad": [False, True]}, *data, cv=2, n_jobs=1, out=out, resume=True,
                  progress=False)
    assert (again.n_fitted, again.n_from_journal, again.n_failed) == (4, 0, 2)
    assert again.best_params == {"bad": False} and np.isfinite(again.best_score)
    records = _records(out)
    assert [r["attempts"] for r in records.values()] == [2, 2, 2, 2]
    assert [r["error"] is None for r in records.values()] == [True, True, False, False]


def test_retries_are_bounded(data, tmp_path):
    out = tmp_path / "sweep"
    first = sweep(Flaky(), {"bad": [False, True]}, *data, cv=2, n_jobs=1, out=out, progress=False)
    assert first.n_failed == 2
    runs = [sweep(Flaky(), {"bad": [False, True]}, *data, cv=2, n_jobs=1, out=out, resume=True, progress=False)
            for _ in range(MAX_ATTEMPTS + 1)]
    assert [r.n_fitted for r in runs] == [2] * (MAX_ATTEMPTS - 1) + [0, 0]       # then it stops trying
    assert [r.n_from_journal for r in runs] == [2] * (MAX_ATTEMPTS - 1) + [4, 4]
    assert {r["attempts"] for r in _records(out).values() if r["error"]} == {MAX_ATTEMPTS}


def test_a_sweep_whose_every_fit_failed_raises_with_the_first_error(data, tmp_path):
    out = tmp_path / "sweep"
    with pytest.raises(SweepFailed, match=r"all 4 fits failed; resume=True \(--resume\) tries them again, each at "
                                          r"most 3 times in all. The first: candidate 0 \(max_iter=-5\), fold 0: "
                                          r"ValueError: The 'max_iter' parameter of MLPClassifier must be") as info:
        sweep(network(), {"max_iter": [-5, -6]}, *data, cv=2, n_jobs=1, out=out, progress=False)
    assert info.value.result.n_failed == 4 and (out / "results.csv").exists()


def test_an_unknown_scoring_is_refused_before_the_first_fit(data, tmp_path):
    with pytest.raises(ValueError, match="scoring: 'accurcy' is not a valid scoring value"):
        sweep(network(), {"alpha": [1e-4]}, *data, cv=2, n_jobs=1, scoring="accurcy", out=tmp_path / "s",
              progress=False)
    assert not (tmp_path / "s").exists()


def test_a_value_an_estimator_declares_invalid_is_refused_before_the_first_fit(data, tmp_path):
    from sklearn.linear_model import LogisticRegression
    with pytest.raises(ValueError, match=r"candidate 1 \({'C': -1.0}\): The 'C' parameter of LogisticRegression"):
        sweep(LogisticRegression(), {"C": [1.0, -1.0]}, *data, cv=2, n_jobs=1, out=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


# ---- the command line ---------------------------------------------------------------------------
SMALL = ["--cv", "2", "--max-samples", "120", "--n-jobs", "1", "--quiet"]


@pytest.mark.parametrize("argv, message", [
    (["--param", "alpha=1e-4", "--scoring", "accurcy"], "--scoring accurcy: not a scikit-learn scoring name; did you "
                                                        "mean accuracy"),
    (["--param", "alpha=1e-4,1e-2x"], "--param alpha: expected a number (its default is 0.0001); got '1e-2x'"),
    (["--param", "alpha=1e-4", "--set", "max_iter=abc"], "--set max_iter: expected a number (its default is 200); "
                                                         "got 'abc'"),
    (["--param", "alpha=1e-4", "--set", "early_stopping=yes"], "--set early_stopping: expected True or False (its "
                                                               "default is False); got 'yes'"),
    (["--param", "alpah=1e-4"], "--param alpah: the model has no such hyperparameter"),
])
def test_bad_options_are_one_line_and_exit_2_before_any_fit(argv, message, tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", *argv, *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("param", ["max_iter=-5", "hidden_layer_sizes=(0,)"])
def test_a_sweep_whose_every_fit_failed_exits_1_with_the_first_error(param, tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "--param", param, "--set", "max_iter=2", *SMALL, "--out", str(out)]
                if param.startswith("hidden") else ["sweep", "--param", param, *SMALL, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule sweep: all 2 fits failed; resume=True (--resume) tries them again")
    assert f"The first: candidate 0 ({param}), fold 0: ValueError: " in err and len(err.splitlines()) == 1
    assert "mean score nan" not in err and (out / "results.csv").exists()


def test_some_failed_fits_are_named_on_the_last_line(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "--param", "hidden_layer_sizes=(0,),(8,)", "--set", "max_iter=2", *SMALL,
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("best: hidden_layer_sizes=(8,)  (mean 2-fold score ")
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("chainrule sweep: 2 of 4 fits failed (their rows in results.csv say why; --resume tries "
                           "them again, each at most 3 times in all). The first: candidate 0 "
                           "(hidden_layer_sizes=(0,)), fold 0: ValueError")


def test_best_line_and_config_show_values_as_typed(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "--param", "alpha=loguniform(1e-4,1e-1)", "--random", "2", "--set", "max_iter=2", *SMALL,
                 "--out", str(out)]) == 0
    best = capsys.readouterr().out.splitlines()[0]
    assert best.startswith("best: alpha=0.") and "np.float64" not in best
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["out"] == str(out.resolve())              # not "PosixPath('...')"
    assert "given" not in config["settings"] and "argv" not in config["settings"]
    assert "np.float64" not in json.dumps(config)


def test_the_picture_names_axes_as_typed_and_orders_values_alike_in_every_panel():
    candidates = [{"model__alpha": a, "model__hidden_layer_sizes": h}
                  for a in (1e-4, 1e-2) for h in [(128,), (64,), (64, 32)]]
    n = len(candidates)
    table = {"mean_test_score": np.linspace(0.5, 0.9, n), "std_test_score": np.zeros(n), "best_index": n - 1}
    fig = plot_sweep(table, candidates, "grid")
    alpha, sizes, heat = fig.axes[:3]
    assert (alpha.get_xlabel(), sizes.get_xlabel(), heat.get_xlabel(), heat.get_ylabel()) == \
        ("alpha", "hidden_layer_sizes", "hidden_layer_sizes", "alpha")
    panel = [t.get_text() for t in sizes.get_xticklabels()]
    heat_order = [t.get_text() for t in heat.get_xticklabels()]
    assert panel == heat_order == ["(64,)", "(64, 32)", "(128,)"]
    assert [t.get_text() for t in heat.get_yticklabels()] == ["0.0001", "0.01"]
