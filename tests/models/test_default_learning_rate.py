"""``learning_rate_init='auto'`` of a stochastic ``LinearClassifier`` is min(0.03, 1 / lambda_max): on
data of small curvature it is 0.03 exactly, the same run as ``learning_rate_init=0.03``.

Planted bug this catches (``scripts/plant_bugs.py``): models-15, the cap raised to 0.3, which
survived every other fast test (they checked that training converged, not the rate it chose).
"""
import numpy as np

from chainrule.models import LinearClassifier


def test_auto_is_0_03_where_the_curvature_allows_more():
    rng = np.random.default_rng(0)
    X = 0.1 * rng.standard_normal((60, 3))              # lambda_max of [X, 1]^T [X, 1] / N is about 1
    y = (X[:, 0] > 0).astype(int)
    auto = LinearClassifier(loss="hinge", max_iter=3, random_state=0).fit(X, y)
    fixed = LinearClassifier(loss="hinge", max_iter=3, random_state=0, learning_rate_init=0.03).fit(X, y)
    np.testing.assert_array_equal(auto.coef_, fixed.coef_)
    np.testing.assert_array_equal(auto.intercept_, fixed.intercept_)
