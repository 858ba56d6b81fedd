"""The same names everywhere (issue 20.6): every estimator takes scikit-learn's name for a meaning it
shares, the 0.1 names keep working with a FutureWarning that says they go in 0.3, solver='auto'
never turns an explicit minibatch request into L-BFGS, and the version is 0.2.0 with a changelog
that lists every rename."""
import inspect
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import chainrule
from chainrule import models

ESTIMATORS = [models.LinearClassifier, models.LinearRegression, models.PolynomialRegression, models.MLPClassifier,
              models.MLPRegressor, models.CNNClassifier]
OLD = {"optimizer": "solver", "lr": "learning_rate_init", "epochs": "max_iter", "nesterov": "nesterovs_momentum"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600], X[1200:] / 16, y[1200:]


def _defaults(cls):
    return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_scikit_learns_names_and_the_old_ones_only_as_deprecated(cls):
    params = _defaults(cls)
    assert {"solver", "learning_rate_init", "max_iter", "tol", "batch_size", "random_state", "verbose",
            "warm_start"} <= set(params)
    for old in OLD:
        assert params.get(old, "deprecated") == "deprecated", (cls.__name__, old)


@pytest.mark.parametrize("make_old, make_new", [
    (lambda: models.LinearClassifier(optimizer="sgd", lr=0.05, epochs=3, nesterov=True, random_state=0),
     lambda: models.LinearClassifier(solver="sgd", learning_rate_init=0.05, max_iter=3, nesterovs_momentum=True,
                                     random_state=0)),
    (lambda: models.LinearRegression(solver="gd", optimizer="adam", lr=0.01, epochs=4, random_state=0),
     lambda: models.LinearRegression(solver="adam", learning_rate_init=0.01, max_iter=4, random_state=0)),
    (lambda: models.PolynomialRegression(degree=2, solver="gd", epochs=4, random_state=0),
     lambda: models.PolynomialRegression(degree=2, solver="sgd", max_iter=4, random_state=0)),
    (lambda: models.MLPClassifier((4,), optimizer="sgd", lr=0.05, epochs=3, random_state=0),
     lambda: models.MLPClassifier((4,), solver="sgd", learning_rate_init=0.05, max_iter=3, random_state=0)),
], ids=["LinearClassifier", "LinearRegression", "PolynomialRegression", "MLPClassifier"])
def test_the_0_1_names_warn_that_they_go_in_0_3_and_give_the_same_bits(digits, make_old, make_new):
    X, y, _, _ = digits
    target = y if is_classifier(make_new()) else y.astype(float)
    with pytest.warns(FutureWarning, match=r"goes in 0\.3") as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        old = make_old().fit(X, target)
    assert all("0.4" not in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        new = make_new().fit(X, target)
    assert old.n_iter_ == new.n_iter_
    for k, v in new.model_.state_dict().items():
        np.testing.assert_array_equal(old.model_.state_dict()[k], v, err_msg=k)


def test_auto_never_turns_a_minibatch_request_into_lbfgs(digits):
    """Issue 20's case: LinearClassifier(loss='softmax', epochs=10, batch_size=128) ran 10 L-BFGS
    iterations in 0.1; asked for batches, it now runs 10 epochs of minibatch SGD."""
    X, y, Xte, yte = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        asked = models.LinearClassifier(loss="softmax", max_iter=10, batch_size=128, random_state=0).fit(X, y)
        rate = models.LinearClassifier(loss="softmax", max_iter=10, learning_rate_init=0.1, random_state=0).fit(X, y)
        default = models.LinearClassifier(loss="softmax", max_iter=10, random_state=0).fit(X, y)
    assert "solver" not in asked.history_.info and len(asked.history_) == 10
    assert asked.history_["lr"][0] == 0.03 and rate.history_["lr"][0] == 0.1
    assert default.history_.info["solver"] == "lbfgs"                   # nothing asked for batches: L-BFGS
    assert not hasattr(models.LinearClassifier(), "partial_fit") and hasattr(
        models.LinearClassifier(batch_size=64), "partial_fit")


def test_version_0_2_0_and_a_changelog_that_lists_every_rename():
    assert chainrule.__version__ == "0.2.0"
    assert re.search(r'^version = "0\.2\.0"$', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    log = (ROOT / "CHANGELOG.md").read_text()
    assert "## 0.2.0" in log
    for old, new in OLD.items():
        assert re.search(rf"`{old}` \| `{new}`", log), old
    assert "`chainrule.export` | `chainrule.io.export`" in log and "solver='gd'" in log
    for moved in ("_model_format", "_safe_files", "_atomic", "_lock", "_torch", "_array", "_validation"):
        assert f"`chainrule.{moved}`" in log, moved


def test_alpha_has_one_documented_meaning_per_estimator():
    """The linear models' alpha is the notes' lambda, the networks' scikit-learn's alpha / (2 B):
    a setting each estimator passes explicitly, and each says which in its documentation."""
    X = np.ones((4, 2))
    for cls, per_batch in ((models.LinearClassifier, False), (models.LinearRegression, False),
                           (models.MLPClassifier, True), (models.CNNClassifier, True)):
        est = cls()
        s = est._settings(np.ones((4, 1, 4, 4)) if cls is models.CNNClassifier else X, None)
        assert s.alpha_per_batch is per_batch
        doc = inspect.getdoc(cls)
        assert ("alpha / (2 B)" in doc) is per_batch and ("notes' lambda" in doc) is not per_batch
