"""One registry of names (DESIGN.md, principle 9): layers (for model files), activations, losses,
penalties and optimizers, for the estimators, the command line and ``chainrule.io``.

An unknown name is refused with the list of known ones. The registry is the only module that
knows the names of the outer layers' classes (estimators, preprocessing), as import paths it
resolves only when a model file names them, so that ``chainrule.io`` depends on nothing outward.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from . import losses, nn, optim, regularizers
from ._helpers.validation import check_dtype

__all__ = ["choose", "LAYERS", "register_layer", "build_module", "state_shapes", "SAVEABLE", "saveable_class",
           "FOREIGN_FITTED_ATTRIBUTES", "RECORDS", "record_class", "EQUIVALENTS", "ACTIVATIONS", "activation", "ClassificationLoss",
           "CLASSIFICATION_LOSSES", "REGRESSION_LOSSES", "classification_loss", "regression_loss", "PENALTIES",
           "penalty", "OPTIMIZERS", "optimizer", "dtype"]


def choose(kind: str, table: dict, name):
    """``table[name]``, or a ValueError listing the valid names.

    Parameters
    ----------
    kind : str
        What is chosen, for the message (``"loss"``, ``"optimizer"``...).
    table : dict
        Name -> value.
    name : str or None
        The name asked for.

    Returns
    -------
    object
        ``table[name]``.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    if not isinstance(name, (str, type(None))) or name not in table:
        options = ", ".join(repr(k) for k in table)
        raise ValueError(f"{kind} must be one of {options}; got {name!r}")
    return table[name]


# ---- layers and containers a model file may name --------------------------------------------------
#: every module class ``nn`` exports (``Sequential`` and ``layers.__all__``), and those ``register_layer`` adds;
#: ``grad_cases``, ONNX export and ``to_torch`` read each one's declarations from here
LAYERS: dict[str, type] = {name: getattr(nn, name) for name in nn.__all__ if name not in ("Parameter", "Module")}


def register_layer(cls: type) -> type:
    """Make a Module subclass known to model files, the gradient check, ONNX export and ``to_torch``.

    A decorator (the name must be new). ``cls`` implements ``get_config`` (and ``state_shapes`` if it
    has parameters or buffers) and declares what it can: ``grad_cases``, ``onnx_nodes``,
    ``torch_modules`` (see ``Module``). It is returned unchanged.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    TypeError
        If ``cls`` is not a Module subclass.
    ValueError
        If another class is registered under its name.
    """
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"register_layer takes a Module subclass; got {cls!r}")
    if LAYERS.get(cls.__name__, cls) is not cls:
        raise ValueError(f"a layer named {cls.__name__!r} is registered already")
    LAYERS[cls.__name__] = cls
    return cls


def _layer_class(spec) -> type:
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise ValueError(f"a module description must be {{'type': name, 'config': {{...}}}}; got {str(spec)[:80]}")
    return choose("layer type", LAYERS, spec.get("type"))


def build_module(spec: dict) -> nn.Module:
    """The module a ``Module.spec()`` describes, children included.

    Parameters
    ----------
    spec : dict
        ``{"type": name, "config": {...}}``, the name one of ``LAYERS``.

    Returns
    -------
    Module
        Freshly initialised (a model file then loads the weights).

    Raises
    ------
    ValueError
        If the spec is malformed or names an unknown layer (the message lists the known ones).
    """
    return _layer_class(spec).from_config(dict(spec.get("config", {})), build_module)


def state_shapes(spec: dict) -> dict:
    """The shapes of the parameters and buffers of the module a spec describes, without building it.

    Model files check the declared shapes against the tensors present before allocating anything.

    Parameters
    ----------
    spec : dict
        ``{"type": name, "config": {...}}``.

    Returns
    -------
    dict
        ``{state name: shape}``, named as in ``state_dict``.

    Raises
    ------
    ValueError
        If the spec is malformed or names an unknown layer (the message lists the known ones).
    """
    return _layer_class(spec).state_shapes(dict(spec.get("config", {})), state_shapes)


