"""Estimators on real and toy data: accuracy thresholds, under/over-fitting, divergence,
early stopping, checkpoints, and the scikit-learn conventions beyond the standard checks."""
import doctest
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import chainrule.models.linear
import chainrule.models.mlp
from sklearn.exceptions import ConvergenceWarning

from chainrule import TrainingDiverged
from chainrule.models import (CNNClassifier, LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor,
                              PolynomialRegression)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits, pixels / 16, stratified split with 360 test images, random_state=0."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=360, stratify=y, random_state=0)


@pytest.mark.parametrize("estimator,threshold", [
    (LinearClassifier(loss="softmax", random_state=0), 0.96),
    (LinearClassifier(loss="hinge", random_state=0), 0.95),
    (MLPClassifier((100,), random_state=0), 0.97),
], ids=["softmax", "hinge", "mlp"])
def test_digits_accuracy(digits, estimator, threshold):
    Xtr, Xte, ytr, yte = digits
    acc = estimator.fit(Xtr, ytr).score(Xte, yte)
    assert acc >= threshold, f"{estimator!r}: test accuracy {acc:.4f} < {threshold}"


def test_notes_regression_toy_by_gradient_descent_from_a_random_start():
    X, y = np.array([[2.0], [4.0], [6.0], [8.0]]), np.array([3.0, 4.0, 5.0, 6.0])
    for seed in range(3):
        reg = LinearRegression(random_state=seed)
        reg.fit(X, y)
        assert reg.history_["loss"][0] > 1e-2            # it really started away from the optimum
        assert reg.coef_[0] == pytest.approx(0.5, abs=1e-3)
        assert reg.intercept_ == pytest.approx(2.0, abs=1e-3)
    exact = LinearRegression(solver="lstsq").fit(X, y)
    assert exact.coef_[0] == pytest.approx(0.5, abs=1e-12) and exact.intercept_ == pytest.approx(2.0, abs=1e-12)


def test_under_and_over_fitting_as_in_the_notes():
    """13 noisy points of a cubic; a held-out test set; polynomial orders 1, 2, 3, 4, 12."""
    rng = np.random.default_rng(0)

    def cubic(x):
        return 2 * x**3 - 3 * x**2 - 0.5 * x + 1

    x_train = np.sort(rng.uniform(-1, 1.5, 13))
    y_train = cubic(x_train) + rng.normal(0, 0.25, 13)
    x_test = rng.uniform(-1, 1.5, 200)
    y_test = cubic(x_test) + rng.normal(0, 0.25, 200)
    err = {}
    for degree in (1, 2, 3, 4, 12):
        model = PolynomialRegression(degree=degree).fit(x_train[:, None], y_train)
        err[degree] = (np.mean((model.predict(x_train[:, None]) - y_train) ** 2),
                       np.mean((model.predict(x_test[:, None]) - y_test) ** 2))
    noise = 0.25**2
    for degree in (1, 2):                                  # under-fitting: bad on both
        assert err[degree][0] > 2 * noise and err[degree][1] > 2 * noise, err
    assert err[12][0] < 1e-6                               # over-fitting: zero training error...
    assert err[12][1] > err[3][1]                          # ...and a worse test error than order 3
    best = min(err, key=lambda d: err[d][1])
    assert best in (3, 4), err


