"""chainrule's MLPs against scikit-learn's: same parameters and defaults, same fits, same
fitted attributes, and the behaviours scikit-learn's users rely on (multilabel targets, sparse
input, dtype preservation, the 0.1 names, model files)."""
import inspect
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from threadpoolctl import threadpool_limits

from chainrule import io
from chainrule.grad import numerical_gradient
from chainrule.models import MLPClassifier, MLPRegressor
from chainrule.models._lbfgs import PackedObjective
from chainrule.models._objective import penalise

PAIRS = [(MLPClassifier, SkClassifier), (MLPRegressor, SkRegressor)]


@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 4))
    y = X @ [1.0, 2.0, -1.0, 0.5] + rng.normal(size=20)
    return X, y, (y > 0).astype(int), np.digitize(y, [-1, 1])


def _params(cls):
    return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=["classifier", "regressor"])
def test_every_scikit_learn_parameter_with_its_default(ours, theirs):
    mine, sk = _params(ours), _params(theirs)
    assert set(sk) <= set(mine), set(sk) - set(mine)
    for name, default in sk.items():
        assert mine[name] == default, (name, mine[name], default)
    renamed = {"optimizer", "lr", "epochs", "nesterov"}         # chainrule 0.1 names: no default of their own
    assert all(mine[k] == "deprecated" for k in renamed)
    assert ours().get_params()["max_iter"] == 200 and clone(ours(max_iter=3)).max_iter == 3


@pytest.mark.parametrize("target", ["regression", "binary", "multiclass"])
def test_lbfgs_reproduces_scikit_learn_fit(small, target):
    """Same initial weights (drawn from the same random_state stream), same objective (alpha's
    batch scaling, the half squared error, the log-loss), same gradient, same SciPy optimizer."""
    X, y, yb, y3 = small
    ours, theirs = (MLPRegressor, SkRegressor) if target == "regression" else (MLPClassifier, SkClassifier)
    t = {"regression": y, "binary": yb, "multiclass": y3}[target]
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.3, max_iter=15, random_state=4, activation="tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b = theirs(**kw).fit(X, t), ours(**kw).fit(X, t)
    assert b.n_iter_ == a.n_iter_ and b.loss_ == pytest.approx(a.loss_, rel=1e-10)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(q, p, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kw", [dict(momentum=0.0), dict(momentum=0.9), dict(momentum=0.9, nesterovs_momentum=False),
                                dict(momentum=0.0, learning_rate="invscaling", power_t=0.5)],
                         ids=["plain", "nesterov", "momentum", "invscaling"])
def test_sgd_epochs_reproduce_scikit_learn_step_for_step(small, kw):
    """Batches of 7 on 20 rows (the last batch has 6: its penalty is alpha/(2*6) sum W^2, the
    others' alpha/(2*7)): chainrule's steps are scikit-learn's to the last bits."""
    X, y, yb, y3 = small
    common = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=7, max_iter=3, shuffle=False, alpha=0.5,
                  random_state=3, learning_rate_init=0.05, tol=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for ours, theirs, t in [(MLPRegressor, SkRegressor, y), (MLPClassifier, SkClassifier, y3)]:
            a, b = theirs(**common).fit(X, t), ours(**common).fit(X, t)
            np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-12)
            for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
                np.testing.assert_allclose(q, p, rtol=1e-10, atol=1e-13)


