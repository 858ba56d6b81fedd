"""Bad values are refused up front (issue 19.5, the estimators' part): max_iter=0 and a
validation_fraction outside (0, 1) in scikit-learn's words, zero images, and inputs so large that
the model's arithmetic would overflow: a fit that works, or an error naming the cause, never
constant predictions with only NumPy's overflow warning."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from chainrule import models

ALL = [models.LinearClassifier, models.LinearRegression, models.PolynomialRegression, models.MLPClassifier,
       models.MLPRegressor, models.CNNClassifier]


def _data(cls, n=20):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 1, 4, 4)) if cls is models.CNNClassifier else rng.normal(size=(n, 3))
    flat = X.reshape(n, -1)
    return X, ((flat[:, 0] > 0).astype(int) if cls in (models.LinearClassifier, models.MLPClassifier,
                                                       models.CNNClassifier) else flat[:, 0])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_max_iter_below_one_is_refused_in_scikit_learns_words(cls, value):
    X, y = _data(cls)
    message = (rf"The 'max_iter' parameter of {cls.__name__} must be an int in the range \[1, inf\)\. "
               rf"Got {value!r} instead\.")
    with pytest.raises(ValueError, match=message):
        cls(max_iter=value).fit(X, y)


def test_the_0_1_epochs_0_is_refused_as_max_iter():
    X, y = _data(models.MLPClassifier)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match=r"'max_iter' parameter of MLPClassifier"):
        models.MLPClassifier(epochs=0).fit(X, y)


@pytest.mark.parametrize("cls", [models.LinearClassifier, models.MLPClassifier, models.MLPRegressor,
                                 models.CNNClassifier], ids=lambda c: c.__name__)
@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5, -0.1])
@pytest.mark.parametrize("early_stopping", [True, False])
def test_validation_fraction_outside_0_1_is_refused(cls, fraction, early_stopping):
    X, y = _data(cls)
    message = (rf"The 'validation_fraction' parameter of {cls.__name__} must be a float in the range "
               rf"\(0\.0, 1\.0\)\. Got {fraction!r} instead\.")
    with pytest.raises(ValueError, match=message):
        cls(validation_fraction=fraction, early_stopping=early_stopping).fit(X, y)


@pytest.mark.parametrize("shape", [(0, 8, 8), (0, 1, 8, 8), (0, 64)])
def test_cnn_on_zero_images_says_so(shape):
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\) \(shape=\(0, [0-9, ]*\)\) while a minimum "
                                         r"of 1 is required by CNNClassifier"):
        models.CNNClassifier(image_shape=(8, 8)).fit(np.zeros(shape), np.zeros(0, dtype=int))
    fitted = models.CNNClassifier(image_shape=(8, 8), max_iter=1, batch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(np.random.default_rng(0).random((16, 8, 8)), np.arange(16) % 2)
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        fitted.predict(np.zeros(shape))


# -- inputs near 1e300 (numpy's RuntimeWarnings are errors in this suite: pyproject's filterwarnings) --
X1 = np.linspace(1, 2, 40)[:, None]
Y1 = 3 * X1[:, 0] ** 2 - X1[:, 0]


@pytest.mark.parametrize("solver", ["lstsq", "sgd"])
def test_polynomial_regression_fits_inputs_near_1e300_as_it_fits_small_ones(solver):
    """0.1: the standardisation's sums overflowed, every prediction was the same number and NumPy's
    overflow warning was the only word. Now the polynomial is the same at any scale."""
    small = models.PolynomialRegression(degree=2, solver=solver, random_state=0).fit(X1, Y1)
    huge = models.PolynomialRegression(degree=2, solver=solver, random_state=0).fit(X1 * 1e300, Y1)
    predictions = huge.predict(X1 * 1e300)
    assert np.unique(predictions).size == X1.shape[0]
    np.testing.assert_allclose(predictions, small.predict(X1), rtol=1e-9, atol=1e-9)
    assert huge.score(X1 * 1e300, Y1) > 0.999999


def test_polynomial_regression_refuses_inputs_spanning_more_than_float64():
    X = np.array([[-1.7e308], [1.7e308], [1.7e308], [1.7e308]])     # X - mean(X) overflows
    with pytest.raises(ValueError, match=r"X spans more than float64 can hold once centred"):
        models.PolynomialRegression(degree=2).fit(X, np.arange(4.0))


def test_linear_regression_on_inputs_near_1e300():
    """0.1: "Eigenvalues did not converge" (gradient descent's step) or a least-squares solve on
    overflowed sums. lstsq now fits them; gradient descent says why it cannot step."""
    exact = models.LinearRegression(solver="lstsq").fit(X1 * 1e300, Y1)
    reference = models.LinearRegression(solver="lstsq").fit(X1, Y1)
    np.testing.assert_allclose(exact.predict(X1 * 1e300), reference.predict(X1), rtol=1e-12)
    assert exact.coef_[0] == pytest.approx(reference.coef_[0] * 1e-300, rel=1e-12)
    with pytest.raises(ValueError, match=r"LinearRegression: X holds values as large as 2e\+300; the curvature of the "
                                         r"L2 loss .* overflows float64.*Scale X first.*or use solver='lstsq'"):
        models.LinearRegression(random_state=0).fit(X1 * 1e300, Y1)


def test_linear_classifier_sgd_on_inputs_near_1e300_names_the_cause():
    y = (Y1 > 5).astype(int)
    with pytest.raises(ValueError, match=r"LinearClassifier: X holds values as large as 2e\+300; the curvature of "
                                         r"the loss overflows float64"):
        models.LinearClassifier(solver="sgd", random_state=0).fit(X1 * 1e300, y)
