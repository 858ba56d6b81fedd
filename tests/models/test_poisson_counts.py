"""Poisson regression takes counts, zeros included (scikit-learn: y >= 0), and refuses a negative
target in scikit-learn's words.

Planted bug this catches (``scripts/plant_bugs.py``): models-14, the check ``(y <= 0).any()``
refusing zero counts, which survived every other fast test (their counts had no zero).
"""
import numpy as np
import pytest

from chainrule.models import MLPRegressor


def test_zero_counts_are_fitted_and_a_negative_one_refused():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    assert (y == 0).any()
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert np.all(est.predict(X) > 0)
    with pytest.raises(ValueError, match=r"^Some value\(s\) of y are negative which is not allowed for Poisson"):
        MLPRegressor(loss="poisson", max_iter=3).fit(X, np.where(y == 0, -1, y))