def test_coefs_are_views_of_the_weights_in_scikit_learns_layout(small):
    X, y, yb, y3 = small
    clf = MLPClassifier((5, 3), solver="lbfgs", max_iter=30, random_state=0).fit(X, y3)
    assert [c.shape for c in clf.coefs_] == [(4, 5), (5, 3), (3, 3)] and [b.shape for b in clf.intercepts_] == [(5,), (3,), (3,)]
    assert np.shares_memory(clf.coefs_[0], clf.model_[0].weight.value)
    np.testing.assert_array_equal(clf.coefs_[1], clf.model_[2].weight.value.T)
    before = clf.predict_proba(X)
    clf.coefs_[2][...] = 0.0                  # editing in place edits the network
    clf.intercepts_[2][...] = [0.0, 0.0, 1.0]
    assert (clf.predict(X) == 2).all() and not np.allclose(clf.predict_proba(X), before)
    hand = MLPClassifier((5, 3), solver="sgd", random_state=0)
    hand.coefs_ = [np.zeros((4, 5)), np.zeros((5, 3)), np.zeros((3, 3))]
    hand.intercepts_ = [np.zeros(5), np.zeros(3), np.array([0.0, 0.0, 1.0])]
    assert (hand.partial_fit(X[:1], y3[:1], classes=[0, 1, 2]).coefs_[0] == 0).all()   # started from them
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(5, 3\); got \(5, 4\)"):
        clf.coefs_ = [np.zeros((4, 5)), np.zeros((5, 4)), np.zeros((3, 3))]
        clf.predict(X)


def test_fitted_attributes_as_scikit_learn_names_them(small):
    X, y, yb, y3 = small
    Y = np.column_stack([yb, 1 - yb, yb])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cases = [(MLPClassifier(max_iter=5).fit(X, yb), 1, "logistic"), (MLPClassifier(max_iter=5).fit(X, y3), 3, "softmax"),
                 (MLPClassifier(max_iter=5).fit(X, Y), 3, "logistic"), (MLPRegressor(max_iter=5).fit(X, y), 1, "identity"),
                 (MLPRegressor(max_iter=5, loss="poisson").fit(X, np.abs(y)), 1, "exp"),
                 (MLPClassifier(max_iter=5, loss="hinge").fit(X, y3), 3, "identity")]
    for est, n_out, act in cases:
        assert (est.n_outputs_, est.out_activation_, est.n_layers_) == (n_out, act, 3)
        assert est.n_iter_ == 5 and est.t_ == 5 * 20 and len(est.loss_curve_) == 5 and est.loss_ == est.loss_curve_[-1]
        assert est.best_loss_ == min(est.loss_curve_) and est.validation_scores_ is None
        assert est.best_validation_score_ is None and len(est.history_) == 5


def test_model_files_keep_the_scikit_learn_attributes(tmp_path, small):
    X, y, yb, y3 = small
    clf = MLPClassifier((6,), max_iter=30, early_stopping=True, validation_fraction=0.2, n_iter_no_change=50,
                        random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(np.vstack([X] * 3), np.tile(y3, 3))
    io.save(clf, tmp_path / "m.safetensors")
    back = io.load(tmp_path / "m.safetensors")
    for name in ("loss_curve_", "validation_scores_", "best_validation_score_", "t_", "n_iter_", "n_layers_",
                 "n_outputs_", "out_activation_", "loss_", "best_loss_"):
        assert getattr(back, name) == getattr(clf, name), name
    for p, q in zip(clf.coefs_ + clf.intercepts_, back.coefs_ + back.intercepts_):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_multilabel_targets_get_one_sigmoid_per_label():
    X, Y = make_multilabel_classification(n_samples=60, n_classes=4, random_state=0)
    clf = MLPClassifier((30,), solver="lbfgs", max_iter=300, random_state=0).fit(X, Y)
    p, pred = clf.predict_proba(X), clf.predict(X)
    assert p.shape == Y.shape and pred.shape == Y.shape and pred.dtype == Y.dtype
    assert not np.allclose(p.sum(axis=1), 1)                  # independent labels, not a softmax
    np.testing.assert_array_equal(pred, (p > 0.5).astype(Y.dtype))
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    assert clf.score(X, Y) > 0.95 and clf.out_activation_ == "logistic"
    online = MLPClassifier((30,), solver="adam", random_state=0)
    online.partial_fit(X, Y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"y must be a 0/1 matrix with 4 columns"):
        online.partial_fit(X, Y[:, :3])


def test_binary_probabilities_have_two_columns_and_one_class_trains(small):
    X, y, yb, y3 = small
    clf = MLPClassifier((5,), solver="lbfgs", random_state=0).fit(X, np.where(yb, "yes", "no"))
    p = clf.predict_proba(X)
    assert p.shape == (20, 2) and clf.n_outputs_ == 1 and clf.decision_function(X).shape == (20,)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[p.argmax(axis=1)], clf.predict(X))
    one = MLPClassifier((5,), max_iter=5).fit(X, np.full(20, "only"))     # scikit-learn's MLP accepts it
    assert (one.predict(X) == "only").all() and (one.predict_proba(X) == 1).all()


