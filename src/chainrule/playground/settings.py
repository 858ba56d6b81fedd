"""The playground's settings: one frozen object, read from what the page sends (the URL hash's
keys and values), every value checked with a message that names the key, what it must be and
what was received.

The page keeps every setting in the URL hash (``#dataset=xor&hidden=8,8&lr=0.03``), so a link
restores the page; values therefore arrive as strings or as JSON numbers, and both are accepted.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

DATASETS = ("xor", "circle", "spiral", "gauss", "linear", "curve", "upload")
#: data sets whose points carry one input and a real-valued target
REGRESSION_DATASETS = ("curve",)
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sin1", "sin2", "xor")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
CLASSIFICATION_LOSSES = ("hinge", "softmax", "softmax_cross_entropy", "sigmoid")
REGRESSION_LOSSES = ("l1", "l2")
LOSSES = CLASSIFICATION_LOSSES + REGRESSION_LOSSES
REGULARIZERS = ("none", "l1", "l2", "elasticnet", "maxnorm")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")

MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 32
MAX_POINTS = 2000
MAX_POLY = 8
MAX_INPUTS = 32
MAX_CLASSES = 5


class SettingError(ValueError):
    """A setting the playground cannot use; ``key`` names it (the page marks that control).

    Parameters
    ----------
    key : str
        The setting's name, as the URL hash writes it.
    message : str
        What is wrong, for the page.
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Settings:
    """Everything that defines a run; the field names are the URL hash's keys.

    Parameters
    ----------
    dataset : str
        One of ``DATASETS``; ``"upload"`` is the CSV file the page sent last.
    classes : int
        2 to 5 (a classification data set; XOR has 2).
    points : int
        How many points to draw (10 to 2000).
    noise : float
        0 to 1; what it scales depends on the data set (``datasets.NOISE``).
    train_pct : int
        The share of the points used for training, 10 to 90 (the rest is the test set).
    seed : int
        Draws the points, the split, the initial weights, the batches and the dropout masks.
    features : tuple of str
        The inputs the network sees, from ``FEATURES`` (``xor`` is the notes' transform).
    poly : int
        0 (off) or the largest degree of polynomial features added (degree 2 and up).
    hidden : tuple of int
        The hidden layers' widths (0 to 6 layers of 1 to 32 units); empty is a linear model.
    activation : tuple of str
        One activation per hidden layer (or one for all), from ``ACTIVATIONS``.
    loss : str
        From ``LOSSES``, named as the estimators' ``loss`` option names them.
    regularizer : str
        From ``REGULARIZERS``.
    alpha : float
        The penalty's strength lambda (the bound c of max-norm).
    dropout : float
        The drop probability after every hidden activation, 0 to 0.9.
    batchnorm : bool
        Batch normalisation before every hidden activation.
    optimizer : str
        From ``OPTIMIZERS``.
    lr : float
        The learning rate, in (0, 100].
    momentum : float
        SGD's momentum, 0 to 0.99.
    nesterov : bool
        Nesterov's momentum (SGD with momentum > 0).
    batch : int
        Samples per batch (a batch larger than the training set is the whole set).
    speed : int
        Epochs per picture while playing, 1 to 100; 0 is as many as fit in a frame's time.
    play : bool
        Start training when the page opens.
    """

    dataset: str = "xor"
    classes: int = 2
    points: int = 500
    noise: float = 0.2
    train_pct: int = 50
    seed: int = 0
    features: tuple = ("x1", "x2")
    poly: int = 0
    hidden: tuple = (8, 8)
    activation: tuple = ("tanh",)
    loss: str = "softmax"
    regularizer: str = "none"
    alpha: float = 0.001
    dropout: float = 0.0
    batchnorm: bool = False
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    batch: int = 10
    speed: int = 2
    play: bool = False

    def activations(self) -> tuple:
        """One activation name per hidden layer.

        Returns
        -------
        tuple of str
        """
        if len(self.activation) == 1:
            return self.activation * len(self.hidden)
        return self.activation

    def to_hash(self) -> dict:
        """The settings as the URL hash writes them.

        Returns
        -------
        dict of str to str
        """
        out = {}
        for k, v in asdict(self).items():
            if isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif isinstance(v, (tuple, list)):
                out[k] = ",".join(str(x) for x in v)
            else:
                out[k] = repr(v) if isinstance(v, float) else str(v)
        return out


# ---- parsing one value ---------------------------------------------------------------------------
def _text(value) -> str:
    return value if isinstance(value, str) else repr(value)