def test_huge_learning_rate_on_digits_raises_and_keeps_history(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier((32,), solver="sgd", learning_rate_init=1e3, max_iter=5, random_state=0)
    with pytest.raises(TrainingDiverged, match=r"learning rate 1000\. Try a smaller learning rate, e\.g\. lr=100"):
        clf.fit(Xtr, ytr)
    assert clf.history_.diverged
    assert all(np.isfinite(p.value).all() for p in clf.model_.parameters())


def test_early_stopping_restores_the_best_validation_weights(digits):
    """scikit-learn's rule: stop after n_iter_no_change + 1 epochs without a validation score above
    the best + tol, and keep the weights of the best score, not the last epoch's."""
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier((64,), solver="sgd", learning_rate_init=0.05, max_iter=200, early_stopping=True,
                        n_iter_no_change=3, tol=0, random_state=0).fit(Xtr, ytr, validation_data=(Xte, yte))
    scores, h = clf.validation_scores_, clf.history_
    assert h.stopped_early and len(scores) == len(h) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(scores) == h["val_score"][h.best_epoch]
    assert all(s <= clf.best_validation_score_ for s in scores[h.best_epoch:])
    assert all(s < clf.best_validation_score_ for s in scores[-4:])   # n_iter_no_change + 1 epochs without progress
    assert clf.score(Xte, yte) == clf.best_validation_score_      # the best epoch's weights, not the last's
    assert scores[-1] < clf.best_validation_score_ or h.best_epoch == len(scores) - 1
    assert clf.best_loss_ is None and clf.loss_curve_ == h["loss"]


@pytest.fixture
def ctrl_c_at_batch(monkeypatch, ctrl_c_as_in_a_terminal):
    """Send a real SIGINT to this process after the n-th optimizer step (one per batch) of the next fit."""
    import os
    import signal

    from chainrule.optim.base import Optimizer
    original = Optimizer.step

    def arm(n):
        calls = {"n": 0}

        def step_and_interrupt(self):
            original(self)
            calls["n"] += 1
            if calls["n"] == n:
                os.kill(os.getpid(), signal.SIGINT)

        monkeypatch.setattr(Optimizer, "step", step_and_interrupt)

    yield arm
    monkeypatch.setattr(Optimizer, "step", original)


def test_checkpointed_run_resumes_to_the_uninterrupted_weights(digits, tmp_path, ctrl_c_at_batch):
    Xtr, Xte, ytr, yte = digits
    settings = dict(hidden_layer_sizes=(32,), dropout=0.2, batch_norm=True, solver="sgd", learning_rate_init=0.05,
                    max_iter=6, tol=0, random_state=3, lr_schedule="cosine", early_stopping=True)
    full = MLPClassifier(**settings).fit(Xtr, ytr)
    path = tmp_path / "run.npz"
    batches = int(np.ceil(1437 * 0.9 / 200))             # batches per epoch after the validation split
    ctrl_c_at_batch(4 * batches + 2)                      # Ctrl-C during the fifth epoch
    with pytest.warns(UserWarning, match="interrupted"):
        stopped = MLPClassifier(**settings, checkpoint=str(path)).fit(Xtr, ytr)
    assert stopped.validation_scores_ == full.validation_scores_[:4]
    assert stopped.history_.interrupted and len(stopped.history_) == 4
    resumed = MLPClassifier(**settings, checkpoint=str(path))
    resumed.fit(Xtr, ytr, resume_from=str(path))
    assert len(resumed.history_) == 6 and not resumed.history_.interrupted
    assert resumed.validation_scores_ == full.validation_scores_ and resumed.loss_curve_ == full.loss_curve_
    for k, v in full.model_.state_dict().items():
        np.testing.assert_array_equal(resumed.model_.state_dict()[k], v, err_msg=k)
    np.testing.assert_array_equal(resumed.predict(Xte), full.predict(Xte))
    with pytest.raises(ValueError, match=r"written by MLPClassifier, not LinearClassifier"):
        LinearClassifier(solver="sgd").fit(Xtr, ytr, resume_from=str(path))
    with pytest.raises(ValueError, match=r"resume_from applies to the stochastic solvers; solver='lbfgs' has no epochs"):
        MLPClassifier(**dict(settings, solver="lbfgs", dropout=0.0)).fit(Xtr, ytr, resume_from=str(path))
    with pytest.raises(ValueError, match=r"was trained on classes \['0', '1', .*\]; y has \['0', '1'\]"):
        MLPClassifier(**settings).fit(Xtr[ytr < 2], ytr[ytr < 2], resume_from=str(path))


@pytest.mark.parametrize("schedule", [dict(learning_rate="adaptive", tol=0.5, n_iter_no_change=1),
                                      dict(learning_rate="invscaling", tol=0)], ids=["adaptive", "invscaling"])
def test_a_resumed_run_continues_the_schedule_and_the_stopping_rule(digits, tmp_path, ctrl_c_at_batch, schedule):
    """The estimator's progress (the epochs without improvement, the adaptive rate's reductions, the
    samples seen) travels in the checkpoint: the resumed run ends where the uninterrupted one does."""
    Xtr, _, ytr, _ = digits
    settings = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, max_iter=8, random_state=1,
                    **schedule)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = MLPClassifier(**settings).fit(Xtr, ytr)
        path = tmp_path / "run.npz"
        ctrl_c_at_batch(5 * 8 + 3)                            # 8 batches of 200 per epoch: in the sixth
        with pytest.warns(UserWarning, match="interrupted"):
            MLPClassifier(**settings, checkpoint=str(path)).fit(Xtr, ytr)
        resumed = MLPClassifier(**settings, checkpoint=str(path)).fit(Xtr, ytr, resume_from=str(path))
    assert resumed.history_["lr"] == full.history_["lr"] and resumed.loss_curve_ == full.loss_curve_
    assert (resumed.n_iter_, resumed.t_, resumed._no_improvement_count) == (full.n_iter_, full.t_,
                                                                           full._no_improvement_count)
    for k, v in full.model_.state_dict().items():
        np.testing.assert_array_equal(resumed.model_.state_dict()[k], v, err_msg=k)


