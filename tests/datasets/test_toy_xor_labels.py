"""``make_xor`` labels each noisy point by its corner: class 1 where exactly one coordinate is 1.

Planted bug this catches (``scripts/plant_bugs.py``): datasets-04, labels drawn for other points
(``labels[idx[::-1]]``), which survived every other fast test (they checked shapes and seeds).
"""
import numpy as np

from chainrule.datasets import make_xor


def test_every_noisy_point_carries_its_corners_label():
    X, y = make_xor(200, noise=0.05, rng=0)
    corner = np.rint(X).astype(int)
    assert set(map(tuple, corner)) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])
