"""Multi-layer perceptrons: the notes' deep networks (linear layers and activations), with
scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` parameters, meanings, defaults and fitted
attributes, plus chainrule's own options (dropout, batch norm, penalties, class weights,
schedules, checkpoints)."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import registry
from .._helpers.validation import check_int, check_number, resolve_rng
from ..core.sequential import Sequential
from ..layers.batchnorm import BatchNorm1d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ._docs import CLASSIFIERS, COMMON, DEPRECATED as RENAMED_OPTIONS, MLP, MLP_REGRESSOR, SKLEARN, document
from ._estimator import NetworkEstimator, store_params
from ._settings import DEPRECATED, params, resolve
from ._tasks import NetworkClassifier, NetworkRegressor


def build_mlp(n_in, hidden, n_out, activation, dropout, batch_norm, rng, dtype, init=None) -> Sequential:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout] for every hidden layer, then Linear.

    Weights are initialised to suit the activation (He for ReLU, Glorot for sigmoid, tanh and
    the identity; ``init`` names one scheme for every layer instead) from ``rng``, which also
    draws the dropout masks.

    Parameters
    ----------
    n_in : int
        The number of input features.
    hidden : sequence of int
        The widths of the hidden layers, from the input on (empty: one Linear layer).
    n_out : int
        The number of outputs.
    activation : str
        The hidden activation, a name of ``registry.ACTIVATIONS`` ('relu', 'tanh', 'logistic'...).
    dropout : float
        The drop probability of a ``Dropout`` after each hidden activation; 0: none.
    batch_norm : bool
        A ``BatchNorm1d`` between each hidden Linear layer and its activation.
    rng : int, numpy.random.Generator or None
        Draws the initial weights and, later, the dropout masks (a seed makes one generator that
        every layer draws from in turn).
    dtype : type or str
        float32 or float64, the parameters' dtype.
    init : {'uniform', 'he', 'glorot', 'zeros'} or None, default=None
        One initialisation scheme for every Linear layer; None: the one that suits the activation
        for the hidden layers and Glorot's for the last.

    Returns
    -------
    Sequential
        The network, in training mode.
    """
    rng = resolve_rng(rng)                 # one generator for all layers: a seed per layer would repeat draws
    layers, prev = [], n_in
    for h in hidden:
        act, matched = registry.activation(activation)
        layers.append(Linear(prev, h, rng=rng, dtype=dtype, init=init or matched))
        if batch_norm:
            layers.append(BatchNorm1d(h, dtype=dtype))
        layers.append(act)
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
        prev = h
    layers.append(Linear(prev, n_out, rng=rng, dtype=dtype, init=init or "glorot"))
    return Sequential(*layers)


WEIGHT_INITS = ("sklearn", "activation")


def sklearn_init(model: Sequential, activation: str, random_state, rng) -> None:
    """scikit-learn's MLP initialisation, drawn in scikit-learn's order from its generator.

    Layer by layer, the weight (in, out) and then the bias from U(-b, b), b = sqrt(6 / (in + out))
    (sqrt(2 / (in + out)) for the logistic activation), from ``check_random_state(random_state)``
    as scikit-learn draws them: the same ``random_state`` gives the same initial weights as
    ``sklearn.neural_network.MLPClassifier``. A ``numpy.random.Generator`` (which scikit-learn
    does not take) draws them from ``rng`` instead.
    """
    from sklearn.utils import check_random_state

    source = rng if isinstance(random_state, np.random.Generator) else check_random_state(random_state)
    factor = 2.0 if registry.ACTIVATIONS.get(activation, (None,))[0] is registry.ACTIVATIONS["logistic"][0] else 6.0
    for layer in model.modules():
        if isinstance(layer, Linear):
            bound = np.sqrt(factor / (layer.in_features + layer.out_features))
            layer.weight.value.T[...] = source.uniform(-bound, bound, (layer.in_features, layer.out_features))
            if layer.bias is not None:
                layer.bias.value[...] = source.uniform(-bound, bound, layer.out_features)


