"""SoftmaxLogLikelihood.probabilities() is p after backward() too (issue 19.7: an aliasing bug, the
gradient p - onehot computed in p's own memory, went unnoticed)."""
import numpy as np
import pytest

from chainrule import losses


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_probabilities_survive_backward(dtype):
    s = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=dtype)
    y = np.array([0, 2])
    loss = losses.SoftmaxLogLikelihood()
    loss(s, y)
    e = np.exp(s.astype(np.float64) - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss.probabilities(), p, rtol=1e-6)
    before = loss.probabilities().copy()
    grad = loss.backward()
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(grad, (p - onehot) / 2, rtol=1e-6, atol=1e-7)      # mean over the 2 samples
    np.testing.assert_array_equal(loss.probabilities(), before)
    np.testing.assert_allclose(loss.probabilities().sum(axis=1), 1.0, rtol=1e-6)
    loss.backward()                                                                 # twice: the same again
    np.testing.assert_allclose(loss.backward(), grad, rtol=0, atol=0)