# ---- estimators and preprocessing (outer layers), resolved lazily -----------------------------------
SAVEABLE: dict[str, str] = {
    "LinearClassifier": "chainrule.models", "LinearRegression": "chainrule.models",
    "PolynomialRegression": "chainrule.models", "MLPClassifier": "chainrule.models",
    "MLPRegressor": "chainrule.models", "CNNClassifier": "chainrule.models", "KNeighborsClassifier": "chainrule.features",
    "PolynomialFeatures": "chainrule.features", "NotesTransform": "chainrule.features",
    "HOGFeatures": "chainrule.features", "ScaleToUnit": "chainrule.datasets.preprocessing",
    "Standardize": "chainrule.datasets.preprocessing", "SubtractMeanImage": "chainrule.datasets.preprocessing",
    "Flatten": "chainrule.datasets.preprocessing", "ChannelsFirst": "chainrule.datasets.preprocessing",
    "Pipeline": "sklearn.pipeline", "StandardScaler": "sklearn.preprocessing",
    "MinMaxScaler": "sklearn.preprocessing",
}

#: the fitted attributes of the scikit-learn transformers a model file may hold (chainrule's own
#: classes list theirs in ``_fitted_attributes``)
FOREIGN_FITTED_ATTRIBUTES = {
    "StandardScaler": ("mean_", "var_", "scale_", "n_samples_seen_", "n_features_in_", "feature_names_in_"),
    "MinMaxScaler": ("min_", "scale_", "data_min_", "data_max_", "data_range_", "n_samples_seen_",
                     "n_features_in_", "feature_names_in_"),
}

#: what to use instead of a class that model files cannot hold
EQUIVALENTS = {
    "PolynomialFeatures": "chainrule.features.PolynomialFeatures",
    "KNeighborsClassifier": "chainrule.features.KNeighborsClassifier",
    "LogisticRegression": "chainrule.models.LinearClassifier(loss='softmax')",
    "SGDClassifier": "chainrule.models.LinearClassifier",
    "LinearSVC": "chainrule.models.LinearClassifier(loss='hinge')",
    "LinearRegression": "chainrule.models.LinearRegression",
    "Ridge": "chainrule.models.LinearRegression(penalty='l2')",
    "MLPClassifier": "chainrule.models.MLPClassifier",
    "MLPRegressor": "chainrule.models.MLPRegressor",
    "Normalizer": "chainrule.datasets.preprocessing.ScaleToUnit",
    "MaxAbsScaler": "chainrule.datasets.preprocessing.ScaleToUnit",
    "RobustScaler": "chainrule.datasets.preprocessing.Standardize",
    "FunctionTransformer": "a chainrule transformer (ScaleToUnit, Standardize, SubtractMeanImage, Flatten, "
                           "PolynomialFeatures, NotesTransform, HOGFeatures)",
}


#: plain records a model file may hold (an estimator's ``history_``): class name -> module; each has
#: ``to_dict()`` and ``from_dict()``. Named, not imported, so that model files depend on nothing outward.
RECORDS: dict[str, str] = {"History": "chainrule.training.history"}


def record_class(name: str) -> type:
    """The record class a model file names (only those listed in ``RECORDS``).

    Parameters
    ----------
    name : str
        The class name.

    Returns
    -------
    type

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    return getattr(importlib.import_module(choose("record", RECORDS, name)), name)


def saveable_class(name: str) -> type:
    """The estimator or transformer class a model file names (only those listed in ``SAVEABLE``).

    Parameters
    ----------
    name : str
        The class name.

    Returns
    -------
    type

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    module = choose("class", SAVEABLE, name)
    return getattr(importlib.import_module(module), name)


# ---- activations ---------------------------------------------------------------------------------
# activation name -> (module class, weight initialisation matched to it)
ACTIVATIONS = {
    "relu": (nn.ReLU, "he"),
    "leaky_relu": (nn.LeakyReLU, "he"),
    "sigmoid": (nn.Sigmoid, "glorot"),
    "logistic": (nn.Sigmoid, "glorot"),     # scikit-learn's name
    "tanh": (nn.Tanh, "glorot"),
    "identity": (nn.Identity, "glorot"),
}