def hidden_sizes(value) -> tuple:
    """``hidden_layer_sizes`` as a tuple of positive integers (an int is one layer)."""
    sizes = (value,) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"hidden_layer_sizes must be a tuple of positive integers; got {value!r}") from None
    for h in sizes:
        check_int("hidden_layer_sizes entries", h)
    return sizes


class _MLP:
    """What the two networks share: the architecture, scikit-learn's alpha, and scikit-learn's view of
    the weights.

    ``coefs_[i]`` is layer i's weight in scikit-learn's (in, out) layout and ``intercepts_[i]``
    its bias: views of the network's (out, in) weights (``model_[j].weight.value.T``), so
    editing them in place edits the network. Assigning the lists before any fit (or between
    fits) sets the weights the next ``fit``/``partial_fit``/``predict`` starts from.
    """

    def _settings(self, X, sample_weight):
        return resolve(type(self).__name__, params(self), alpha_per_batch=True)

    def _build_network(self, n_in, n_out, rng):
        sizes = hidden_sizes(self.hidden_layer_sizes)
        registry.activation(self.activation)
        dropout = check_number("dropout", self.dropout, 0.0, 1.0)
        init = registry.choose("weight_init", {k: k for k in WEIGHT_INITS}, self.weight_init)
        model = build_mlp(n_in, sizes, n_out, self.activation, dropout, bool(self.batch_norm), rng, self._dtype,
                          init="zeros" if init == "sklearn" else None)
        if init == "sklearn":
            sklearn_init(model, self.activation, self.random_state, rng)
        return model

    def _linears(self):
        return [m for m in self.model_.modules() if isinstance(m, Linear)]

    @property
    def coefs_(self):
        """The weight of each Linear layer in scikit-learn's (in, out) layout: views of the
        network's (out, in) weights, so editing one in place edits the network. A list assigned
        before a fit (or between fits) holds the weights the next fit or prediction starts from."""
        pending = self.__dict__.get("_pending_coefs")
        if pending is not None:
            return pending
        check_is_fitted(self, "model_")
        return [layer.weight.value.T for layer in self._linears()]

    @coefs_.setter
    def coefs_(self, value):
        self.__dict__["_pending_coefs"] = value

    @property
    def intercepts_(self):
        """The bias of each Linear layer (shape (out,)): the network's own arrays. A list assigned
        before a fit (or between fits) holds the biases the next fit or prediction starts from."""
        pending = self.__dict__.get("_pending_intercepts")
        if pending is not None:
            return pending
        check_is_fitted(self, "model_")
        return [layer.bias.value for layer in self._linears()]

    @intercepts_.setter
    def intercepts_(self, value):
        self.__dict__["_pending_intercepts"] = value

    @property
    def n_layers_(self):
        """The number of layers as scikit-learn counts them: the input, each hidden layer, the output
        (derived from the network; a value assigned before there is one is kept until then)."""
        if "model_" not in self.__dict__ and "_n_layers" in self.__dict__:
            return self.__dict__["_n_layers"]
        check_is_fitted(self, "model_")
        return len(self._linears()) + 1

    @n_layers_.setter
    def n_layers_(self, value):
        self.__dict__["_n_layers"] = value

    def _hand_set_network(self):
        """The network with the weights assigned to ``coefs_`` / ``intercepts_`` (built from their
        shapes before any fit), or None when none were assigned."""
        coefs = self.__dict__.pop("_pending_coefs", None)
        intercepts = self.__dict__.pop("_pending_intercepts", None)
        if coefs is None and intercepts is None:
            return None
        if not hasattr(self, "model_"):
            if coefs is None:
                raise ValueError("intercepts_ were assigned without coefs_; assign both before the first fit")
            coefs = [np.asarray(c) for c in coefs]
            if not hasattr(self, "_dtype"):
                self._dtype = np.float32 if coefs[0].dtype == np.float32 else np.float64
            self.model_ = self._build_network(coefs[0].shape[0], coefs[-1].shape[1],
                                              resolve_rng(self.random_state, "random_state"))
        layers = self._linears()
        for name, values, get in (("coefs_", coefs, lambda m: m.weight.value.T),
                                  ("intercepts_", intercepts, lambda m: m.bias.value)):
            if values is None:
                continue
            if len(values) != len(layers):
                raise ValueError(f"{name} must hold {len(layers)} arrays (one per layer); got {len(values)}")
            for i, (layer, v) in enumerate(zip(layers, values)):
                target, v = get(layer), np.asarray(v)
                if v.shape != target.shape:
                    raise ValueError(f"{name}[{i}] must have shape {target.shape}; got {v.shape}")
                target[...] = v
        return self.model_


