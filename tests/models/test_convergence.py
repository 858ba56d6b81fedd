"""When training stops, and what it says when it did not converge (issues 9.7 and 11): the
stopping rule, the ConvergenceWarning, the learning-rate schedules and divergences."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from chainrule import TrainingDiverged
from chainrule.models import LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor
from chainrule.optim.schedules import Adaptive, InvScaling, make_schedule
from chainrule.training.batching import TrainingData, batch_slices, shuffled_batches


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def test_max_iter_before_tol_warns_and_tol_met_does_not(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((16,), max_iter=500, tol=0.05, random_state=0).fit(X, y)
        MLPClassifier((16,), max_iter=3, random_state=0).partial_fit(X, y, classes=np.arange(10))  # no warning
    assert clf.n_iter_ < 500 and clf.history_.stopped_early


def test_stops_after_n_iter_no_change_plus_one_epochs_without_tol_improvement(digits):
    """scikit-learn's rule: an epoch does not improve when its loss is above best_loss_ - tol;
    more than n_iter_no_change of them in a row end the run."""
    X, y = digits
    tol, patience = 0.02, 3
    clf = MLPClassifier((16,), solver="sgd", learning_rate_init=0.1, tol=tol, n_iter_no_change=patience,
                        max_iter=300, random_state=0).fit(X, y)
    curve, count, best = clf.loss_curve_, 0, np.inf
    for k, loss in enumerate(curve):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > patience:
            break
    assert k == len(curve) - 1 == clf.n_iter_ - 1 and clf.best_loss_ == min(curve)


def test_linear_regression_on_features_scaled_by_1e10_warns_instead_of_staying_silent():
    """Issue 9.7: gradient descent on [1e10 x, 1] moves the intercept by 1e-20 per step. The loss
    stops changing (it cannot drop by less than its rounding) while its gradient stays large."""
    x = np.linspace(0, 1, 50)
    y = 0.5 * x + 2.0
    with pytest.warns(ConvergenceWarning, match=r"gradient descent did not converge in 300 epochs: the largest entry "
                                                r"of the gradient is still [0-9.e+-]+ \(tol=1e-06\)"):
        bad = LinearRegression(max_iter=300, random_state=0).fit(1e10 * x[:, None], y)
    assert abs(bad.intercept_ - 2.0) > 0.5 and bad.history_["grad_max"][-1] > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        good = LinearRegression(random_state=0).fit(x[:, None], y)
    assert good.intercept_ == pytest.approx(2.0, abs=1e-4) and good.n_iter_ < 5000
    assert good.history_["grad_max"][-1] <= 1e-6 < good.history_["grad_max"][-2]


def test_adam_near_the_float32_limits_raises_training_diverged_naming_the_cause(digits):
    """Issue 9.7: inputs near 1e30 in float32 make Adam's g^2 overflow; the estimator says so."""
    X, y = digits
    huge = (X * 1e30).astype(np.float32)
    with pytest.raises(TrainingDiverged, match=r"overflowed.*Scale the input features") as caught:
        MLPClassifier((16,), solver="adam", max_iter=5, random_state=0).fit(huge, y)
    assert isinstance(caught.value, ValueError)                      # scikit-learn's kind of error too
    assert "Solver produced non-finite parameter weights" in str(caught.value)
    with pytest.raises(TrainingDiverged, match=r"overflowed"):
        LinearClassifier(solver="adam", max_iter=5, random_state=0).fit(huge, y)


def test_early_stopping_meeting_a_divergence_keeps_the_best_weights(digits):
    """As scikit-learn's MLP: with early stopping a diverging run ends with the weights of its best
    validation score (and a NaN last score); without it, the divergence is an error."""
    X, y = digits
    y = y.astype(float)
    kw = dict(hidden_layer_sizes=(32,), activation="identity", solver="sgd", learning_rate_init=0.05, max_iter=30,
              random_state=0)
    reg = MLPRegressor(**kw, early_stopping=True)
    with pytest.warns(ConvergenceWarning, match=r"training diverged .* keeps the weights of the best validation"):
        reg.fit(X[:500], y[:500], validation_data=(X[500:], y[500:]))      # diverges in its second epoch
    scores = reg.validation_scores_
    assert len(scores) == 2 and np.isnan(scores[-1]) and reg.best_validation_score_ == scores[0]
    assert reg.score(X[500:], y[500:]) == pytest.approx(scores[0])
    with pytest.raises(TrainingDiverged):
        MLPRegressor(**kw).fit(X, y)


def test_invscaling_rate_follows_the_samples_seen_across_warm_starts(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling", power_t=0.25, learning_rate_init=0.1,
              max_iter=2, tol=0, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(**kw).fit(X, y)
        first = clf.history_["lr"]
        clf.fit(X, y)
    n = len(y)
    assert first == pytest.approx([0.1, 0.1 / (n + 1) ** 0.25])
    assert clf.history_["lr"] == pytest.approx([0.1 / (2 * n + 1) ** 0.25, 0.1 / (3 * n + 1) ** 0.25])
    assert clf.t_ == 4 * n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adam = MLPClassifier(**dict(kw, solver="adam")).fit(X, y)      # scikit-learn: only 'sgd' uses it
    assert adam.history_["lr"] == [0.1, 0.1]


def test_adaptive_rate_divides_by_5_until_below_1e_6(digits):
    X, y = digits
    clf = MLPClassifier((8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.01, tol=0.5,
                        n_iter_no_change=2, max_iter=3000, random_state=0).fit(X, y)
    rates = sorted(set(clf.history_["lr"]), reverse=True)
    assert rates == pytest.approx([0.01 / 5**k for k in range(len(rates))])
    assert rates[-1] <= 1e-6 < rates[-2] and clf.n_iter_ < 3000
    assert all(np.diff(clf.history_["lr"]) <= 0)


def test_new_schedules_by_name_and_their_checks():
    inv = make_schedule({"name": "invscaling", "power_t": 0.5, "samples_per_epoch": 10, "t0": 5})
    assert isinstance(inv, InvScaling) and inv(1.0, 2) == pytest.approx(1 / 26**0.5)
    assert make_schedule("invscaling")(1.0, 3) == pytest.approx(0.5)            # per epoch by default
    ad = make_schedule("adaptive")
    assert isinstance(ad, Adaptive) and ad(0.1, 7) == 0.1
    ad.reduce()
    assert ad(0.1, 0) == pytest.approx(0.02) and ad.to_config() == {"name": "adaptive", "factor": 5.0, "min_lr": 1e-6}
    assert not ad.can_reduce(1e-6) and ad.can_reduce(2e-6)
    for bad, match in ((dict(power_t=-1), "power_t must be a finite number >= 0"),
                       (dict(samples_per_epoch=0), "samples_per_epoch must be a positive integer")):
        with pytest.raises(ValueError, match=match):
            InvScaling(**bad)
    with pytest.raises(ValueError, match="factor must be a finite number > 1"):
        Adaptive(factor=1)


def test_without_shuffle_batches_come_in_the_rows_order_and_draw_nothing():
    data = TrainingData(np.arange(10.0)[:, None], np.arange(10))
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    rows = [x[:, 0].tolist() for x, *_ in shuffled_batches(data, batch_slices(10, 4), rng, shuffle=False)]
    assert rows == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and rng.bit_generator.state == state
    shuffled = [x[:, 0].tolist() for x, *_ in shuffled_batches(data, batch_slices(10, 4), rng)]
    assert sorted(sum(shuffled, [])) == list(range(10)) and sum(shuffled, []) != list(range(10))