def test_classes_of_any_type_probabilities_and_shapes(digits):
    Xtr, Xte, ytr, yte = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = LinearClassifier(random_state=0, max_iter=30).fit(Xtr, names[ytr])
    assert set(clf.predict(Xte)) <= set(names) and clf.classes_.tolist() == sorted(names.tolist())
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    p = clf.predict_proba(Xte)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[p.argmax(1)], clf.predict(Xte))
    assert clf.decision_function(Xte).shape == (360, 10)
    hinge = LinearClassifier(loss="hinge", random_state=0, max_iter=5).fit(Xtr, ytr)
    assert not hasattr(hinge, "predict_proba")             # the hinge gives no probabilities


@pytest.mark.parametrize("loss", ["hinge", "sigmoid"])
def test_two_classes_share_one_score(digits, loss):
    Xtr, Xte, ytr, yte = digits
    keep = np.isin(ytr, [3, 8])
    clf = LinearClassifier(loss=loss, random_state=0, max_iter=30).fit(Xtr[keep], np.where(ytr[keep] == 8, "eight", "three"))
    assert clf.coef_.shape == (1, 64)                      # one neuron for two classes
    d = clf.decision_function(Xte)
    assert d.shape == (360,)
    np.testing.assert_array_equal(clf.predict(Xte), np.where(d > 0, clf.classes_[1], clf.classes_[0]))
    mask = np.isin(yte, [3, 8])
    assert clf.score(Xte[mask], np.where(yte[mask] == 8, "eight", "three")) > 0.9


def test_class_weight_shifts_predictions(digits):
    Xtr, Xte, ytr, yte = digits
    plain = LinearClassifier(random_state=0, max_iter=10).fit(Xtr, ytr)
    heavy = LinearClassifier(random_state=0, max_iter=10, class_weight={1: 50.0}).fit(Xtr, ytr)
    assert (heavy.predict(Xte) == 1).sum() > (plain.predict(Xte) == 1).sum()
    balanced = LinearClassifier(random_state=0, max_iter=10, class_weight="balanced").fit(Xtr, ytr)
    assert balanced.score(Xte, yte) > 0.9


def test_partial_fit_and_warm_start(digits):
    Xtr, Xte, ytr, yte = digits
    assert not hasattr(LinearClassifier(), "partial_fit")            # L-BFGS, the default, is full batch
    clf = LinearClassifier(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match=r"classes must be passed on the first call to partial_fit"):
        clf.partial_fit(Xtr, ytr)
    for _ in range(5):
        clf.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert len(clf.history_) == 5 and clf.score(Xte, yte) > 0.9
    with pytest.warns(ConvergenceWarning):
        warm = MLPClassifier((32,), max_iter=3, tol=0, warm_start=True, random_state=0).fit(Xtr, ytr)
        w = warm.model_[0].weight.value.copy()
        warm.fit(Xtr, ytr)
        cold = MLPClassifier((32,), max_iter=3, tol=0, random_state=0).fit(Xtr, ytr)
    assert not np.array_equal(warm.model_[0].weight.value, w)        # the second fit trained on
    assert warm.history_["loss"][-1] < cold.history_["loss"][-1]   # it went on from where it was
    assert warm.n_iter_ == 3 and len(warm.loss_curve_) == 6 and warm.t_ == 6 * len(ytr)


def test_float32_predictions_agree_across_batch_compositions(digits):
    Xtr, Xte, ytr, yte = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in digits)
    clf = MLPClassifier((64,), max_iter=10, random_state=0).fit(Xtr, ytr)
    full = clf.decision_function(Xte)
    assert full.dtype == np.float32
    pieces = np.vstack([clf.decision_function(Xte[i:i + 7]) for i in range(0, 360, 7)])
    np.testing.assert_allclose(pieces, full, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(Xte[::-1]), clf.predict(Xte)[::-1])


