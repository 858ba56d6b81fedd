"""Linear models of the notes: s = W x + b for classification and regression, and polynomial
regression (a linear model on polynomial features) for under- and over-fitting."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .._helpers.validation import check_int
from ..core.sequential import Sequential
from ..datasets.preprocessing import mean_and_scale
from ..features.polynomial import PolynomialFeatures
from ..layers.linear import Linear
from ._docs import (CLASSIFIERS, COMMON, DEPRECATED as RENAMED_OPTIONS, FIT, LINEAR_CLASSIFIER, LINEAR_REGRESSION,
                    NOTES, POLYNOMIAL, document)
from ._estimator import NetworkEstimator, store_params
from ._settings import DEPRECATED, RENAMED, SOLVERS, params, resolve, user_stacklevel
from ._tasks import NetworkClassifier, NetworkRegressor


def _rate(est_name: str, value):
    """learning_rate_init: None for 'auto' (the data decide), else the number as given (checked later)."""
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"learning_rate_init must be 'auto' or a number > 0; got {value!r}")
        return None
    return value


def _too_large(est_name: str, largest: float, what: str, instead: str = "") -> ValueError:
    return ValueError(f"{est_name}: X holds values as large as {largest:.3g}; {what} overflows float64, so no "
                      f"gradient step can be taken safely. Scale X first (e.g. sklearn.preprocessing.StandardScaler)"
                      f"{instead}")


def second_moment_top(X, sample_weight=None, intercept: bool = True, iterations: int = 30) -> float:
    """The largest eigenvalue of 1/N sum_i w_i a_i a_i^T, a_i = [x_i, 1] (or x_i), by power
    iteration: a few products with X, so it costs little on large or sparse data. The weights
    are normalised to mean 1, as the training loop normalises them. X is divided by the power of
    two above its largest magnitude (exact), so nothing overflows for inputs near 1e300; the
    result is inf when the eigenvalue itself is beyond float64."""
    n, d = X.shape
    c = _power_of_two_above(abs(X).max() if n and d else 0.0)
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64) / np.mean(sample_weight)
    v = np.random.default_rng(0).standard_normal(d + intercept)
    lam = 0.0
    for _ in range(iterations):
        v /= np.linalg.norm(v)
        u = np.asarray(X @ v[:d], dtype=np.float64).ravel() / c + (v[d] / c if intercept else 0.0)
        if w is not None:
            u *= w
        top = np.asarray(X.T @ u, dtype=np.float64).ravel() / c
        v = np.append(top, u.sum() / c) / n if intercept else top / n
        lam = float(np.linalg.norm(v))
        if lam == 0.0:
            return 0.0
    with np.errstate(over="ignore"):
        return float(lam * c * c)


def curvature(X, intercept: bool) -> float:
    """lambda_max(A^T A / N), A = [X, 1] (or X), exactly (an eigenvalue of a d x d matrix), with X
    divided by the power of two above its largest magnitude first (exact; inf beyond float64)."""
    c = _power_of_two_above(np.abs(X).max(initial=0.0))
    A = np.asarray(X, dtype=np.float64) / c
    if intercept:
        A = np.column_stack([A, np.full(A.shape[0], 1.0 / c)])
    with np.errstate(over="ignore"):
        return float(np.linalg.eigvalsh(A.T @ A / A.shape[0])[-1]) * c * c


def _power_of_two_above(largest) -> float:
    largest = float(largest)
    return 2.0 ** np.ceil(np.log2(largest)) if largest > 0 and np.isfinite(largest) else 1.0


@document(LINEAR_CLASSIFIER, CLASSIFIERS, NOTES, COMMON, RENAMED_OPTIONS)
class LinearClassifier(NetworkClassifier, NetworkEstimator):
    """The notes' linear classifier s = W x + b trained with one of their losses.

    By full-batch L-BFGS (as scikit-learn's LogisticRegression) or the notes' minibatch training,
    as ``solver`` says; ``alpha`` is the notes' lambda. ``coef_`` has shape (C, d) as in the notes
    (row j is w_j^T; (1, d) when two classes share one score) and ``intercept_`` shape (C,);
    the other fitted attributes are ``MLPClassifier``'s.

    {parameters}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LinearClassifier(loss="hinge", max_iter=15, random_state=0).fit(X[:1200] / 16, y[:1200])
    >>> clf.coef_.shape
    (10, 64)
    >>> round(clf.score(X[1200:] / 16, y[1200:]), 2) > 0.85
    True
    """

    _fitted_attributes = NetworkEstimator._fitted_attributes + NetworkClassifier.FITTED

    def __init__(self, loss="softmax", penalty="l2", alpha=1e-4, beta=0.5, max_norm=3.0, penalize_bias=False,
                 fit_intercept=True, solver="auto", learning_rate_init="auto", momentum=0.9, nesterovs_momentum=False,
                 batch_size="auto", max_iter=100, lr_schedule=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, class_weight=None, random_state=None, verbose=0, warm_start=False,
                 dtype=None, checkpoint=None, n_threads="auto", optimizer=DEPRECATED, lr=DEPRECATED, epochs=DEPRECATED,
                 nesterov=DEPRECATED):
        store_params(self, locals())

    def _solver(self, p):
        """'auto': L-BFGS for a smooth loss with an L2 penalty or none and no minibatch setting, else SGD."""
        if p["solver"] != "auto":
            return p["solver"]
        minibatch = not (isinstance(p["batch_size"], str) and isinstance(p["learning_rate_init"], str))
        return "sgd" if minibatch or p["loss"] == "hinge" or p["penalty"] not in (None, "l2") else "lbfgs"

    def _settings(self, X, sample_weight):
        p = params(self)
        p["solver"] = self._solver(p)
        rate = _rate(type(self).__name__, p["learning_rate_init"])
        if rate is None:
            rate = 0.03
            if p["solver"] == "sgd":
                top = second_moment_top(X, sample_weight, bool(self.fit_intercept))
                if not np.isfinite(top):
                    raise _too_large(type(self).__name__, float(abs(X).max()), "the curvature of the loss")
                rate = min(0.03, 1.0 / max(top, 1e-12))
        p["learning_rate_init"] = rate
        p["batch_size"] = 32 if p["batch_size"] == "auto" else p["batch_size"]
        return resolve(type(self).__name__, p, alpha_per_batch=False, solvers=("auto",) + SOLVERS)

    def _build_network(self, n_in, n_out, rng):
        return Sequential(Linear(n_in, n_out, bias=bool(self.fit_intercept), rng=rng, dtype=self._dtype))

    @property
    def coef_(self):
        """The weights W, shape (C, d) (or (1, d) for one shared score): the network's own array."""
        check_is_fitted(self, "model_")
        return self.model_[0].weight.value

    @property
    def intercept_(self):
        """The biases b, shape (C,) ((1,) for one shared score); zeros when ``fit_intercept=False``."""
        check_is_fitted(self, "model_")
        layer = self.model_[0]
        return layer.bias.value if layer.bias is not None else np.zeros(layer.out_features, layer.weight.dtype)


#: LinearRegression's 0.1 names: ``optimizer`` was the update rule of solver='gd' (see _Regression._solver)
REGRESSION_RENAMED = {k: v for k, v in RENAMED.items() if k != "optimizer"}


class _Regression:
    """What LinearRegression and PolynomialRegression share: the solvers ('lstsq' or gradient
    descent with an update rule), the gradient rule of stopping, the notes' lambda, the step 1/L,
    and ``coef_`` / ``intercept_``."""

    _fitted_attributes = NetworkEstimator._fitted_attributes + NetworkRegressor.FITTED + ("solver_",)

    def _solver(self, p, warn=False):
        """The solver of the parameters: chainrule 0.1's solver='gd' (and its ``optimizer``) become the
        update rule's name."""
        solver, rule = p["solver"], p.get("optimizer", DEPRECATED)
        old = not (isinstance(rule, str) and rule == DEPRECATED)
        if solver == "gd" or (old and solver == "sgd"):
            new = rule if old else "sgd"
            if warn:
                warnings.warn(f"{type(self).__name__}: chainrule 0.1's solver='gd' and 'optimizer' are solver={new!r} "
                              "since chainrule 0.2 (gradient descent is solver='sgd' with batch_size=None); the 0.1 "
                              "spelling goes in 0.3", FutureWarning, stacklevel=user_stacklevel())
            return new
        return solver

    def _penalty(self, p):
        return p["penalty"]

    def _settings(self, X, sample_weight):
        p = params(self, renamed=REGRESSION_RENAMED)
        p["solver"], p["penalty"] = self._solver(p, warn=True), self._penalty(p)
        rate = _rate(type(self).__name__, p["learning_rate_init"])
        if rate is None and p["solver"] != "lstsq":      # 1/L, L = 2 lambda_max(A^T A / N) (+ the penalty's)
            L = 2 * curvature(X, bool(self.fit_intercept))
            if not np.isfinite(L):
                raise _too_large(type(self).__name__, float(np.abs(X).max()),
                                 "the curvature of the L2 loss (2 lambda_max(A^T A / N))", ", or use solver='lstsq'")
            L += 2 * p["alpha"] * {"l2": 1.0, "elasticnet": p["beta"]}.get(p["penalty"], 0.0)
            rate = 1.0 / max(L, 1e-12)
        p["learning_rate_init"] = 1.0 if rate is None else rate
        return resolve(type(self).__name__, p, alpha_per_batch=False, stopping="gradient",
                       solvers=SOLVERS + ("lstsq",))

    @document(FIT)
    def fit(self, X, y, validation_data=None, resume_from=None, eval_train=None):
        """Train with ``solver``: gradient descent ('sgd' and the other update rules), or the
        least-squares solution in one step ('lstsq', which ignores ``validation_data`` and refuses
        ``resume_from`` and ``eval_train``).

        {parameters}

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        self._fit(X, y, validation_data=validation_data, resume_from=resume_from, eval_train=eval_train)
        self.solver_ = self._solver(params(self, warn=False, renamed=REGRESSION_RENAMED))
        return self

    @property
    def coef_(self):
        """The weights, shape (d,) or (K, d) (PolynomialRegression: of the standardised features)."""
        check_is_fitted(self, "model_")
        w = self.model_[0].weight.value
        return w[0] if self._single_output else w

    @property
    def intercept_(self):
        """The bias: a scalar for one target, shape (K,) for K; 0 when ``fit_intercept=False``."""
        check_is_fitted(self, "model_")
        layer = self.model_[0]
        b = layer.bias.value if layer.bias is not None else np.zeros(layer.out_features)
        return b[0] if self._single_output else b

    def _build_network(self, n_in, n_out, rng):
        return Sequential(Linear(n_in, n_out, bias=bool(self.fit_intercept), rng=rng, dtype=self._dtype))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


@document(LINEAR_REGRESSION, NOTES, COMMON, RENAMED_OPTIONS)
class LinearRegression(_Regression, NetworkRegressor, NetworkEstimator):
    """Linear regression s = W x + b (the notes' y = w x + b).

    By default gradient descent from a random start (``solver='sgd'`` on one full batch) on the
    mean L2 loss, with a step that cannot diverge and a stop on the gradient (see
    ``learning_rate_init`` and ``tol``); ``solver='lstsq'`` gives the exact minimiser. float64 by
    default: these models are small and meant to be exact. ``coef_`` has shape (d,) for one
    target and (K, d) for K targets (scikit-learn's layout); ``solver_`` records the solver used.

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[2.0], [4.0], [6.0], [8.0]]), np.array([3.0, 4.0, 5.0, 6.0])
    >>> reg = LinearRegression(random_state=0).fit(X, y)   # gradient descent
    >>> round(float(reg.coef_[0]), 3), round(float(reg.intercept_), 3)
    (0.5, 2.0)
    """

    def __init__(self, solver="sgd", loss="l2", fit_intercept=True, penalty=None, alpha=0.0, beta=0.5, max_norm=3.0,
                 learning_rate_init="auto", momentum=0.0, batch_size=None, max_iter=5000, lr_schedule=None,
                 tol=1e-6, n_iter_no_change=10, random_state=None, verbose=0, warm_start=False, dtype="float64",
                 n_threads="auto", optimizer=DEPRECATED, lr=DEPRECATED, epochs=DEPRECATED):
        store_params(self, locals())


@document(POLYNOMIAL, LINEAR_REGRESSION, NOTES, COMMON, RENAMED_OPTIONS)
class PolynomialRegression(_Regression, NetworkRegressor, NetworkEstimator):
    """Regression on all monomials of the inputs up to ``degree`` (the notes' polynomial models of
    orders 1, 2, 3, 4 and 12 for under- and over-fitting), with an optional ridge ``alpha``.

    ``solver='lstsq'`` (default) is the closed form, exact even at degree 12; the other solvers
    train by gradient descent, as ``LinearRegression``'s. Inputs are standardised before the
    expansion and every polynomial feature after it (the statistics come from the training
    data), so high degrees stay well conditioned, and inputs of any magnitude (values near 1e300
    too) give the same fit; the fitted function is the same polynomial.

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 13)[:, None]
    >>> y = x[:, 0] ** 3 - x[:, 0]
    >>> reg = PolynomialRegression(degree=3).fit(x, y)
    >>> bool(np.abs(reg.predict(x) - y).max() < 1e-9), reg.solver_
    (True, 'lstsq')
    """

    _fitted_attributes = _Regression._fitted_attributes + ("input_mean_", "input_scale_", "poly_", "feature_mean_",
                                                           "feature_scale_")
    fit_intercept = True

    def __init__(self, degree=2, alpha=0.0, solver="lstsq", loss="l2", learning_rate_init="auto", momentum=0.0,
                 batch_size=None, max_iter=5000, lr_schedule=None, tol=1e-6, n_iter_no_change=10, random_state=None,
                 verbose=0, warm_start=False, dtype="float64", n_threads="auto", optimizer=DEPRECATED, lr=DEPRECATED,
                 epochs=DEPRECATED):
        store_params(self, locals())

    def _penalty(self, p):
        """'l2' when ``alpha`` > 0, else None: the ridge penalty that ``alpha`` sets."""
        return "l2" if self.alpha else None

    def _check_X_y(self, X, y, reset):
        X, y = super()._check_X_y(X, y, reset)
        if reset:
            check_int("degree", self.degree)
            self.input_mean_, self.input_scale_ = _mean_and_scale(X)
            z = self._standardised(X)
            self.poly_ = PolynomialFeatures(int(self.degree), include_bias=False).fit(z)
            self.feature_mean_, self.feature_scale_ = mean_and_scale(self.poly_.transform(z))
        return self._features(X), y

    def _standardised(self, X):
        """(X - input_mean_) / input_scale_, refused where it overflows (inputs spanning beyond float64)."""
        X = np.asarray(X, np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            z = (X - self.input_mean_) / self.input_scale_
        if not np.isfinite(z).all() and np.isfinite(X).all():
            raise ValueError(f"{type(self).__name__}: X spans more than float64 can hold once centred (values from "
                             f"{X.min():.3g} to {X.max():.3g}); scale X first")
        return z

    def _features(self, X):
        phi = self.poly_.transform(self._standardised(X))
        return ((phi - self.feature_mean_) / self.feature_scale_).astype(self._dtype)

    def _model_input(self, X):
        return self._features(validate_data(self, X, reset=False, dtype=np.float64))


def _mean_and_scale(X):
    """``mean_and_scale`` of X, computed on X divided by its largest magnitudes where the plain sums
    overflow (inputs near 1e300): the standardisation of any finite input is finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, scale = mean_and_scale(X)
    bad = ~(np.isfinite(mean) & np.isfinite(scale))
    if bad.any():
        big = np.abs(X[:, bad]).max(axis=0)
        Z = X[:, bad] / big
        sd = Z.std(axis=0)
        mean[bad], scale[bad] = Z.mean(axis=0) * big, np.where(sd > 0, sd * big, 1.0)
    return mean, scale
