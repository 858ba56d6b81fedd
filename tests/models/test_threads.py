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