def test_initialisation_matches_the_activation():
    def initial(**kw):          # the network a first fit starts from (max_iter=0 is refused, as scikit-learn does)
        est = MLPClassifier((300,), random_state=0, **kw)
        est._dtype = np.float64
        return est._build_network(400, 1, np.random.default_rng(0))

    relu = initial(activation="relu", weight_init="activation")
    tanh = initial(activation="tanh", weight_init="activation")
    assert relu[0].weight.value.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)        # He
    assert tanh[0].weight.value.std() == pytest.approx(np.sqrt(2 / (400 + 300)), rel=0.03)  # Glorot
    assert not relu[0].bias.value.any()
    default = initial(activation="logistic")
    bound = np.sqrt(2 / (400 + 300))                     # scikit-learn's: U(+-sqrt(2 / (in + out))) for logistic
    w, b = default[0].weight.value, default[0].bias.value
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound and abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.5 * bound   # biases drawn too (uniform: std bound / sqrt 3)


def test_same_random_state_same_bits(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(hidden_layer_sizes=(32,), dropout=0.3, max_iter=3, early_stopping=True, tol=0)
    a = MLPClassifier(**kw, random_state=5).fit(Xtr, ytr)
    b = MLPClassifier(**kw, random_state=5).fit(Xtr, ytr)
    c = MLPClassifier(**kw, random_state=6).fit(Xtr, ytr)
    sa, sb, sc = a.model_.state_dict(), b.model_.state_dict(), c.model_.state_dict()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert not all(np.array_equal(sa[k], sc[k]) for k in sa)


def test_mlp_regressor_multi_output_and_l1():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.cos(2 * X[:, 2])])
    reg = MLPRegressor((64,), max_iter=300, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.predict(X).dtype == np.float64
    assert reg.score(X, Y) > 0.9
    l1 = MLPRegressor((64,), loss="l1", max_iter=200, random_state=0).fit(X, Y[:, 1])
    assert l1.score(X, Y[:, 1]) > 0.8


def test_hyperparameter_errors_name_the_argument(digits):
    Xtr, _, ytr, _ = digits
    cases = [
        (LinearClassifier(loss="svm"), r"loss must be one of 'softmax', 'softmax_cross_entropy', 'hinge', 'sigmoid'; got 'svm'"),
        (LinearClassifier(penalty="l3"), r"penalty must be one of .*; got 'l3'"),
        (MLPClassifier(activation="gelu"), r"activation must be one of .*; got 'gelu'"),
        (MLPClassifier(solver="nadam"),
         r"solver must be one of 'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad'; got 'nadam'"),
        (LinearClassifier(solver="nadam"),
         r"solver must be one of 'auto', 'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad'; got 'nadam'"),
        (LinearClassifier(checkpoint="run.npz"), r"checkpoint applies to the epochs of the stochastic solvers"),
        (MLPClassifier(learning_rate="optimal"), r"learning_rate must be one of 'constant', 'invscaling', 'adaptive'"),
        (MLPClassifier(batch_size="big"), r"batch_size must be 'auto', a positive integer or None; got 'big'"),
        (MLPClassifier(n_iter_no_change=0), r"n_iter_no_change must be a positive integer; got 0"),
        (MLPClassifier(shuffle="yes"), r"shuffle must be True or False; got 'yes'"),
        (MLPClassifier(epsilon=0), r"epsilon must be a finite number > 0; got 0"),
        (MLPClassifier(weight_init="he"), r"weight_init must be one of 'sklearn', 'activation'; got 'he'"),
        (MLPClassifier(solver="sgd", learning_rate="adaptive", lr_schedule="cosine"),
         r"learning_rate='adaptive' and lr_schedule='cosine' both set how the learning rate changes"),
        (MLPClassifier(solver="lbfgs", dropout=0.5), r"solver='lbfgs' minimises a fixed function: it needs dropout=0"),
        (CNNClassifier("resnet", image_shape=(8, 8), width=2, blocks_per_stage=1, solver="lbfgs"),
         r"solver='lbfgs' minimises a fixed function: it needs p_last=1 \(stochastic depth draws new masks"),
        (MLPClassifier(solver="sgd", momentum=1.0), r"momentum must be a finite number >= 0 and < 1; got 1.0"),
        (MLPClassifier(hidden_layer_sizes=(10, 0)), r"hidden_layer_sizes entries must be a positive integer; got 0"),
        (MLPClassifier(dropout=1.0), r"dropout must be a finite number >= 0 and < 1; got 1.0"),
        (LinearClassifier(learning_rate_init=-1), r"learning_rate_init must be a finite number > 0; got -1"),
        (LinearClassifier(batch_size=0), r"batch_size must be a positive integer or None; got 0"),
        (LinearClassifier(class_weight="auto"), r"class_weight must be 'balanced', a dict or None; got 'auto'"),
        (LinearRegression(solver="qr"), r"solver must be one of 'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad', 'lstsq'; "
                                       r"got 'qr'"),
        (LinearRegression(learning_rate_init="fast"), r"learning_rate_init must be 'auto' or a number > 0; got 'fast'"),
        (LinearRegression(solver="lstsq", loss="l1"), r"solver='lstsq' minimises the L2 loss"),
    ]
    for est, match in cases:
        with pytest.raises(ValueError, match=match):
            est.fit(Xtr[:50], ytr[:50])
    with pytest.raises(ValueError, match=r"needs samples of at least 2 classes to train; got only one class"):
        LinearClassifier().fit(Xtr[:5], np.zeros(5))


def test_interrupted_fit_warns_and_keeps_weights(digits, ctrl_c_at_batch):
    Xtr, _, ytr, _ = digits
    ctrl_c_at_batch(60)                                   # 45 batches per epoch: stop in the second
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) after 1 complete epochs"):
        clf = LinearClassifier(solver="sgd", max_iter=50, random_state=0).fit(Xtr, ytr)
    assert clf.history_.interrupted and len(clf.history_) == 1
    assert clf.score(Xtr, ytr) > 0.8                      # the weights trained so far are kept


