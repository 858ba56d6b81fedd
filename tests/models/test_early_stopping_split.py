"""The validation set an estimator holds out for ``early_stopping`` is scikit-learn's: the same rows
as scikit-learn's MLPClassifier draws (``train_test_split`` stratified by the
binarised labels) with the drawn seed, so every class keeps its share.

Planted bug this catches (``scripts/plant_bugs.py``): models-09, the split drawn without
``stratify``, which survived every other fast test (a rare class could vanish from the
validation set, and with it the scores early stopping watches).
"""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer

from chainrule.models._data import FitData
from chainrule.models._targets import Labels


@pytest.mark.parametrize("classes", [2, 3])
def test_the_held_out_rows_are_stratified_as_scikit_learns(classes):
    y = np.array([0] * 36 + [1] * 2 + [2] * 2)[: 38 if classes == 2 else 40]
    X = np.arange(y.size, dtype=np.float64)[:, None]
    data = FitData(X, y, y.astype(np.float64), y, None, Labels(np.arange(classes), "log_loss", np.float64))
    for seed in range(8):
        val = data.hold_out(0.1, seed).validation
        held = val[0][:, 0].astype(int)
        _, expected = train_test_split(np.arange(y.size), test_size=0.1, random_state=seed,
                                       stratify=LabelBinarizer().fit_transform(y))   # as MLPClassifier's _fit
        np.testing.assert_array_equal(held, expected)