def test_sparse_input_is_never_densified():
    """60,000 x 400,000 at 5 non-zeros a row: dense, X would take 192 GB in float64; a fit and
    a prediction stay within a few MB above the matrix itself."""
    rng = np.random.default_rng(0)
    n, d, k = 60_000, 400_000, 5
    rows, cols = np.repeat(np.arange(n), k), rng.integers(0, d, n * k)
    X = sp.csr_matrix((np.ones(n * k), (rows, cols)), shape=(n, d))
    y = (cols.reshape(n, k) % 2).sum(axis=1) > 2
    tracemalloc.start()
    try:
        clf = MLPClassifier((8,), max_iter=2, batch_size=2000, random_state=0)
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y)
        pred = clf.predict(X[:1000])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    weight_mb = d * 8 * 8 / 2**20                          # the first layer's weights, float64
    assert peak / 2**20 < 3 * X.data.nbytes / 2**20 + 8 * weight_mb + 50, peak / 2**20
    assert pred.shape == (1000,) and clf.coefs_[0].shape == (d, 8)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_the_linear_layer_multiplies_a_sparse_batch_as_it_is(container):
    from chainrule.layers.linear import Linear
    X = sp.random(30, 12, density=0.2, format="csr", random_state=0, dtype=np.float32)
    g = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    dense, sparse = Linear(12, 4, rng=0), Linear(12, 4, rng=0)
    np.testing.assert_allclose(sparse.forward(container(X)), dense.forward(X.toarray()), rtol=1e-6, atol=1e-6)
    sparse.backward(g, need_input_grad=False)
    dense.backward(g, need_input_grad=False)
    np.testing.assert_allclose(sparse.weight.grad, dense.weight.grad, rtol=1e-5, atol=1e-6)
    assert sparse.weight.grad.dtype == np.float32 and sparse.weight.grad.flags.f_contiguous   # W's layout
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 12\); got a sparse matrix of shape \(30, 5\)"):
        sparse.forward(container(X[:, :5]))


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_sparse_and_dense_input_give_the_same_model(small, solver):
    X, y, yb, y3 = small
    dense = MLPClassifier((5,), solver=solver, max_iter=20, random_state=0)
    sparse = clone(dense)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y3)
        sparse.fit(sp.csr_matrix(X), y3)
    for p, q in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(sparse.predict(sp.csc_matrix(X)), dense.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_float32_input_computes_in_float32_anything_else_in_float64(small, dtype):
    X, y, yb, y3 = small
    Xd = (X * 10).astype(dtype)
    expected = np.float32 if dtype == np.float32 else np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor((5,), max_iter=3).fit(Xd, y)
        clf = MLPClassifier((5,), max_iter=3).fit(Xd, y3)
    assert all(c.dtype == expected for c in reg.coefs_ + reg.intercepts_ + clf.coefs_)
    assert reg.predict(Xd).dtype == expected and clf.predict_proba(Xd).dtype == np.float64
    assert reg.predict(Xd.astype(np.float64)).dtype == np.float64         # a wider input widens the output
    forced = MLPRegressor((5,), max_iter=3, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert forced.fit(X, y).coefs_[0].dtype == np.float32


def test_chainrule_0_1_names_still_work_with_a_future_warning(small):
    X, y, yb, y3 = small
    with pytest.warns(FutureWarning) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        old = MLPClassifier((5,), optimizer="sgd", lr=0.05, epochs=4, nesterov=False, random_state=0).fit(X, y3)
    messages = " ".join(str(w.message) for w in caught)
    for a, b in (("optimizer", "solver"), ("lr", "learning_rate_init"), ("epochs", "max_iter"),
                 ("nesterov", "nesterovs_momentum")):
        assert f"'{a}' was renamed '{b}'" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        new = MLPClassifier((5,), solver="sgd", learning_rate_init=0.05, max_iter=4, nesterovs_momentum=False,
                            random_state=0).fit(X, y3)
    assert old.n_iter_ == 4 and old.get_params()["epochs"] == 4 and clone(old).lr == 0.05
    for p, q in zip(old.coefs_, new.coefs_):
        np.testing.assert_array_equal(p, q)


def test_lbfgs_objective_gradient_matches_central_differences(small):
    """The packed objective L-BFGS minimises (data loss + alpha/(2N) sum W^2) against central
    differences of itself, in float64, for every activation."""
    X, y, yb, y3 = small
    for activation in ("identity", "logistic", "tanh", "relu"):
        clf = MLPClassifier((4,), activation=activation, solver="lbfgs", alpha=0.7, max_iter=1, random_state=0)
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y3)
        f = _packed_objective(clf, X, y3)
        theta = f.pack() + 0.05 * np.random.default_rng(1).standard_normal(f.pack().size)
        value, grad = f(theta)
        numeric = numerical_gradient(lambda t: f(t)[0], theta)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7, err_msg=activation)
        assert value == pytest.approx(f(theta)[0])