def _number(key, value, kind, low, high, *, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SettingError(key, f"{key} must be a number; got {_text(value)!r}")
    try:
        v = kind(value) if kind is float else int(str(value).strip())
    except ValueError:
        raise SettingError(key, f"{key} must be {'an integer' if kind is int else 'a number'}; got {_text(value)!r}") \
            from None
    if kind is float and not math.isfinite(v):
        raise SettingError(key, f"{key} must be a finite number; got {_text(value)!r}")
    if (v <= low if low_open else v < low) or v > high:
        left = "(" if low_open else "["
        raise SettingError(key, f"{key} must be in {left}{low:g}, {high:g}]; got {_text(value)!r}")
    return v


def _choice(key, value, options):
    if value not in options:
        raise SettingError(key, f"{key} must be one of {', '.join(options)}; got {_text(value)!r}")
    return value


def _flag(key, value):
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false", ""):
        return False
    raise SettingError(key, f"{key} must be 0 or 1; got {_text(value)!r}")


def _names(key, value, options, *, allow_empty=True):
    items = value if isinstance(value, (list, tuple)) else [s for s in str(value).split(",") if s.strip()]
    items = [str(s).strip() for s in items]
    for s in items:
        _choice(key, s, options)
    if not items and not allow_empty:
        raise SettingError(key, f"{key} needs at least one of {', '.join(options)}; got none")
    return tuple(items)


def _widths(value):
    items = value if isinstance(value, (list, tuple)) else [s for s in str(value).split(",") if s.strip()]
    if len(items) > MAX_HIDDEN_LAYERS:
        raise SettingError("hidden", f"hidden must list at most {MAX_HIDDEN_LAYERS} layers; got {len(items)}")
    widths = tuple(_number("hidden", s, int, 1, MAX_UNITS) for s in items)
    return () if widths == () else widths


PARSERS = {
    "dataset": lambda v: _choice("dataset", v, DATASETS),
    "classes": lambda v: _number("classes", v, int, 2, MAX_CLASSES),
    "points": lambda v: _number("points", v, int, 10, MAX_POINTS),
    "noise": lambda v: _number("noise", v, float, 0.0, 1.0),
    "train_pct": lambda v: _number("train_pct", v, int, 10, 90),
    "seed": lambda v: _number("seed", v, int, 0, 2**31 - 1),
    "features": lambda v: _names("features", v, FEATURES),
    "poly": lambda v: _number("poly", v, int, 0, MAX_POLY),
    "hidden": _widths,
    "activation": lambda v: _names("activation", v, ACTIVATIONS, allow_empty=False),
    "loss": lambda v: _choice("loss", v, LOSSES),
    "regularizer": lambda v: _choice("regularizer", v, REGULARIZERS),
    "alpha": lambda v: _number("alpha", v, float, 0.0, 100.0),
    "dropout": lambda v: _number("dropout", v, float, 0.0, 0.9),
    "batchnorm": lambda v: _flag("batchnorm", v),
    "optimizer": lambda v: _choice("optimizer", v, OPTIMIZERS),
    "lr": lambda v: _number("lr", v, float, 0.0, 100.0, low_open=True),
    "momentum": lambda v: _number("momentum", v, float, 0.0, 0.99),
    "nesterov": lambda v: _flag("nesterov", v),
    "batch": lambda v: _number("batch", v, int, 1, MAX_POINTS),
    "speed": lambda v: _number("speed", v, int, 0, 100),
    "play": lambda v: _flag("play", v),
}


def parse_settings(values: dict, *, n_upload_inputs: int | None = None) -> Settings:
    """The settings the page sent, every value checked, and the combinations that cannot work refused.

    Parameters
    ----------
    values : dict
        Hash key -> value (a string, a number or a list); missing keys keep their default.
    n_upload_inputs : int, optional
        The number of inputs of the uploaded data set (1 or 2), when there is one.

    Returns
    -------
    Settings

    Raises
    ------
    SettingError
        For an unknown key, a value out of range, or settings that contradict each other (the
        message says which and why; ``key`` names the setting to change).
    """
    if not isinstance(values, dict):
        raise SettingError("settings", f"settings must be an object of key: value; got {type(values).__name__}")
    parsed = {}
    for key, value in values.items():
        if key not in PARSERS:
            raise SettingError(str(key), f"unknown setting {str(key)[:40]!r}; the settings are {', '.join(PARSERS)}")
        parsed[key] = PARSERS[key](value)
    s = replace(Settings(), **parsed)
    _check_combination(s, n_upload_inputs)
    return s


def _check_combination(s: Settings, n_upload_inputs) -> None:
    dims = 1 if s.dataset in REGRESSION_DATASETS else 2
    regression = s.dataset in REGRESSION_DATASETS
    if s.dataset == "upload":
        if n_upload_inputs is None:
            raise SettingError("dataset", "dataset 'upload' needs a CSV file: upload it again (a link cannot "
                                          "carry the file)")
        dims = n_upload_inputs
        regression = n_upload_inputs == 1
    if s.dataset == "xor" and s.classes != 2:
        raise SettingError("classes", f"the XOR data set has 2 classes; got classes={s.classes}")
    if regression and s.loss not in REGRESSION_LOSSES:
        raise SettingError("loss", f"loss {s.loss!r} needs class labels; the data set {s.dataset!r} has real-valued "
                                   f"targets: choose {' or '.join(REGRESSION_LOSSES)}")
    if dims == 1:
        two_d = [f for f in s.features if f not in ("x1", "sin1", "x1sq")]
        if two_d:
            raise SettingError("features", f"feature {two_d[0]!r} needs two inputs; the data set {s.dataset!r} has "
                                           "one (x1): use x1, x1sq, sin1 and poly")
    if not s.features and s.poly == 0:
        raise SettingError("features", "the network needs at least one input: tick a feature or set poly")
    n_act = len(s.activation)
    if n_act not in (1, len(s.hidden)) and not (not s.hidden and n_act == 1):
        raise SettingError("activation", f"activation needs one name per hidden layer ({len(s.hidden)}) or one for "
                                         f"all; got {n_act}: {','.join(s.activation)}")
    if s.regularizer == "maxnorm" and s.alpha <= 0:
        raise SettingError("alpha", f"max-norm needs a bound alpha = c > 0; got alpha={s.alpha:g}")
    if s.nesterov and (s.optimizer != "sgd" or s.momentum == 0):
        raise SettingError("nesterov", "Nesterov's momentum needs optimizer sgd with momentum > 0; got "
                                       f"optimizer={s.optimizer}, momentum={s.momentum:g}")
