"""``n_threads``: the estimators' fit and predict run with that many BLAS threads (threadpoolctl),
and leave NumPy's setting as it was afterwards."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from chainrule.models import CNNClassifier, LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor, PolynomialRegression


def _blas_threads():
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=None)


def _spy(cls, seen, method):
    """A subclass recording the BLAS thread count seen inside ``method``."""
    def spied(self, *args, **kwargs):
        seen.append(_blas_threads())
        return getattr(cls, method)(self, *args, **kwargs)
    return type(cls.__name__, (cls,), {method: spied})


@pytest.mark.parametrize("cls, kwargs", [
    (MLPClassifier, dict(hidden_layer_sizes=(8,), max_iter=2)),
    (MLPRegressor, dict(hidden_layer_sizes=(8,), max_iter=2)),
    (LinearClassifier, dict(max_iter=2)),
    (LinearRegression, dict(max_iter=3)),
    (LinearRegression, dict(solver="lstsq")),
    (PolynomialRegression, dict(degree=2)),
    (CNNClassifier, dict(max_iter=1, batch_size=20)),
])
def test_fit_and_predict_run_with_n_threads(cls, kwargs):
    if _blas_threads() is None:
        pytest.skip("no BLAS library that threadpoolctl can see")
    before = _blas_threads()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, 4)) if cls is CNNClassifier else rng.standard_normal((40, 3))
    y = (X.reshape(40, -1)[:, 0] > 0).astype(int) if cls in (MLPClassifier, LinearClassifier, CNNClassifier) \
        else X[:, 0]
    seen_fit, seen_predict = [], []
    spy = _spy(_spy(cls, seen_fit, "_check_X_y"), seen_predict, "_model_input")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = spy(n_threads=1, **kwargs).fit(X, y)
    est.predict(X)
    assert seen_fit and set(seen_fit) == {1}
    assert seen_predict and seen_predict[-1] == 1
    assert _blas_threads() == before                       # restored afterwards


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two"])
def test_a_bad_n_threads_is_refused_naming_it(bad):
    with pytest.raises((ValueError, TypeError), match="n_threads"):
        MLPClassifier((4,), max_iter=1, n_threads=bad).fit(np.zeros((6, 2)), [0, 1] * 3)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, LinearClassifier, LinearRegression,
                                 PolynomialRegression, CNNClassifier])
def test_one_default_auto_for_the_estimators_and_the_command_line(cls):
    """Issue 22.4: one threads default, "auto", for every estimator and ``chainrule train --threads``."""
    from chainrule.cli.train import DEFAULT_THREADS
    assert cls().get_params()["n_threads"] == "auto" == DEFAULT_THREADS


def test_a_default_fit_runs_blas_on_one_thread_and_the_workers_on_auto():
    """"auto": BLAS on one thread (its bits depend on its thread count, and a busy 2-core machine
    lost 10 x on two), the compiled workers chosen by the load; both restored afterwards."""
    import chainrule
    if _blas_threads() is None:
        pytest.skip("no BLAS library that threadpoolctl can see")
    before, setting = _blas_threads(), chainrule.get_num_threads()
    seen = []

    def spied(self, *args, **kwargs):
        seen.append((_blas_threads(), chainrule.get_num_threads()))
        return MLPClassifier._check_X_y(self, *args, **kwargs)
    spy = type("MLPClassifier", (MLPClassifier,), {"_check_X_y": spied})
    X = np.random.default_rng(0).standard_normal((40, 3))
    spy(hidden_layer_sizes=(8,), max_iter=200).fit(X, (X[:, 0] > 0).astype(int))
    assert seen and set(seen) == {(1, "auto")}
    assert (_blas_threads(), chainrule.get_num_threads()) == (before, setting)


def test_threads_auto_on_the_command_line(tmp_path):
    from chainrule.cli import main
    assert main(["train", "--quiet", "--epochs", "2", "--threads", "auto", "--out", str(tmp_path / "run")]) == 0
    assert main(["train", "--quiet", "--epochs", "2", "--threads", "2", "--out", str(tmp_path / "run2")]) == 0
