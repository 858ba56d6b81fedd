"""Feature maps: the notes' transform, polynomial features, HOG, hue histograms, nearest neighbours."""
from math import comb

import numpy as np
import pytest
from sklearn.preprocessing import PolynomialFeatures as SkPoly

from chainrule.datasets import Standardize, load_digits, xor_points
from chainrule.features import (HOGFeatures, KNeighborsClassifier, NotesTransform, PolynomialFeatures,
                                hog_features, hue_histogram, n_polynomial_features, notes_transform)
from chainrule.models import LinearClassifier


def test_notes_transform_maps_the_four_points():
    X, _ = xor_points()
    np.testing.assert_allclose(notes_transform(X), [[0, 0], [2, 0], [0, 2], [0.4, 0.4]])
    np.testing.assert_allclose(NotesTransform().fit_transform(X), notes_transform(X))
    with pytest.raises(ValueError, match=r"undefined where x1 x2 = -1/4; row 0 is \[0.5, -0.5\]"):
        notes_transform([[0.5, -0.5]])


def test_xor_is_separable_after_the_transform_and_not_before():
    X, y = xor_points()
    Xr, yr = np.repeat(X, 25, axis=0), np.repeat(y, 25)
    before = max(LinearClassifier(loss="hinge", max_iter=300, tol=0, learning_rate_init=0.05, batch_size=None, random_state=s,
                                  alpha=0).fit(Xr, yr).score(X, y) for s in range(5))
    # no line separates XOR (w.a + b < 0 < w.b + b and w.d + b < 0 < w.c + b would add up to
    # w.(a + d) + 2b < 0 < w.(b + c) + 2b, but a + d = b + c): at best 3 of the 4 points
    assert before <= 0.75
    after = LinearClassifier(loss="hinge", max_iter=300, tol=0, learning_rate_init=0.05, batch_size=None, random_state=0,
                             alpha=0).fit(notes_transform(Xr), yr)
    assert after.score(notes_transform(X), y) == 1.0


@pytest.mark.parametrize("d", range(1, 11))
def test_quadratic_feature_count_is_the_notes(d):
    X = np.random.default_rng(d).standard_normal((3, d))
    out = PolynomialFeatures(2).fit_transform(X)
    assert out.shape[1] == (d + 1) * (d + 2) // 2 == n_polynomial_features(d, 2)


@pytest.mark.parametrize("d,k", [(1, 5), (2, 3), (3, 4), (5, 3), (4, 6), (6, 1), (3, 0)])
def test_general_degree_count_and_values_match_scikit_learn(d, k):
    X = np.random.default_rng(0).standard_normal((4, d))
    out = PolynomialFeatures(k).fit_transform(X)
    assert out.shape[1] == comb(d + k, k)
    np.testing.assert_allclose(out, SkPoly(k).fit_transform(X), rtol=1e-12)
    assert PolynomialFeatures(k, include_bias=False).fit_transform(X).shape[1] == comb(d + k, k) - 1


def test_polynomial_feature_names():
    pf = PolynomialFeatures(2).fit(np.zeros((1, 2)))
    assert pf.get_feature_names_out(["a", "b"]).tolist() == ["1", "a", "b", "a^2", "a b", "b^2"]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_knn_k3_on_digits(digits):
    Xtr, Xte = digits.X_train.reshape(len(digits.X_train), -1), digits.X_test.reshape(360, -1)
    knn = KNeighborsClassifier(k=3).fit(Xtr, digits.y_train)
    assert knn.score(Xte, digits.y_test) >= 0.98


