"""One fit path, readable top to bottom (issue 20.2): the settings are one frozen object, the solvers
return their results, the estimators are at most two classes below scikit-learn's bases, no class
flag steers a fit, and nothing in the training loop or the optimizers calls back into models/."""
import dataclasses
import inspect
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning

from chainrule import models
from chainrule.models._result import FitResult
from chainrule.models._settings import Settings

ESTIMATORS = [models.LinearClassifier, models.LinearRegression, models.PolynomialRegression, models.MLPClassifier,
              models.MLPRegressor, models.CNNClassifier]
SKLEARN_BASES = (BaseEstimator, ClassifierMixin, RegressorMixin)


def _depth(cls) -> int:
    """The longest chain of chainrule classes from ``cls`` up to one of scikit-learn's bases."""
    if cls in SKLEARN_BASES or not issubclass(cls, SKLEARN_BASES):
        return 0
    return 1 + max(_depth(base) for base in cls.__bases__)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_at_most_two_levels_below_scikit_learns_bases(cls):
    assert _depth(cls) <= 2, [c.__name__ for c in cls.__mro__]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_no_class_flag_steers_a_fit(cls):
    """What differs between estimators is an argument of the settings, not a class attribute."""
    flags = ("_notes_names", "_alpha_per_batch", "_stopping", "_sparse", "_task", "_lr_placeholder",
             "_learning_rate", "_after_fit", "_encode_fit_targets", "_apply_pending_weights")
    assert [f for f in flags if hasattr(cls, f)] == []


def test_settings_are_one_frozen_object():
    s = models.MLPClassifier(max_iter=3)._settings(np.zeros((4, 2)), None)
    assert isinstance(s, Settings) and s.max_iter == 3 and s.alpha_per_batch
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_iter = 4
    linear = models.LinearClassifier()._settings(np.zeros((4, 2)), None)
    assert not linear.alpha_per_batch and linear.solver == "lbfgs" and linear.stopping == "loss"
    assert models.LinearRegression()._settings(np.ones((4, 2)), None).stopping == "gradient"


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_solver_returns_its_results_and_writes_no_estimator(monkeypatch, solver):
    """The solver takes the settings, the network, the loss and the data and returns a FitResult;
    the estimator's fitted attributes are set from it, after it returned."""
    from chainrule.models import _estimator
    seen = {}
    name = "fit_stochastic" if solver == "adam" else "fit_lbfgs"
    original = getattr(_estimator, name)

    def spy(*args, **kwargs):
        est = seen["est"]
        seen["before"] = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
        result = original(*args, **kwargs)
        seen["after"] = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
        seen["result"] = result
        return result

    monkeypatch.setattr(_estimator, name, spy)
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = models.MLPClassifier((4,), solver=solver, max_iter=3, random_state=0)
    seen["est"] = clf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert isinstance(seen["result"], FitResult) and seen["before"] == seen["after"]
    assert clf.n_iter_ == seen["result"].progress.n_iter == 3 and clf.history_ is seen["result"].history
    assert clf.loss_curve_ == seen["result"].progress.loss_curve


def test_the_training_loop_never_calls_back_into_models(tmp_path):
    """training/ and optim/ call only their own floor and the ones below: every call made from
    their code during fits with validation, early stopping, eval_train, a checkpoint, multilabel
    targets, the gradient rule and partial_fit lands outside models/ (the estimator decides
    between epochs; the loop returns)."""
    calls = set()

    def profile(frame, event, arg):
        if event == "call":
            caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
            callee = frame.f_globals.get("__name__", "")
            if caller.startswith(("chainrule.training", "chainrule.optim")) and callee.startswith("chainrule.models"):
                calls.add((caller, frame.f_code.co_qualname))

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    Y = np.column_stack([y, 1 - y, X[:, 1] > 0]).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sys.setprofile(profile)
        try:
            models.MLPClassifier((4,), solver="sgd", learning_rate="adaptive", early_stopping=True, max_iter=4,
                                 checkpoint=str(tmp_path / "run.npz"), random_state=0).fit(X, y, eval_train=10)
            models.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, Y, validation_data=(X, Y))
            models.LinearRegression(max_iter=5, random_state=0).fit(X, X[:, 0])
            models.MLPRegressor((4,), random_state=0).partial_fit(X, X[:, 0])
        finally:
            sys.setprofile(None)
    assert calls == set()


def test_the_fit_path_reads_top_to_bottom_in_one_method():
    """The steps of a fit appear in order in NetworkEstimator._fit: check, settings, network, solver,
    fitted attributes."""
    source = inspect.getsource(models._estimator.NetworkEstimator._fit)
    steps = ["self._check_X_y(", "self._targets(", "self._settings(", "self._build_network(", "fit_stochastic(",
             "self.n_iter_"]
    positions = [source.index(step) for step in steps]
    assert positions == sorted(positions)