def test_verbose_prints_scikit_learns_lines_on_stdout_and_progress_on_stderr(small, capsys):
    X, y, yb, y3 = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((5,), max_iter=2, verbose=True, early_stopping=True, validation_fraction=0.3).fit(X, y3)
        MLPClassifier((5,), solver="lbfgs", max_iter=2, verbose=1).fit(X, y3)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Validation score: ")
    assert lines[2].startswith("Iteration 2, loss = ") and "Iteration 2, loss" in lines[-1]
    assert "epoch 1/2" in err and "val_loss" in err


def test_digits_accuracy_with_the_defaults():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    with warnings.catch_warnings(), threadpool_limits(1):      # 1,400 rows: BLAS threads only wait
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(random_state=0).fit(X[:1400], y[:1400]).score(X[1400:], y[1400:])
        theirs = SkClassifier(random_state=0).fit(X[:1400], y[:1400]).score(X[1400:], y[1400:])
    assert ours >= 0.9 and abs(ours - theirs) < 0.02, (ours, theirs)


def test_ctrl_c_during_lbfgs_keeps_the_last_iterate(small, monkeypatch):
    X, y, yb, y3 = small
    calls = {"n": 0}
    original = PackedObjective.__call__

    def interrupt_at_the_8th_evaluation(self, theta):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, theta)

    monkeypatch.setattr(PackedObjective, "__call__", interrupt_at_the_8th_evaluation)
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) after \d+ L-BFGS iterations"):
        clf = MLPClassifier((5,), solver="lbfgs", max_iter=50, random_state=0).fit(X, y3)
    assert clf.history_.interrupted and 0 < clf.n_iter_ < 8 == calls["n"]
    assert len(clf.loss_curve_) == clf.n_iter_ and all(np.isfinite(c).all() for c in clf.coefs_)
    monkeypatch.setattr(PackedObjective, "__call__", original)
    f = _packed_objective(clf, X, y3)                               # the weights are the last iterate's
    value, _ = f(f.pack())
    assert value == pytest.approx(clf.loss_curve_[-1], rel=1e-12)


def _packed_objective(clf, X, y):
    """The objective a fitted classifier's L-BFGS minimised, at its weights (the solver's own pieces)."""
    labels = clf._labels()
    targets, _ = labels.encode(y)
    penalise(clf.model_, clf._settings(X, None))
    return PackedObjective(clf.model_, labels.data_loss(), X, targets, penalty_scale=0.5 / X.shape[0])
