"""One registry of names for the estimators and the command line: activations, losses,
penalties, optimizers (DESIGN.md, principle 9)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses, nn, optim, regularizers


def choose(kind: str, table: dict, name):
    """table[name], or a ValueError listing the valid names."""
    if name not in table:
        options = ", ".join(repr(k) for k in table)
        raise ValueError(f"{kind} must be one of {options}; got {name!r}")
    return table[name]


# activation name -> (module factory, weight initialisation matched to it)
ACTIVATIONS = {
    "relu": (lambda: nn.ReLU(inplace=True), "he"),
    "leaky_relu": (lambda: nn.LeakyReLU(0.01), "he"),
    "sigmoid": (nn.Sigmoid, "glorot"),
    "tanh": (nn.Tanh, "glorot"),
    "identity": (nn.Identity, "glorot"),
}


def activation(name: str):
    """(module, init) for an activation name."""
    factory, init = choose("activation", ACTIVATIONS, name)
    return factory(), init


@dataclass(frozen=True)
class ClassificationLoss:
    """How a classification loss name maps onto outputs and targets.

    ``single_output_binary``: two classes use one score (s > 0 is the second class).
    ``target``: 'index' (class index), 'sign' (-1/+1) or 'binary' (0/1) for one output.
    ``proba``: 'softmax', 'sigmoid' or None (no probabilities: the hinge).
    """

    name: str
    multiclass: type
    binary: type
    single_output_binary: bool
    binary_target: str
    proba: str | None


CLASSIFICATION_LOSSES = {
    "softmax": ClassificationLoss("softmax", losses.SoftmaxLogLikelihood, losses.SoftmaxLogLikelihood,
                                  False, "index", "softmax"),
    "softmax_cross_entropy": ClassificationLoss("softmax_cross_entropy", losses.SoftmaxCrossEntropy,
                                                losses.SoftmaxCrossEntropy, False, "index", "softmax"),
    "hinge": ClassificationLoss("hinge", losses.MulticlassHinge, losses.BinaryHinge, True, "sign", None),
    "sigmoid": ClassificationLoss("sigmoid", losses.SigmoidCrossEntropy, losses.SigmoidCrossEntropy,
                                  True, "binary", "sigmoid"),
}

REGRESSION_LOSSES = {"l2": losses.L2Loss, "l1": losses.L1Loss}


def classification_loss(name: str) -> ClassificationLoss:
    return choose("loss", CLASSIFICATION_LOSSES, name)


def regression_loss(name: str):
    return choose("loss", REGRESSION_LOSSES, name)()


PENALTIES = ("l2", "l1", "elasticnet", "maxnorm", None)


def penalty(name, alpha: float, beta: float = 0.5, max_norm: float = 3.0):
    """(regularizer, constraint) for a penalty name."""
    choose("penalty", {k: k for k in PENALTIES}, name)
    if name is None:
        return None, None
    if name == "maxnorm":
        return None, regularizers.MaxNorm(max_norm)
    if alpha == 0:
        return None, None
    if name == "l2":
        return regularizers.L2(alpha), None
    if name == "l1":
        return regularizers.L1(alpha), None
    return regularizers.ElasticNet(alpha, beta), None


OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam}


def optimizer(name: str, params, lr: float, momentum: float = 0.9, nesterov: bool = False):
    cls = choose("optimizer", OPTIMIZERS, name)
    if cls is optim.SGD:
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    return optim.Adam(params, lr=lr)


DTYPES = {"float32": np.float32, "float64": np.float64}


def dtype(name):
    if isinstance(name, str):
        return choose("dtype", DTYPES, name)
    dt = np.dtype(name)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {name!r}")
    return dt.type
