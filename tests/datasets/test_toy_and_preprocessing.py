"""The notes' toy sets and preprocessing fitted on training data only."""
import numpy as np
import pytest

from chainrule.datasets import (Flatten, ScaleToUnit, Standardize, SubtractMeanImage, load_digits, make_blobs,
                                make_polynomial_curve, make_spirals, make_xor, regression_toy,
                                train_validation_split, xor_points)


def test_notes_toy_sets():
    X, y = regression_toy()
    np.testing.assert_array_equal(X[:, 0], [2, 4, 6, 8])
    np.testing.assert_array_equal(y, [3, 4, 5, 6])
    P, labels = xor_points()
    np.testing.assert_array_equal(P, [[0, 0], [1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(labels, [0, 1, 1, 0])
    x, t, f = make_polynomial_curve(13, rng=0)
    assert x.shape == (13, 1) and np.all(np.diff(x[:, 0]) >= 0)
    assert np.std(t - f(x[:, 0])) == pytest.approx(0.25, rel=0.6)
    for make in (make_spirals, make_blobs, make_xor):
        A, b = make(120, rng=1)
        B, c = make(120, rng=1)
        assert A.shape == (120, 2) and len(np.unique(b)) >= 2
        np.testing.assert_array_equal(A, B)          # seeded


def test_preprocessing_learns_from_training_data_only():
    d = load_digits()
    scale = ScaleToUnit().fit(d.X_train)
    assert float(scale.scale_) == 16.0
    assert scale.transform(d.X_test).max() <= 1.0 and scale.transform(d.X_test).dtype == np.float32
    st = Standardize().fit(d.X_train.reshape(-1, 64))
    tr = st.transform(d.X_train.reshape(-1, 64))
    te = st.transform(d.X_test.reshape(-1, 64))
    np.testing.assert_allclose(tr.mean(0), 0, atol=1e-5)
    assert np.abs(te.mean(0)).max() > 1e-3           # the test set keeps its own offsets
    mean = SubtractMeanImage().fit(d.X_train)
    np.testing.assert_allclose(mean.transform(d.X_train).mean(0), 0, atol=1e-5)
    assert mean.mean_.shape == (8, 8)
    flat = Flatten().fit(d.X_train)
    assert flat.transform(d.X_test).shape == (360, 64)
    with pytest.raises(ValueError, match=r"Flatten was fitted on samples of shape \(8, 8\); got \(7, 7\)"):
        flat.transform(np.zeros((2, 7, 7)))
    with pytest.raises(ValueError, match=r"must be finite"):
        Standardize().fit(np.array([[1.0, np.nan]]))


def test_stratified_seeded_split():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100)
    a = train_validation_split(X, y, 0.2, random_state=4)
    b = train_validation_split(X, y, 0.2, random_state=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    Xtr, Xva, ytr, yva = a
    assert np.bincount(yva).tolist() == [12, 6, 2] and len(Xtr) == 80
    assert sorted(np.concatenate([Xtr, Xva]).tolist()) == list(range(100))
