"""The playground's data: every toy set with 2 to 5 classes, noise, split and seed; CSV uploads and
their messages; the features the network sees."""
import numpy as np
import pytest

from chainrule.features import notes_transform
from chainrule.playground import datasets, features
from chainrule.playground.settings import parse_settings
from chainrule.playground.upload import UploadError, parse_csv


def _data(**kw):
    s = parse_settings(kw)
    rngs = {"data": np.random.default_rng(s.seed), "split": np.random.default_rng(s.seed + 1)}
    return datasets.generate(s, rngs)


@pytest.mark.parametrize("name", ["circle", "spiral", "gauss", "linear"])
@pytest.mark.parametrize("classes", [2, 5])
def test_toy_sets_have_the_classes_asked_for_and_the_split(name, classes):
    d = _data(dataset=name, classes=classes, points=400, train_pct=70)
    assert d.task == "classification" and d.n_classes == classes
    assert len(d.X_train) + len(d.X_test) == 400
    assert abs(len(d.X_train) - 280) <= classes
    for part in (d.y_train, d.y_test):
        assert set(np.unique(part)) == set(range(classes))
    x0, x1, y0, y1 = d.extent
    X = np.vstack([d.X_train, d.X_test])
    assert x0 < X[:, 0].min() and X[:, 0].max() < x1 and y0 < X[:, 1].min() and X[:, 1].max() < y1
    assert x1 - x0 == pytest.approx(y1 - y0)     # a square: pictures are not stretched


def test_the_seed_decides_the_points_and_noise_spreads_them():
    a, b, c = _data(dataset="linear", seed=3), _data(dataset="linear", seed=3), _data(dataset="linear", seed=4)
    assert np.array_equal(a.X_train, b.X_train) and not np.array_equal(a.X_train, c.X_train)
    # without noise the linear set is separable by parallel lines; the labels follow the projection
    X, y = datasets.make_linear(300, 3, 0.0, np.random.default_rng(0))
    order = np.argsort(y, kind="stable")
    assert np.array_equal(np.sort(y), y[order])
    quiet = datasets.draw("xor", 400, 2, 0.0, np.random.default_rng(0))[0]
    loud = datasets.draw("xor", 400, 2, 1.0, np.random.default_rng(0))[0]
    assert quiet.std() < loud.std()


def test_xor_is_the_notes_four_points_and_curve_is_a_regression():
    X, y = datasets.draw("xor", 200, 2, 0.0, np.random.default_rng(0))
    assert set(map(tuple, X.round(6))) == {(0, 0), (1, 0), (0, 1), (1, 1)}
    assert np.array_equal(y, (X[:, 0] != X[:, 1]).astype(int))
    d = _data(dataset="curve", loss="l2", features="x1", points=40)
    assert d.task == "regression" and d.dims == 1 and d.y_train.dtype == np.float64


# ---- CSV uploads -------------------------------------------------------------------------------------
GOOD = "x1,x2,label\n" + "".join(f"{i * 0.1},{-i * 0.2},{i % 3}\n" for i in range(12))


def test_a_good_csv_with_a_header_and_comments():
    X, y = parse_csv("# my points\n" + GOOD + "\n")
    assert X.shape == (12, 2) and y.tolist() == [i % 3 for i in range(12)]
    X, y = parse_csv("".join(f"{i},{i * i}\n" for i in range(10)))
    assert X.shape == (10, 1) and y.dtype == np.float64


@pytest.mark.parametrize("text, words", [
    ("", "the file has no rows"),
    ("1,2,3,4\n", "line 1: expected 3 values (x1, x2, label) or 2 (x, y); got 4"),
    (GOOD + "0.5,0.5\n", "line 14: expected 3 values (x1, x2, label) as on line 1; got 2"),
    (GOOD.replace("0.1,-0.2", "abc,-0.2", 1), "line 3: value 1 ('abc') is not a number"),
    (GOOD + "inf,0,1\n", "line 14: value 1 is 'inf'; every value must be finite"),
    (GOOD + "0,0,0.5\n", "line 14: the label must be a class index, an integer from 0 to 4; got '0.5'"),
    (GOOD + "0,0,7\n", "got '7'"),
    ("1,2,0\n2,3,1\n", "the file has 2 rows of data; the playground needs at least 10"),
    ("".join(f"{i},{i},1\n" for i in range(12)), "every row has label 1"),
    ("".join(f"{i},{i},{i % 2}\n" for i in range(10_001)), "line 10001: the file has more than 10,000 rows"),
])
def test_a_bad_csv_names_the_line_and_the_problem(text, words):
    with pytest.raises(UploadError) as info:
        parse_csv(text, limit=10**7)
    assert words in str(info.value)


def test_a_file_past_the_size_limit_is_refused_before_parsing():
    with pytest.raises(UploadError, match="the file is 2,300 bytes; the playground takes files of at most 2,000"):
        parse_csv("x" * 2300, limit=2000)


# ---- features ----------------------------------------------------------------------------------------
def test_features_are_the_named_columns_in_order():
    X = np.array([[0.5, -2.0], [1.0, 3.0]])
    F = features.transform(X, ["x1", "x2", "x1sq", "x2sq", "x1x2", "sin1", "sin2"], 0)
    expected = np.column_stack([X[:, 0], X[:, 1], X[:, 0] ** 2, X[:, 1] ** 2, X[:, 0] * X[:, 1],
                                np.sin(X[:, 0]), np.sin(X[:, 1])])
    assert np.allclose(F, expected)
    assert np.allclose(features.transform(X, ["xor"], 0, dtype=np.float64), notes_transform(X))
    assert features.transform(X, ["xor"], 0).dtype == np.float32     # the networks' dtype by default
    assert features.feature_names(["x1", "xor"], 0) == ["x1", "x1'", "x2'"]


def test_polynomial_order_adds_the_monomials_no_named_feature_gives():
    names = features.feature_names(["x1", "x2", "x1x2"], 3)
    assert names == ["x1", "x2", "x1 x2", "x1^2", "x2^2", "x1^3", "x1^2 x2", "x1 x2^2", "x2^3"]
    X = np.array([[2.0, 3.0]])
    assert features.transform(X, ["x1", "x2", "x1x2"], 3).tolist() == [[2, 3, 6, 4, 9, 8, 12, 18, 27]]
    assert features.feature_names(["x1"], 4, dims=1) == ["x1", "x1^2", "x1^3", "x1^4"]
