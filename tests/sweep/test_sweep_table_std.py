"""The results table's ``std_test_score`` is GridSearchCV's: the standard deviation over the folds
with ddof=0 (``np.std``), the same in every row of a candidate.

Planted bug this catches (``scripts/plant_bugs.py``): sweep-05, ``std(ddof=1)``, which survived
every other fast test (the comparison with GridSearchCV checked means and ranks only).
"""
import numpy as np
import pytest

from chainrule.sweep import table as tables


def test_std_test_score_is_the_population_std_over_the_folds():
    scores = {0: [0.5, 0.7, 0.9], 1: [0.8, 0.6, 0.5]}
    records = {(i, k): {"test_score": s} for i, folds in scores.items() for k, s in enumerate(folds)}
    t = tables.build([{"alpha": 0.1}, {"alpha": 1.0}], 3, records)
    expected = [np.std(scores[0]), np.std(scores[1])]
    np.testing.assert_allclose(t["std_test_score"], expected, rtol=1e-15)
    assert [r["std_test_score"] for r in t["rows"]] == pytest.approx([expected[0]] * 3 + [expected[1]] * 3, rel=1e-15)
    assert t["best_index"] == 0 and t["best_score"] == pytest.approx(np.mean(scores[0]), rel=1e-15)
