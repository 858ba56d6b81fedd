"""Linear models of the notes: s = W x + b for classification and regression, and polynomial
regression (a linear model on polynomial features) for under- and over-fitting."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.sequential import Sequential
from ..datasets.preprocessing import mean_and_scale
from ..features.polynomial import PolynomialFeatures
from ..layers.linear import Linear
from ..training.history import History
from .._helpers.validation import resolve_rng
from . import _settings
from ._docs import CLASSIFIERS, COMMON, FIT, LINEAR_CLASSIFIER, LINEAR_REGRESSION, NOTES, POLYNOMIAL, document
from ._network import _positive_int, blas_threads, store_params
from ._tasks import ClassifierNetwork, RegressorNetwork


def _auto_placeholder(lr):
    """1.0 for lr='auto' (replaced by the rate the data gives), None for a number; else an error."""
    if isinstance(lr, str):
        if lr != "auto":
            raise ValueError(f"lr must be 'auto' or a number > 0; got {lr!r}")
        return 1.0
    return None


def second_moment_top(X, sample_weight=None, intercept: bool = True, iterations: int = 30) -> float:
    """The largest eigenvalue of 1/N sum_i w_i a_i a_i^T, a_i = [x_i, 1] (or x_i), by power
    iteration: a few products with X, so it costs little on large or sparse data. The weights
    are normalised to mean 1, as the training loop normalises them."""
    n, d = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64) / np.mean(sample_weight)
    v = np.random.default_rng(0).standard_normal(d + intercept)
    lam = 0.0
    for _ in range(iterations):
        v /= np.linalg.norm(v)
        u = np.asarray(X @ v[:d], dtype=np.float64).ravel() + (v[d] if intercept else 0.0)
        if w is not None:
            u *= w
        top = np.asarray(X.T @ u, dtype=np.float64).ravel()
        v = np.append(top, u.sum()) / n if intercept else top / n
        lam = float(np.linalg.norm(v))
        if lam == 0.0:
            return 0.0
    return lam


@document(LINEAR_CLASSIFIER, CLASSIFIERS, NOTES, COMMON)
class LinearClassifier(ClassifierNetwork):
    """The notes' linear classifier s = W x + b trained with one of their losses.

    ``loss``: 'softmax' (softmax + log-likelihood, the "softmax classifier"), 'hinge' (multiclass
    SVM; two classes use the binary hinge on one score), 'softmax_cross_entropy', or 'sigmoid'
    (a layer of sigmoid neurons trained with the cross-entropy; one neuron for two classes).
    ``penalty`` ('l2', 'l1', 'elasticnet' with ``beta``, 'maxnorm' with ``max_norm``, None) of
    strength ``alpha`` (the notes' lambda: lambda sum W^2 for 'l2').

    ``optimizer``: 'lbfgs' (full-batch L-BFGS, as scikit-learn's LogisticRegression; ``epochs``
    bounds its iterations and ``tol`` is its gradient tolerance), or the notes' minibatch
    training with 'sgd' (``momentum``, ``nesterov``), 'adam', 'rmsprop' or 'adagrad' over
    ``epochs`` with ``lr``, ``batch_size`` and ``lr_schedule``, stopping as scikit-learn does
    (``tol``, ``n_iter_no_change``, ``early_stopping``). Either warns with a ConvergenceWarning
    when ``epochs`` end training first. 'auto' (default) is 'lbfgs' for the smooth losses
    ('softmax', 'softmax_cross_entropy', 'sigmoid') with an L2 penalty or none, and 'sgd' for
    the hinge and the L1, elastic-net and max-norm penalties: L-BFGS's line search does not
    handle kinks, and a max-norm constraint is applied after each step. The smooth losses are
    convex in W, so L-BFGS reaches their minimum whatever the scale of the features; that is
    also what makes sample weights equal to repeated rows and heavy class weights take full
    effect, which scikit-learn's checks test on unscaled blobs. ``dtype`` None: float32 input
    trains in float32, anything else in float64. ``n_threads``: BLAS threads for fit and predict
    (threadpoolctl; None leaves NumPy's setting).

    ``lr='auto'`` is 0.03, lowered for SGD to 1 / lambda_max when the inputs are large:
    lambda_max is the largest eigenvalue of the (sample-weighted) second moment of [x, 1],
    which bounds the curvature of the loss in W up to the loss's own factor (1/2 for the
    softmax, 1/4 for a sigmoid). Unscaled features (say values near 50) otherwise make SGD with
    momentum jump over the minimum. A number sets the step yourself.

    ``coef_`` has shape (C, d) as in the notes (row j is w_j^T; (1, d) when two classes share one
    score) and ``intercept_`` shape (C,). ``decision_function`` always; ``predict_proba`` for the
    probabilistic losses.

    {parameters}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LinearClassifier(loss="hinge", epochs=15, random_state=0).fit(X[:1200] / 16, y[:1200])
    >>> clf.coef_.shape
    (10, 64)
    >>> round(clf.score(X[1200:] / 16, y[1200:]), 2) > 0.85
    True
    """

    _notes_names = True
    _alpha_per_batch = False

    def __init__(self, loss="softmax", penalty="l2", alpha=1e-4, beta=0.5, max_norm=3.0, penalize_bias=False,
                 fit_intercept=True, optimizer="auto", lr="auto", momentum=0.9, nesterov=False, batch_size=32,
                 epochs=100, lr_schedule=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, class_weight=None, random_state=None, verbose=0,
                 warm_start=False, dtype=None, checkpoint=None, n_threads=None):
        store_params(self, locals())

    def _build_network(self, n_in, n_out, rng):
        return Sequential(Linear(n_in, n_out, bias=bool(self.fit_intercept), rng=rng, dtype=self._dtype))

    def _lr_placeholder(self):
        return _auto_placeholder(self.lr)

    def _auto_optimizer(self) -> str:
        return "lbfgs" if self.loss != "hinge" and self.penalty in (None, "l2") else "sgd"

    def _learning_rate(self, X, sample_weight=None) -> float | None:
        if not (isinstance(self.lr, str) and self.lr == "auto"):
            return None
        if _settings.solver_of(self) != "sgd":
            return 0.03
        return min(0.03, 1.0 / max(second_moment_top(X, sample_weight, bool(self.fit_intercept)), 1e-12))

    @property
    def coef_(self):
        """The weights W, shape (C, d) as in the notes (row j is w_j^T), or (1, d) when two classes
        share one score: the network's own array, so editing it edits the model."""
        check_is_fitted(self, "model_")
        return self.model_[0].weight.value

    @property
    def intercept_(self):
        """The biases b, shape (C,) ((1,) when two classes share one score); zeros when
        ``fit_intercept=False``."""
        check_is_fitted(self, "model_")
        layer = self.model_[0]
        return layer.bias.value if layer.bias is not None else np.zeros(layer.out_features, layer.weight.dtype)


@document(LINEAR_REGRESSION, NOTES, COMMON)
class LinearRegression(RegressorNetwork):
    """Linear regression s = W x + b (the notes' y = w x + b).

    ``solver='gd'`` (default): gradient descent from a random start (full batch by default,
    ``batch_size`` for minibatches) on the mean L2 loss (``loss='l1'`` also works), with
    ``penalty`` None, 'l2', 'l1', 'elasticnet' or 'maxnorm' (``||w|| <= max_norm``). ``lr='auto'`` (default) takes the step 1/L,
    L = 2 lambda_max(A^T A / N) (+ 2 alpha for an L2 penalty, 2 alpha beta for elastic net),
    A = [X, 1]: L bounds the curvature of the mean L2 loss, so gradient descent with this step
    cannot diverge whatever the scale of X. A number sets the step yourself. Training stops when
    every entry of the objective's gradient is at most ``tol`` (1e-6; averaged over the epoch's
    batches with minibatches), and ``epochs`` reached first gives a ConvergenceWarning: a loss
    that stops changing proves nothing here, since descent crawling along a badly scaled
    feature changes it by less than its rounding. ``solver='lstsq'``: the exact minimiser of the
    L2 loss (plus ``alpha`` sum W^2 with ``penalty='l2'``), by least squares. ``solver_`` records
    the solver used. float64 by default: these models are small and meant to be exact.
    ``n_threads``: BLAS threads for fit and predict (threadpoolctl; None leaves NumPy's setting).

    ``coef_`` has shape (d,) for one target and (K, d) for K targets (scikit-learn's layout).

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[2.0], [4.0], [6.0], [8.0]]), np.array([3.0, 4.0, 5.0, 6.0])
    >>> reg = LinearRegression(random_state=0).fit(X, y)   # gradient descent
    >>> round(float(reg.coef_[0]), 3), round(float(reg.intercept_), 3)
    (0.5, 2.0)
    """

    _fitted_attributes = RegressorNetwork._fitted_attributes + ("solver_",)
    _notes_names = True
    _alpha_per_batch = False
    _stopping = "gradient"
    _sparse = False

    def __init__(self, solver="gd", loss="l2", fit_intercept=True, penalty=None, alpha=0.0, beta=0.5, max_norm=3.0,
                 optimizer="sgd", lr="auto", momentum=0.0, batch_size=None, epochs=5000, lr_schedule=None,
                 tol=1e-6, n_iter_no_change=10, random_state=None, verbose=0, warm_start=False, dtype="float64",
                 n_threads=None):
        store_params(self, locals())

    def _build_network(self, n_in, n_out, rng):
        return Sequential(Linear(n_in, n_out, bias=bool(self.fit_intercept), rng=rng, dtype=self._dtype))

    def _lr_placeholder(self):
        return _auto_placeholder(self.lr)

    def _learning_rate(self, X, sample_weight=None) -> float | None:
        if not (isinstance(self.lr, str) and self.lr == "auto"):
            return None
        A = np.asarray(X, dtype=np.float64)
        if self.fit_intercept:
            A = np.column_stack([A, np.ones(A.shape[0])])
        L = 2 * float(np.linalg.eigvalsh(A.T @ A / A.shape[0])[-1])
        if self.penalty == "l2":
            L += 2 * float(self.alpha)
        elif self.penalty == "elasticnet":
            L += 2 * float(self.alpha) * float(self.beta)
        return 1.0 / max(L, 1e-12)

    @document(FIT)
    def fit(self, X, y, validation_data=None, resume_from=None, eval_train=None):
        """Train with ``solver``: gradient descent ('gd', as ``NetworkEstimator.fit``), or the
        least-squares solution in one step ('lstsq', which ignores ``validation_data`` and refuses
        ``resume_from`` and ``eval_train``).

        {parameters}

        Returns
        -------
        self : LinearRegression
            The fitted estimator.
        """
        if self.solver not in ("gd", "lstsq"):
            raise ValueError(f"solver must be 'gd' or 'lstsq'; got {self.solver!r}")
        if self.solver == "lstsq":
            if resume_from is not None:
                raise ValueError("resume_from only applies to solver='gd'")
            if eval_train not in (None, False):
                raise ValueError("eval_train applies to the epochs of solver='gd'; solver='lstsq' has none")
            return self._fit_lstsq(X, y)
        self.solver_ = "gd"
        return self._fit(X, y, validation_data=validation_data, resume_from=resume_from, eval_train=eval_train)

    @blas_threads
    def _fit_lstsq(self, X, y):
        _settings.resolve(self, lr=self._lr_placeholder())
        self._check_penalty()
        if self.loss != "l2":
            raise ValueError(f"solver='lstsq' minimises the L2 loss; use solver='gd' for loss={self.loss!r}")
        if self.penalty not in (None, "l2"):
            raise ValueError(f"solver='lstsq' supports penalty None or 'l2'; got {self.penalty!r}")
        X, y = self._validate_X_y(X, y, reset=True)
        _, targets, _, n_out, _, _ = self._encode_fit_targets(y, True)
        A = np.asarray(X, dtype=np.float64)
        Y = np.asarray(targets, dtype=np.float64)
        n, d = A.shape
        if self.fit_intercept:
            x_mean, y_mean = A.mean(axis=0), Y.mean(axis=0)
            A, Y = A - x_mean, Y - y_mean
        alpha = float(self.alpha) if self.penalty == "l2" else 0.0
        if alpha > 0:  # (1/N)||A W - Y||^2 + alpha ||W||^2 as one least-squares problem
            A = np.vstack([A / np.sqrt(n), np.sqrt(alpha) * np.eye(d)])
            Y = np.vstack([Y / np.sqrt(n), np.zeros((d, Y.shape[1]))])
        W, *_ = np.linalg.lstsq(A, Y, rcond=None)           # (d, K)
        self.model_ = self._build_network(d, n_out, resolve_rng(self.random_state, 'random_state'))
        layer = self.model_[0]
        layer.weight.value[...] = W.T
        if self.fit_intercept:
            layer.bias.value[...] = y_mean - x_mean @ W
        self.model_.eval()
        self.history_ = History(info={"solver": "lstsq"})
        self._reset_progress(False)
        self.n_iter_ = 1
        self.solver_ = "lstsq"
        self._after_fit()
        return self

    @property
    def coef_(self):
        """The weights: shape (d,) for one target, (K, d) for K targets (scikit-learn's layout);
        for ``PolynomialRegression`` the weights of the standardised polynomial features."""
        check_is_fitted(self, "model_")
        w = self.model_[0].weight.value
        return w[0] if self._single_output else w

    @property
    def intercept_(self):
        """The bias: a scalar for one target, shape (K,) for K targets; 0 when
        ``fit_intercept=False``."""
        check_is_fitted(self, "model_")
        layer = self.model_[0]
        b = layer.bias.value if layer.bias is not None else np.zeros(layer.out_features)
        return b[0] if self._single_output else b


@document(POLYNOMIAL, LINEAR_REGRESSION, NOTES, COMMON)
class PolynomialRegression(LinearRegression):
    """Regression on all monomials of the inputs up to ``degree`` (the notes' polynomial models of
    orders 1, 2, 3, 4 and 12 for under- and over-fitting), with an optional ridge ``alpha``.

    ``solver='lstsq'`` (default) is the closed form, exact even at degree 12; ``solver='gd'``
    trains by gradient descent. Inputs are standardised before the expansion and every
    polynomial feature after it (the statistics come from the training data), so high degrees
    stay well conditioned; the fitted function is the same polynomial. ``n_threads`` as in
    ``LinearRegression``.

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

    _fitted_attributes = LinearRegression._fitted_attributes + ("input_mean_", "input_scale_", "poly_",
                                                                "feature_mean_", "feature_scale_")

    def __init__(self, degree=2, alpha=0.0, solver="lstsq", loss="l2", optimizer="sgd", lr="auto", momentum=0.0,
                 batch_size=None, epochs=5000, lr_schedule=None, tol=1e-6, n_iter_no_change=10,
                 random_state=None, verbose=0, warm_start=False, dtype="float64", n_threads=None):
        store_params(self, locals())

    fit_intercept = True

    @property
    def penalty(self):
        """'l2' when ``alpha`` > 0, else None: the ridge penalty that ``alpha`` sets (read only)."""
        return "l2" if self.alpha else None

    def _validate_X_y(self, X, y, reset):
        X, y = super()._validate_X_y(X, y, reset)
        if reset:
            _positive_int("degree", self.degree)
            self.input_mean_, self.input_scale_ = mean_and_scale(X)
            self.poly_ = PolynomialFeatures(int(self.degree), include_bias=False).fit(
                (X - self.input_mean_) / self.input_scale_)
            phi = self.poly_.transform((X - self.input_mean_) / self.input_scale_)
            self.feature_mean_, self.feature_scale_ = mean_and_scale(phi)
        return self._features(X), y

    def _features(self, X):
        phi = self.poly_.transform((np.asarray(X, np.float64) - self.input_mean_) / self.input_scale_)
        return ((phi - self.feature_mean_) / self.feature_scale_).astype(self._dtype)

    def _model_input(self, X):
        return self._features(validate_data(self, X, reset=False, dtype=np.float64))
