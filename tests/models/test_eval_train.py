"""fit(eval_train=...): the training set measured in evaluation mode at each epoch's end, on the
validation loss's definition, so that a run's training and validation curves compare."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss

from chainrule.models import LinearRegression, MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600], X[600:800] / 16, y[600:800]


def _fit(X, y, **fit_kw):
    clf = MLPClassifier((32,), dropout=0.5, max_iter=4, batch_size=32, random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(X, y, **fit_kw)


def test_train_metrics_are_the_eval_mode_data_loss_and_accuracy_of_the_last_weights(digits):
    X, y, Xv, yv = digits
    clf = _fit(X, y, validation_data=(Xv, yv), eval_train=True)
    h = clf.history_
    assert len(h["train_loss"]) == len(h["val_loss"]) == 4
    last = h.last
    # the same definition as val_loss (mean data loss in eval mode, no penalty), on the training set
    assert last["train_loss"] == pytest.approx(log_loss(y, clf.predict_proba(X), labels=clf.classes_), rel=1e-9)
    assert last["val_loss"] == pytest.approx(log_loss(yv, clf.predict_proba(Xv), labels=clf.classes_), rel=1e-9)
    assert last["train_accuracy"] == pytest.approx(clf.score(X, y))
    # with dropout 0.5 the running figures of training mode differ from the eval-mode measurement
    assert last["loss"] != pytest.approx(last["train_loss"], rel=1e-3)


def test_a_sample_of_n_rows_evenly_spaced_and_the_same_random_stream(digits):
    X, y, _, _ = digits
    plain = _fit(X, y)
    sampled = _fit(X, y, eval_train=50)
    assert "train_loss" not in plain.history_.fields()
    for a, b in zip(plain.model_.parameters(), sampled.model_.parameters()):
        np.testing.assert_array_equal(a.value, b.value)      # measuring draws nothing from the run's generator
    rows = np.unique(np.linspace(0, len(y) - 1, 50).round().astype(int))
    expected = log_loss(y[rows], sampled.predict_proba(X[rows]), labels=sampled.classes_)
    assert sampled.history_.last["train_loss"] == pytest.approx(expected, rel=1e-9)
    assert sampled.history_.last["train_accuracy"] == pytest.approx(sampled.score(X[rows], y[rows]))


def test_lbfgs_records_train_metrics_too(digits):
    X, y, _, _ = digits
    clf = MLPClassifier((16,), solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, eval_train=True)
    assert len(clf.history_["train_accuracy"]) == len(clf.history_)
    assert clf.history_.last["train_accuracy"] == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize("bad", [0, -3, 2.5, "all"])
def test_bad_eval_train_names_the_argument(digits, bad):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="eval_train must be .* got"):
        MLPClassifier((4,), max_iter=1).fit(X, y, eval_train=bad)


def test_lstsq_refuses_eval_train_it_would_ignore():
    with pytest.raises(ValueError, match="eval_train applies to the epochs of the iterative solvers; solver='lstsq' has none"):
        LinearRegression(solver="lstsq").fit(np.ones((4, 1)), np.arange(4.0), eval_train=True)


@pytest.mark.parametrize("make", [lambda: LinearRegression(), lambda: MLPRegressor((8,), max_iter=3, random_state=0)])
def test_regression_errors_are_the_rmse_of_the_predictions(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = make().fit(X[:80], y[:80], validation_data=(X[80:], y[80:]), eval_train=True)
    rmse = lambda A, b: float(np.sqrt(np.mean((reg.predict(A) - b) ** 2)))  # noqa: E731
    # one output: y of shape (N,) against the network's (N, 1) must not broadcast to (N, N)
    assert reg.history_.last["val_error"] == pytest.approx(rmse(X[80:], y[80:]), rel=1e-9)
    assert reg.history_.last["train_error"] == pytest.approx(rmse(X[:80], y[:80]), rel=1e-9)
