"""The engine's pieces for a run: the network (``chainrule.nn``), the loss and its targets
(``chainrule.losses``, by the estimators' names in ``chainrule.registry``), the penalty
(``chainrule.regularizers``) and the optimizer (``chainrule.optim``).

Every hidden layer is Linear -> [BatchNorm1d] -> activation -> [Dropout]; the output layer is a
Linear with one score per class, or one score for two classes under the binary losses (the
hinge with targets -1/+1, the sigmoid with 0/1), as the estimators lay them out. L1 and L2 on
class labels regress the one-hot vector (the notes' L2 on p), and the predicted class is the
largest output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn, registry


@dataclass
class Task:
    """What the outputs mean: ``layout`` is ``"sign"`` (one hinge score), ``"one"`` (one sigmoid score),
    ``"index"`` (one score per class), ``"onehot"`` (L1/L2 on one-hot targets) or ``"value"`` (regression)."""

    layout: str
    n_outputs: int
    loss_name: str

    def loss(self, reduction: str = "mean"):
        """A new loss object of this run (each user of a loss needs its own: it keeps a cache)."""
        if self.layout in ("onehot", "value"):
            cls = registry.REGRESSION_LOSSES[self.loss_name]
        else:
            spec = registry.classification_loss(self.loss_name)
            cls = spec.binary if self.layout in ("sign", "one") else spec.multiclass
        return cls(reduction=reduction)

    def targets(self, y, dtype):
        """The loss's targets for labels (or real values) ``y``."""
        y = np.asarray(y)
        if self.layout == "sign":
            return (2 * y - 1).astype(dtype)
        if self.layout == "one":
            return y.astype(dtype).reshape(-1, 1)
        if self.layout == "onehot":
            return np.eye(self.n_outputs, dtype=dtype)[y]
        if self.layout == "value":
            return y.astype(dtype).reshape(-1, 1)
        return y.astype(np.int64)

    def labels(self, scores) -> np.ndarray:
        """The predicted class of each row of scores."""
        if self.layout in ("sign", "one"):
            return (scores[:, 0] > 0).astype(np.int64)
        return scores.argmax(axis=1)

    def confidence(self, scores) -> np.ndarray:
        """How sure the prediction is, in [0, 1], for the boundary's shading: the probability's distance
        from a toss-up (softmax, sigmoid), or the margin capped at 1 (hinge, L1, L2)."""
        if self.layout == "sign":
            return np.minimum(np.abs(scores[:, 0]), 1.0)
        if self.layout == "one":
            return np.abs(np.tanh(scores[:, 0] / 2))           # |2 sigmoid(s) - 1|
        top2 = np.sort(scores, axis=1)[:, -2:]
        if self.loss_name in ("softmax", "softmax_cross_entropy"):
            z = np.exp(scores - top2[:, 1:])
            p = z / z.sum(axis=1, keepdims=True)
            return np.clip((p.max(axis=1) - 1 / scores.shape[1]) / (1 - 1 / scores.shape[1]), 0, 1)
        return np.minimum(top2[:, 1] - top2[:, 0], 1.0)


def task_of(settings, regression: bool, n_classes: int) -> Task:
    """How the loss of ``settings`` lays out outputs and targets for this data.

    Parameters
    ----------
    settings : Settings
        Its loss is used.
    regression : bool
        Real-valued targets.
    n_classes : int
        The number of classes.

    Returns
    -------
    Task
    """
    if regression:
        return Task("value", 1, settings.loss)
    if settings.loss in registry.REGRESSION_LOSSES:
        return Task("onehot", n_classes, settings.loss)
    spec = registry.classification_loss(settings.loss)
    if n_classes == 2 and spec.single_output_binary:
        return Task("sign" if spec.binary_target == "sign" else "one", 1, settings.loss)
    return Task("index", n_classes, settings.loss)


def build_network(settings, n_inputs: int, n_outputs: int, rng, dtype=np.float32) -> nn.Sequential:
    """The network of ``settings``, its weights drawn from ``rng``, penalties attached to the weights.

    Parameters
    ----------
    settings : Settings
        hidden, activation, batchnorm, dropout, regularizer and alpha are used.
    n_inputs : int
        The number of input features.
    n_outputs : int
        The number of scores.
    rng : numpy.random.Generator
        Draws the initial weights and the dropout masks.
    dtype : numpy dtype, default float32
        float32 to train, float64 for the chain-rule view's numerical derivative.

    Returns
    -------
    Sequential
    """
    layers, width = [], n_inputs
    for units, act in zip(settings.hidden, settings.activations()):
        module, init = registry.activation("identity" if act == "linear" else act)
        layers.append(nn.Linear(width, units, rng=rng, dtype=dtype, init=init))
        if settings.batchnorm:
            layers.append(nn.BatchNorm1d(units, dtype=dtype))
        layers.append(module)
        if settings.dropout > 0:
            layers.append(nn.Dropout(settings.dropout, rng=rng))
        width = units
    layers.append(nn.Linear(width, n_outputs, rng=rng, dtype=dtype, init="glorot"))
    net = nn.Sequential(*layers)
    name = None if settings.regularizer == "none" else settings.regularizer
    for m in net:
        if isinstance(m, nn.Linear):
            regularizer, constraint = registry.penalty(name, settings.alpha, max_norm=settings.alpha)
            m.weight.regularizer, m.weight.constraint = regularizer, constraint
    return net


def build_optimizer(settings, net):
    """The optimizer of ``settings`` over ``net``'s parameters.

    Parameters
    ----------
    settings : Settings
        optimizer, lr, momentum and nesterov are used.
    net : Module
        The network.

    Returns
    -------
    Optimizer
    """
    extra = {"momentum": settings.momentum, "nesterov": settings.nesterov} if settings.optimizer == "sgd" else {}
    return registry.optimizer(settings.optimizer, net, settings.lr, **extra)


def linear_layers(net) -> list:
    """``(index in net, Linear)`` of every Linear layer, in order."""
    return [(i, m) for i, m in enumerate(net) if isinstance(m, nn.Linear)]


