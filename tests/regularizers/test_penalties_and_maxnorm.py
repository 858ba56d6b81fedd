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


def test_penalty_keeps_float32_and_reads_fortran_order_without_copy():
    Wf = np.asfortranarray(W.astype(np.float32))
    assert np.asarray(regularizers.L2(0.5).penalty(Wf)).dtype == np.float32
    g = np.zeros_like(Wf)
    regularizers.L2(0.5).add_gradient(Wf, g)
    np.testing.assert_allclose(g, Wf)


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
