"""``grad.relative_error`` is the worst entry's error, max |a - n| / max(|a|, |n|): one wrong entry
among many correct ones fails a gradient check however large the gradient is.

Planted bug this catches (``scripts/plant_bugs.py``): grad-05, the mean error over the entries
instead of the largest, which survived every other fast test (their wrong gradients were wrong
everywhere).
"""
import numpy as np
import pytest

from chainrule.grad import relative_error


def test_one_wrong_entry_among_many_sets_the_error():
    a = np.ones(1000)
    n = a.copy()
    n[123] = 1.5
    assert relative_error(a, n) == pytest.approx(0.5 / 1.5, rel=1e-15)
    assert relative_error(np.array([2.0, 0.0]), np.array([2.0, 1e-3])) == pytest.approx(1e-3 / 2.0, rel=1e-15)
    assert relative_error(np.zeros(3), np.full(3, 1e-9)) == 0.0                 # below zero_tol: both zero
