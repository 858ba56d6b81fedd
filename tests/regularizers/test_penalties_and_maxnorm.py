"""Penalty values of the notes' R(W) and the max-norm projection."""
import numpy as np
import pytest

from chainrule import regularizers

W = np.array([[1.0, -2.0], [0.0, 3.0]])


def test_penalty_values_follow_the_notes():
    assert regularizers.L2(0.1).penalty(W) == pytest.approx(0.1 * 14)
    assert regularizers.L1(0.1).penalty(W) == pytest.approx(0.1 * 6)
    assert regularizers.ElasticNet(0.1, beta=0.5).penalty(W) == pytest.approx(0.1 * (0.5 * 14 + 6))
    np.testing.assert_allclose(regularizers.L2(0.1).gradient(W), 0.2 * W)
    np.testing.assert_allclose(regularizers.L1(0.1).gradient(W), [[0.1, -0.1], [0.0, 0.1]])  # 0 at W = 0


def test_penalty_keeps_float32_and_the_weight_layout():
    Wf = np.asfortranarray(W.astype(np.float32))
    assert np.asarray(regularizers.L2(0.5).penalty(Wf)).dtype == np.float32
    g = regularizers.L2(0.5).gradient(Wf)
    assert g.dtype == np.float32 and g.flags.f_contiguous     # the update then runs over matching layouts
    np.testing.assert_allclose(g, Wf)


def test_penalty_gradients_accumulate_into_grad():
    from chainrule import nn
    p, q = nn.Parameter(W.copy(), regularizer=regularizers.L1(0.1)), nn.Parameter(W.copy())
    regularizers.add_penalty_gradients([p, q])
    np.testing.assert_allclose(p.grad, 0.1 * np.sign(W))   # written when there was no gradient
    assert q.grad is None                                   # no regularizer: untouched
    p.grad = np.ones_like(W)
    regularizers.add_penalty_gradients([p, q])
    np.testing.assert_allclose(p.grad, 1 + 0.1 * np.sign(W))   # added to the data gradient
    assert regularizers.penalty_value([p, q]) == pytest.approx(0.1 * 6)


def test_maxnorm_projects_long_rows_onto_the_ball_only():
    c = regularizers.MaxNorm(2.5)
    A = np.array([[3.0, 4.0], [0.6, 0.8], [0.0, 0.0]])
    out = c.apply(A)
    assert out is A
    np.testing.assert_allclose(np.linalg.norm(A, axis=1), [2.5, 1.0, 0.0])
    np.testing.assert_allclose(A[0], [1.5, 2.0])           # direction kept
    np.testing.assert_allclose(A[1], [0.6, 0.8])           # short rows untouched
    v = c.project(np.array([6.0, 8.0]))                     # a vector is one row
    assert np.linalg.norm(v) == pytest.approx(2.5)
    with pytest.raises(TypeError, match="floating-point NumPy array"):
        c.apply([[1, 2]])