def activation(name: str):
    """A new activation module and the weight initialisation that suits it.

    ReLU-like activations get He's initialisation, sigmoid and tanh Glorot's (``ACTIVATIONS``).

    Parameters
    ----------
    name : str
        One of ``ACTIVATIONS`` (``"relu"``, ``"tanh"``, ``"logistic"``...).

    Returns
    -------
    module : Module
    init : str
        ``"he"`` or ``"glorot"``, for ``Linear(init=...)``.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    cls, init = choose("activation", ACTIVATIONS, name)
    return cls(), init


# ---- losses --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassificationLoss:
    """How a classification loss name maps onto outputs and targets.

    Parameters
    ----------
    name : str
        The name (``"softmax"``, ``"hinge"``...).
    multiclass : type
        The Loss class for three or more classes.
    binary : type
        The Loss class for two classes.
    single_output_binary : bool
        Two classes use one score (s > 0 is the second class).
    binary_target : {"index", "sign", "binary"}
        The targets of the single output: class index, -1/+1 or 0/1.
    proba : {"softmax", "sigmoid"} or None
        How scores become probabilities; None for no probabilities (the hinge).
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
    """How the named classification loss maps onto outputs and targets.

    Parameters
    ----------
    name : str
        One of ``CLASSIFICATION_LOSSES``: ``"softmax"``, ``"softmax_cross_entropy"``, ``"hinge"``,
        ``"sigmoid"``.

    Returns
    -------
    ClassificationLoss

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    return choose("loss", CLASSIFICATION_LOSSES, name)


def regression_loss(name: str):
    """A new regression loss by name.

    Parameters
    ----------
    name : str
        One of ``REGRESSION_LOSSES``: ``"l2"`` or ``"l1"``.

    Returns
    -------
    Loss

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    return choose("loss", REGRESSION_LOSSES, name)()


# ---- penalties -----------------------------------------------------------------------------------
PENALTIES = ("l2", "l1", "elasticnet", "maxnorm", None)


def penalty(name, alpha: float, beta: float = 0.5, max_norm: float = 3.0):
    """The regularizer and constraint for a penalty name.

    Parameters
    ----------
    name : str or None
        One of ``PENALTIES``: ``"l2"``, ``"l1"``, ``"elasticnet"``, ``"maxnorm"`` or None.
    alpha : float
        lambda, the penalty's strength (0 means no penalty; unused by max-norm).
    beta : float, default 0.5
        The elastic net's weight of the squared term.
    max_norm : float, default 3.0
        The max-norm constraint's bound c.

    Returns
    -------
    regularizer : Penalty or None
    constraint : MaxNorm or None

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
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


# ---- optimizers ----------------------------------------------------------------------------------
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}


def optimizer(name: str, params, lr: float, **settings):
    """The named optimizer over ``params``.

    Parameters
    ----------
    name : str
        One of ``OPTIMIZERS``: ``"sgd"``, ``"adam"``, ``"rmsprop"``, ``"adagrad"``.
    params : Module or iterable of Parameter
        What to update.
    lr : float
        The learning rate.
    **settings
        The optimizer's other keyword arguments (those it does not take are refused by its
        constructor).

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the known ones).
    """
    cls = choose("optimizer", OPTIMIZERS, name)
    return cls(params, lr=lr, **settings)


# ---- dtypes --------------------------------------------------------------------------------------
def dtype(name):
    """float32 or float64 as a NumPy scalar type.

    Parameters
    ----------
    name : str, type or numpy.dtype
        ``"float32"``, ``numpy.float64``...

    Returns
    -------
    type
        ``numpy.float32`` or ``numpy.float64``.

    Raises
    ------
    ValueError
        If it names another type.
    """
    return check_dtype(name).type


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
