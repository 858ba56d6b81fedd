"""``class_weight`` as a dict weights the classes it names and leaves the others at 1 (scikit-learn's
rule): the fit equals the one with the matching ``sample_weight``, and combining both multiplies them.

Planted bugs these catch (``scripts/plant_bugs.py``): models-06, classes a dict does not name
weighted 0 instead of 1 (it survived every other fast test: the dict test only checked that a
heavy class gained predictions), and models-07, class_weight dropped when sample_weight is given.
"""
import numpy as np
import pytest

from chainrule.models import LinearClassifier


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    X = rng.standard_normal((90, 4)) + 2.0 * np.eye(3, 4)[y]
    return X, y


def fitted(X, y, **kw):
    sw = kw.pop("sample_weight", None)
    est = LinearClassifier(max_iter=5, random_state=0, batch_size=16, learning_rate_init=0.05, **kw)
    return est.fit(X, y, sample_weight=sw)


def test_a_dict_weights_the_named_classes_and_leaves_the_others_at_one(blobs):
    X, y = blobs
    by_dict = fitted(X, y, class_weight={0: 3.0})
    by_rows = fitted(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(by_dict.coef_, by_rows.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(by_dict.intercept_, by_rows.intercept_, rtol=1e-6, atol=1e-7)


def test_class_weight_and_sample_weight_multiply(blobs):
    X, y = blobs
    sw = np.linspace(0.5, 1.5, len(y))
    both = fitted(X, y, class_weight={2: 0.25}, sample_weight=sw)
    product = fitted(X, y, sample_weight=sw * np.where(y == 2, 0.25, 1.0))
    np.testing.assert_allclose(both.coef_, product.coef_, rtol=1e-6, atol=1e-7)