def test_knn_chunking_and_neighbours_are_exact(digits):
    Xtr = digits.X_train.reshape(len(digits.X_train), -1).astype(np.float64)
    Xte = digits.X_test.reshape(360, -1).astype(np.float64)
    big = KNeighborsClassifier(k=5).fit(Xtr, digits.y_train)
    tiny = KNeighborsClassifier(k=5, memory_mb=0.05).fit(Xtr, digits.y_train)
    assert tiny._chunk_rows(Xtr.shape[0], 8) < 10           # really chunked
    np.testing.assert_array_equal(tiny.predict(Xte), big.predict(Xte))
    dist, idx = big.kneighbors(Xte[:20])
    brute = np.sqrt(((Xte[:20, None, :] - Xtr[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(dist, np.sort(brute, axis=1)[:, :5], atol=1e-9)
    # 10,000 queries against 60,000 training rows of float32 at the default 64 MB: ~140 rows at a time
    assert KNeighborsClassifier().set_params(memory_mb=64)._chunk_rows(60000, 4) * 60000 * 4 <= 64 * 2**20


def test_knn_ties_go_to_the_nearest_label():
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    knn = KNeighborsClassifier(k=2).fit(X, ["near", "far", "far", "near"])
    assert knn.predict([[0.4]]).tolist() == ["near"]     # one vote each; 'near' is the closest
    assert knn.predict([[3.4]]).tolist() == ["far"]


def test_hog_with_a_linear_classifier_on_digits(digits):
    hog = HOGFeatures(resize_to=(24, 24), pixels_per_cell=(6, 6), cells_per_block=(2, 2))
    Htr = hog.fit_transform(digits.X_train)
    Hte = hog.transform(digits.X_test)
    scale = Standardize().fit(Htr)
    clf = LinearClassifier(random_state=0).fit(scale.transform(Htr), digits.y_train)
    assert clf.score(scale.transform(Hte), digits.y_test) >= 0.95
    flat = HOGFeatures(image_shape=(8, 8), resize_to=(24, 24), pixels_per_cell=(6, 6)).fit(digits.X_train.reshape(-1, 64))
    np.testing.assert_allclose(flat.transform(digits.X_test.reshape(-1, 64)), Hte)


def test_hue_histogram_of_pure_colours():
    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((1, 4, 4, 3), np.uint8)
    blue[..., 2] = 255
    grey = np.full((1, 4, 4, 3), 128, np.uint8)
    h = hue_histogram(np.concatenate([red, blue, grey]), bins=12)
    assert h.shape == (3, 12)
    assert h[0, 0] == pytest.approx(1.0) and h[1, 8] == pytest.approx(1.0)   # hue 0 and 2/3
    assert h[2].sum() == 0                                                     # grey has no hue
    with pytest.raises(ValueError, match=r"needs colour images \(N, H, W, 3\)"):
        hue_histogram(np.zeros((2, 8, 8)))
    feats = HOGFeatures(hue_bins=12).fit_transform(np.concatenate([red, blue, grey] * 2).repeat(2, 1).repeat(2, 2))
    assert feats.shape[0] == 6 and np.allclose(feats[:, -12:].sum(1)[:2], 1)


@pytest.mark.parametrize("settings,message", [
    ({"resize_to": (40000, 40000)}, r"resize_to must be None or \(height, width\) with each side an integer from 1 to "
                                    r"1024; got \(40000, 40000\)"),
    ({"resize_to": (1025, 8)}, r"resize_to must be .*; got \(1025, 8\)"),
    ({"resize_to": (0, 8)}, r"resize_to must be .*; got \(0, 8\)"),
    ({"resize_to": (24.0, 24)}, r"resize_to must be .*; got \(24.0, 24\)"),
    ({"resize_to": (24,)}, r"resize_to must be .*; got \(24,\)"),
    ({"orientations": 10**9}, r"orientations must be an integer from 1 to 360; got 1000000000"),
    ({"pixels_per_cell": (0, 4)}, r"pixels_per_cell must be \(rows, columns\), positive integers up to 1024; got \(0, 4\)"),
    ({"cells_per_block": (True, 2)}, r"cells_per_block must be .*; got \(True, 2\)"),
    ({"hue_bins": -1}, r"hue_bins must be an integer from 0 to 360; got -1"),
])
def test_hog_refuses_absurd_settings_at_construction_fit_and_transform(digits, settings, message):
    with pytest.raises(ValueError, match=message):
        HOGFeatures(**settings)
    with pytest.raises(ValueError, match=message):                  # set_params skips __init__
        HOGFeatures().set_params(**settings).fit(digits.X_train[:2])
    fitted = HOGFeatures().fit(digits.X_train[:2])
    with pytest.raises(ValueError, match=message):
        fitted.set_params(**settings).transform(digits.X_test[:2])
    if "resize_to" in settings:
        with pytest.raises(ValueError, match=message):
            hog_features(digits.X_test[:2], resize_to=settings["resize_to"])


def test_hog_refuses_more_than_a_million_numbers_per_image_before_any_work(digits):
    hog = HOGFeatures(resize_to=(1024, 1024), pixels_per_cell=(1, 1), cells_per_block=(1, 1))
    with pytest.raises(ValueError, match=r"one image's HOG vector must have at most 1,048,576 numbers; got 9,437,184 "
                                         r"\(1024 x 1024 pixels, cells \(1, 1\), blocks \(1, 1\), 9 orientations\)"):
        hog.fit(digits.X_train[:2])
    # the largest side is allowed; images are resized one at a time
    wide = HOGFeatures(resize_to=(1024, 8)).fit_transform(digits.X_train[:3])
    assert wide.shape == (3, 255 * 1 * 4 * 9) and wide.dtype == np.float32


def test_hog_resizes_image_by_image_exactly_as_the_whole_batch(digits):
    from skimage.feature import hog
    from skimage.transform import resize
    X = digits.X_test[:6].astype(np.float64)
    batch = resize(X / X.max(), (6, 24, 24), order=1, anti_aliasing=False)
    expected = np.stack([hog(im, orientations=9, pixels_per_cell=(6, 6), cells_per_block=(2, 2)) for im in batch])
    got = hog_features(X, pixels_per_cell=(6, 6), resize_to=(24, 24))
    np.testing.assert_array_equal(got, expected.astype(np.float32))