@document(MLP, SKLEARN, CLASSIFIERS, COMMON, RENAMED_OPTIONS)
class MLPClassifier(_MLP, NetworkClassifier, NetworkEstimator):
    """A multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, on chainrule's engine.

    scikit-learn's parameters with its meanings and defaults, and chainrule's own (the notes'
    losses, dropout, batch norm, penalties, schedules, class weights, initialisation, dtype,
    checkpoints, threads), each described once below. Fitted: scikit-learn's ``coefs_`` and
    ``intercepts_`` ((in, out) views of the weights), ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``, ``n_layers_``,
    ``n_outputs_``, ``out_activation_``, ``classes_``, ``n_features_in_``; chainrule's ``model_``
    (the ``Sequential``) and ``history_``.

    {parameters}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=100, random_state=0).fit(X[:1000] / 16, y[:1000])
    >>> clf.score(X[1000:] / 16, y[1000:]) > 0.9
    True
    >>> [c.shape for c in clf.coefs_], clf.out_activation_
    ([(64, 32), (32, 10)], 'softmax')
    """

    _fitted_attributes = NetworkEstimator._fitted_attributes + NetworkClassifier.FITTED + ("n_layers_",)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, loss="log_loss", dropout=0.0, batch_norm=False,
                 penalty="l2", beta=0.5, max_norm=3.0, penalize_bias=False, lr_schedule=None, class_weight=None,
                 weight_init="sklearn", dtype=None, checkpoint=None, n_threads="auto", optimizer=DEPRECATED,
                 lr=DEPRECATED, epochs=DEPRECATED, nesterov=DEPRECATED):
        store_params(self, locals())


@document(MLP, MLP_REGRESSOR, SKLEARN, COMMON, RENAMED_OPTIONS)
class MLPRegressor(_MLP, NetworkRegressor, NetworkEstimator):
    """A multi-layer perceptron for regression: scikit-learn's ``MLPRegressor``, on chainrule's engine.

    ``MLPClassifier``'s parameters (without ``class_weight``) and its fitted attributes (without
    ``classes_``); ``loss`` is a regression loss. ``hidden_layer_sizes`` comes first, as in
    chainrule 0.1 (scikit-learn >= 1.7 puts ``loss`` first: pass both by name). Predictions keep
    the network's dtype (float32 for float32 input).

    {parameters}

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (400, 2))
    >>> y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = MLPRegressor((64,), max_iter=300, random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 2) > 0.9
    True
    """

    _fitted_attributes = NetworkEstimator._fitted_attributes + NetworkRegressor.FITTED + ("n_layers_",)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 penalty="l2", beta=0.5, max_norm=3.0, penalize_bias=False, lr_schedule=None, weight_init="sklearn",
                 dtype=None, checkpoint=None, n_threads="auto", optimizer=DEPRECATED, lr=DEPRECATED,
                 epochs=DEPRECATED, nesterov=DEPRECATED):
        store_params(self, locals())
