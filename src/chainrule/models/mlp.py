"""Multi-layer perceptrons: the notes' deep networks (linear layers and activations)."""
from __future__ import annotations

from .. import registry
from ..core.sequential import Sequential
from ..layers.batchnorm import BatchNorm1d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ._network import _number, _positive_int, store_params
from ._tasks import ClassifierNetwork, RegressorNetwork


def build_mlp(n_in, hidden, n_out, activation, dropout, batch_norm, rng, dtype) -> Sequential:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout] for every hidden layer, then Linear.

    Weights are initialised to suit the activation (He for ReLU, Glorot for sigmoid and tanh)
    from ``rng``, which also draws the dropout masks.
    """
    layers, prev = [], n_in
    for h in hidden:
        act, init = registry.activation(activation)
        layers.append(Linear(prev, h, rng=rng, dtype=dtype, init=init))
        if batch_norm:
            layers.append(BatchNorm1d(h, dtype=dtype))
        layers.append(act)
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
        prev = h
    layers.append(Linear(prev, n_out, rng=rng, dtype=dtype, init="glorot"))
    return Sequential(*layers)


def _check_architecture(est):
    sizes = est.hidden_layer_sizes
    if isinstance(sizes, (int,)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"hidden_layer_sizes must be a tuple of positive integers; got {est.hidden_layer_sizes!r}") from None
    for h in sizes:
        _positive_int("hidden_layer_sizes entries", h)
    registry.activation(est.activation)
    _number("dropout", est.dropout, high=1.0)
    return sizes


class _MLP:
    """What the two networks share: the architecture settings and how they become layers."""

    def _build_network(self, n_in, n_out, rng):
        sizes = _check_architecture(self)
        return build_mlp(n_in, sizes, n_out, self.activation, float(self.dropout), bool(self.batch_norm),
                         rng, self._dtype)


class MLPClassifier(_MLP, ClassifierNetwork):
    """A deep network classifier: (Linear -> activation) per hidden layer, then Linear scores.

    Parameters follow scikit-learn where they can: ``hidden_layer_sizes``, ``activation``
    ('relu', 'sigmoid', 'tanh', 'leaky_relu'), ``loss`` ('softmax', 'softmax_cross_entropy',
    'hinge', 'sigmoid'), ``dropout`` (drop probability after each hidden activation),
    ``batch_norm``, ``penalty`` ('l2', 'l1', 'elasticnet', 'maxnorm' or None) of strength
    ``alpha`` on the weights (biases too with ``penalize_bias``), ``optimizer`` ('sgd' or
    'adam') with ``lr``, ``momentum``, ``nesterov``, ``batch_size`` (None: full batch),
    ``epochs``, ``lr_schedule`` ('step', 'exponential', 'cosine' or a dict),
    ``early_stopping`` on a stratified ``validation_fraction`` with patience
    ``n_iter_no_change`` and ``tol`` (without early stopping, training stops when the training
    loss improves by less than ``tol`` for ``n_iter_no_change`` epochs; ``tol=0`` runs every
    epoch), ``class_weight``, ``random_state`` (initialisation, shuffling, dropout masks,
    splits), ``verbose``, ``warm_start``, ``dtype`` and ``checkpoint`` (a path written after
    every epoch; ``fit(X, y, resume_from=path)`` continues from it).

    Fitted: ``model_`` (the ``Sequential``), ``history_``, ``classes_``, ``n_features_in_``,
    ``n_iter_``, ``loss_curve_``.

    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), epochs=100, random_state=0).fit(X[:1000] / 16, y[:1000])
    >>> clf.score(X[1000:] / 16, y[1000:]) > 0.9
    True
    >>> [name for name, _ in clf.model_.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", loss="softmax", dropout=0.0,
                 batch_norm=False, penalty="l2", alpha=1e-4, beta=0.5, max_norm=3.0, penalize_bias=False,
                 optimizer="adam", lr=1e-3, momentum=0.9, nesterov=False, batch_size=200, epochs=200,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, class_weight=None, random_state=None, verbose=0, warm_start=False,
                 dtype="float32", checkpoint=None):
        store_params(self, locals())


class MLPRegressor(_MLP, RegressorNetwork):
    """A deep network for regression with the L2 (``loss='l2'``, sum of squares, no 1/2) or
    L1 loss. Same settings as ``MLPClassifier`` (without ``class_weight``).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (400, 2))
    >>> y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = MLPRegressor((64,), epochs=300, random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 2) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", loss="l2", dropout=0.0,
                 batch_norm=False, penalty="l2", alpha=1e-4, beta=0.5, max_norm=3.0, penalize_bias=False,
                 optimizer="adam", lr=1e-3, momentum=0.9, nesterov=False, batch_size=200, epochs=200,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, random_state=None, verbose=0, warm_start=False, dtype="float32", checkpoint=None):
        store_params(self, locals())
