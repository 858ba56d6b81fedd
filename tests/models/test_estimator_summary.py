"""summary() on fitted estimators: each layer, its output shape for the estimator's inputs, its
parameter count, and the totals."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from chainrule.models import LinearClassifier, MLPClassifier, MLPRegressor, PolynomialRegression


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def test_mlp_summary_rows_shapes_and_totals():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 7)), np.arange(40) % 3
    clf = _quiet_fit(MLPClassifier((5, 4), batch_norm=True, max_iter=1, random_state=0), X, y)
    s = clf.summary()
    assert [(kind, shape, n) for _, kind, shape, n in s.rows] == [
        ("Linear", "(N, 5)", 7 * 5 + 5), ("BatchNorm1d", "(N, 5)", 10), ("ReLU", "(N, 5)", 0),
        ("Linear", "(N, 4)", 5 * 4 + 4), ("BatchNorm1d", "(N, 4)", 8), ("ReLU", "(N, 4)", 0),
        ("Linear", "(N, 3)", 4 * 3 + 3)]
    assert s.total_params == sum(c.size for c in clf.coefs_) + sum(b.size for b in clf.intercepts_) + 18
    text = str(s)
    assert text.splitlines()[0].split() == ["layer", "type", "output", "shape", "parameters"]
    assert f"total parameters: {s.total_params:,}" in text and text.endswith("input (N, 7)")
    assert "<table>" in s._repr_html_()


def test_linear_and_regression_summaries_use_the_networks_input():
    X = np.linspace(-1, 1, 30)[:, None]
    poly = PolynomialRegression(degree=4).fit(X, X[:, 0] ** 3)
    s = poly.summary()                          # the network sees the 4 monomials, not the 1 input
    assert s.input_shape == (4,) and s.rows[0][1:] == ("Linear", "(N, 1)", 5)
    lin = _quiet_fit(LinearClassifier(max_iter=2), np.eye(6), np.arange(6) % 2)
    assert lin.summary().total_params == lin.coef_.size + lin.intercept_.size
    reg = _quiet_fit(MLPRegressor((3,), max_iter=1), np.ones((10, 2)), np.ones((10, 2)))
    assert reg.summary().rows[-1][2] == "(N, 2)"


def test_summary_before_fit_says_not_fitted():
    with pytest.raises(NotFittedError):
        MLPClassifier().summary()
