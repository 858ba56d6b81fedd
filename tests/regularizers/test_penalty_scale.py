"""The factor ``scale`` on the penalty term (scikit-learn's alpha / (2 B) on a batch of B samples with
``penalty_per_batch``) reaches both the value and the gradient, whatever its size.

Planted bugs these catch (``scripts/plant_bugs.py``): regularizers-05, a gradient that ignored any scale
below 1 (``if scale > 1.0``: every real per-batch scale is below 1), and regularizers-06, a penalty
value that forgot its scale; both survived every other fast test.
"""
import numpy as np
import pytest

from chainrule import nn, regularizers

W = np.array([[1.0, -2.0], [0.5, 3.0]])


@pytest.mark.parametrize("scale", [0.25, 1 / 64, 3.0])
def test_scale_multiplies_the_penalty_value(scale):
    p = nn.Parameter(W.copy(), regularizer=regularizers.L2(0.1))
    assert regularizers.penalty_value([p], scale) == pytest.approx(scale * 0.1 * 14.25, rel=1e-12)


@pytest.mark.parametrize("scale", [0.25, 1 / 64, 3.0])
def test_scale_multiplies_the_penalty_gradient(scale):
    p = nn.Parameter(W.copy(), regularizer=regularizers.ElasticNet(0.1, beta=0.5))
    regularizers.add_penalty_gradients([p], scale)
    np.testing.assert_allclose(p.grad, scale * 0.1 * (W + np.sign(W)), rtol=1e-12)