@pytest.mark.parametrize("module", [chainrule.models.linear, chainrule.models.mlp])
def test_docstring_examples_run(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_validation_data_is_recorded_every_epoch(digits):
    Xtr, Xte, ytr, yte = digits
    names = np.array(list("abcdefghij"))
    for optimizer in ("sgd", "lbfgs"):      # epochs, or L-BFGS iterations
        with pytest.warns(ConvergenceWarning):
            clf = LinearClassifier(solver=optimizer, max_iter=4, tol=0, random_state=0).fit(
                Xtr, names[ytr], validation_data=(Xte, names[yte]))
        assert len(clf.history_["val_accuracy"]) == 4 and clf.history_["val_accuracy"] == clf.history_["val_score"]
        assert clf.history_["val_accuracy"][-1] == pytest.approx(clf.score(Xte, names[yte]))
    x = np.linspace(-1, 1, 30)[:, None]
    reg = PolynomialRegression(degree=3, solver="sgd", max_iter=50).fit(x, x[:, 0] ** 3, validation_data=(x / 2, x[:, 0] ** 3 / 8))
    assert len(reg.history_["val_error"]) == 50
    with pytest.raises(ValueError, match=r"validation_data must be a pair"):
        LinearClassifier(max_iter=1).fit(Xtr, ytr, validation_data=Xte)


def test_linear_regression_honours_its_max_norm():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([3.0, -4.0, 1.0]) + 0.5                   # ||w|| = 5.1 unconstrained
    free = LinearRegression(random_state=0).fit(X, y)
    assert np.linalg.norm(free.coef_) > 5
    from scipy.optimize import minimize
    from sklearn.exceptions import ConvergenceWarning
    mse = lambda t: np.mean((X @ t[:3] + t[3] - y) ** 2)        # noqa: E731
    for c in (1.0, 2.5):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)   # stops at the constrained minimum (KKT)
            reg = LinearRegression(penalty="maxnorm", max_norm=c, random_state=0).fit(X, y)
        assert np.linalg.norm(reg.coef_) == pytest.approx(c, rel=1e-9)   # the bound, reached
        best = minimize(mse, np.zeros(4), method="SLSQP", options={"ftol": 1e-14, "maxiter": 500},
                        constraints=[{"type": "ineq", "fun": lambda t: c ** 2 - t[:3] @ t[:3]}])
        np.testing.assert_allclose(np.r_[reg.coef_, reg.intercept_], best.x, atol=1e-5)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0; got 0"):
        LinearRegression(penalty="maxnorm", max_norm=0).fit(X, y)


def test_build_mlp_draws_every_layer_from_one_generator_given_a_seed():
    from chainrule.models.mlp import build_mlp
    net = build_mlp(4, (8, 8, 8), 3, "relu", 0.0, False, rng=0, dtype=np.float64)
    w2, w3 = net[2].weight.value, net[4].weight.value            # two Linear(8, 8) layers
    assert not np.array_equal(w2, w3)                            # a seed per layer would repeat them
    same = build_mlp(4, (8, 8, 8), 3, "relu", 0.0, False, rng=np.random.default_rng(0), dtype=np.float64)
    for a, b in zip(net.parameters(), same.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
