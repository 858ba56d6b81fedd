"""The exact epoch at which the stopping rule ends a run (issue 19.7: an off-by-one went unnoticed).

scikit-learn's rule: an epoch that does not improve the best score by tol counts; more than
n_iter_no_change such epochs in a row end the run. The first epoch always improves (on -inf), so
with a tol no epoch can beat, a run with patience P ends after exactly P + 2 epochs."""
import numpy as np
import pytest

from chainrule.models import MLPClassifier


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


@pytest.mark.parametrize("early_stopping", [True, False])
@pytest.mark.parametrize("patience", [1, 3])
def test_the_run_ends_after_patience_plus_two_epochs(data, patience, early_stopping):
    est = MLPClassifier((8,), max_iter=30, tol=1e6, n_iter_no_change=patience, early_stopping=early_stopping,
                        random_state=0, n_threads=1).fit(*data)
    assert est.n_iter_ == patience + 2 and len(est.history_) == patience + 2
    assert est.history_.stopped_early
    if early_stopping:
        assert len(est.validation_scores_) == patience + 2


def test_a_patience_beyond_the_epochs_never_stops(data):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((8,), max_iter=4, tol=1e6, n_iter_no_change=2, random_state=0, n_threads=1).fit(*data)
    assert est.n_iter_ == 4 and not est.history_.stopped_early
