"""scikit-learn's own estimator checks on every estimator.

Settings are small so the checks run fast; each instance still learns (the checks demand
accuracy > 0.83 and R^2 > 0.5 on their data sets). The linear classifiers use Adam here: the
class-weight check trains on unscaled blobs (standard deviation 20) where plain SGD with a
fixed step oscillates, and the check raises only scikit-learn's own iteration settings.

The instances compute in float64. In float32 (the default) a prediction can differ in its last
bit (about 1e-7 relative) with the number of rows predicted at once, because the BLAS library
picks its matrix-product kernel by size; check_methods_subset_invariance compares at rtol 1e-7,
so in float32 it would pass or fail depending on the CPU. In float64 the same effect is 1e-16.
tests/models/test_estimators.py checks float32 predictions for batch invariance at float32
precision.
"""
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.features import PolynomialFeatures
from chainrule.models import (LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor,
                              PolynomialRegression)

F64 = {"dtype": "float64"}
LINEAR = {"optimizer": "adam", "lr": 0.05, "epochs": 30, **F64}
ESTIMATORS = [
    LinearClassifier(**LINEAR),
    LinearClassifier(loss="hinge", **LINEAR),
    LinearClassifier(loss="sigmoid", **LINEAR),
    LinearClassifier(loss="softmax_cross_entropy", penalty="maxnorm", **LINEAR),
    MLPClassifier((16,), epochs=40, lr=0.01, **F64),
    MLPClassifier((16,), epochs=40, lr=0.01, dropout=0.1, batch_norm=True, loss="hinge", **F64),
    MLPRegressor((16,), epochs=60, lr=0.01, **F64),
    LinearRegression(epochs=500),
    LinearRegression(solver="lstsq"),
    PolynomialRegression(degree=2, alpha=1e-3),
    PolynomialRegression(degree=2, solver="gd", epochs=300),
    PolynomialFeatures(degree=2),
]

EXPECTED_FAILURES: dict = {}


def expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
