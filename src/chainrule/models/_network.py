"""The shared machinery of every network estimator: validation, the run's generator, penalties,
the trainer, checkpoints, warm starts and partial fits. Subclasses only build the network and
encode the targets."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import registry
from .._validation import check_int, check_number, resolve_rng
from ..core.sequential import Sequential
from ..errors import TrainingDiverged
from ..layers.linear import Linear
from ..training.callbacks import Checkpoint, EarlyStopping
from ..training.trainer import Trainer, predict_in_batches


def store_params(estimator, arguments: dict) -> None:
    """Store every __init__ argument untouched under its own name (scikit-learn's convention),
    from ``locals()`` of the __init__."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _positive_int(name, v, allow_none=False):
    return check_int(name, v, 1, allow_none=allow_none)


def _number(name, v, low=0.0, strict=False, high=None):
    return check_number(name, v, low, high, low_inclusive=not strict)


class NetworkEstimator(BaseEstimator):
    """Base of the estimators. Hyperparameters shared by all of them (validated at ``fit``):

    penalty, alpha, beta, max_norm, penalize_bias, optimizer, lr, momentum, nesterov, batch_size,
    epochs, lr_schedule, early_stopping, validation_fraction, n_iter_no_change, tol, random_state,
    verbose, warm_start, dtype, checkpoint.
    """

    _task = "classification"
    #: what a model file stores besides the parameters (chainrule.io)
    _fitted_attributes = ("model_", "history_", "n_features_in_", "feature_names_in_", "n_iter_", "loss_curve_",
                          "loss_", "_dtype")

    # Defaults of the settings a subclass does not expose in its __init__ (scikit-learn's
    # get_params only lists __init__ arguments; these keep the engine's code uniform).
    penalty = None
    alpha = 0.0
    beta = 0.5
    max_norm = 3.0
    penalize_bias = False
    optimizer = "sgd"
    lr = 0.01
    momentum = 0.0
    nesterov = False
    batch_size = None
    epochs = 100
    lr_schedule = None
    early_stopping = False
    validation_fraction = 0.1
    n_iter_no_change = 10
    tol = 0.0
    random_state = None
    verbose = 0
    warm_start = False
    dtype = "float32"
    checkpoint = None
    class_weight = None

    # -- to implement ---------------------------------------------------------------------------
    def _build_network(self, n_in: int, n_out: int, rng) -> Sequential:  # pragma: no cover
        raise NotImplementedError

    def _encode_fit_targets(self, y, fitting_first_time: bool, classes=None):  # pragma: no cover
        """Return (loss, targets, labels_for_accuracy, n_outputs, sample_weight)."""
        raise NotImplementedError

    # -- hyperparameters ------------------------------------------------------------------------
    def _check_common(self):
        self._dtype = registry.dtype(self.dtype)
        _number("alpha", self.alpha)
        _number("beta", self.beta)
        _number("max_norm", self.max_norm, strict=True)
        registry.penalty(self.penalty, self.alpha, self.beta, self.max_norm)
        registry.choose("optimizer", registry.OPTIMIZERS, self.optimizer)
        _number("momentum", self.momentum, high=1.0)
        _positive_int("batch_size", self.batch_size, allow_none=True)
        check_int("epochs", self.epochs, 0)
        _positive_int("n_iter_no_change", self.n_iter_no_change)
        _number("tol", self.tol)
        if self.early_stopping:
            _number("validation_fraction", self.validation_fraction, strict=True, high=1.0)

    def _learning_rate(self, X) -> float:
        """The learning rate to use for data X (subclasses may derive it from the data)."""
        return _number("lr", self.lr, strict=True)

    def _optimizer_settings(self) -> dict:
        """The optimizer's keyword arguments from the estimator's settings."""
        if self.optimizer == "sgd":
            return {"momentum": self.momentum, "nesterov": self.nesterov}
        return {}

    def _penalise(self, model: Sequential) -> None:
        """Give weights (and biases if asked) the penalty or constraint of the settings."""
        for module in model.modules():
            if isinstance(module, Linear):
                reg, con = registry.penalty(self.penalty, self.alpha, self.beta, self.max_norm)
                module.weight.regularizer, module.weight.constraint = reg, con
                if module.bias is not None:
                    if self.penalize_bias:
                        module.bias.regularizer, _ = registry.penalty(self.penalty, self.alpha, self.beta,
                                                                       self.max_norm)
                    else:
                        module.bias.regularizer = None

    def _callbacks(self):
        cbs = []
        if self.early_stopping:
            cbs.append(EarlyStopping(patience=self.n_iter_no_change, min_delta=self.tol, restore_best=True,
                                     monitor="val_loss"))
        elif self.tol > 0:
            # convergence: stop when the training objective stops improving (scikit-learn's rule)
            cbs.append(EarlyStopping(patience=self.n_iter_no_change, min_delta=self.tol, restore_best=False,
                                     monitor="loss"))
        if self.checkpoint:
            cbs.append(Checkpoint(self.checkpoint))
        return cbs

    # -- fitting --------------------------------------------------------------------------------
    def _validate_X_y(self, X, y, reset: bool):
        return validate_data(self, X, y, reset=reset, dtype=self._dtype, multi_output=self._task == "regression",
                             y_numeric=self._task == "regression")

    def _fit(self, X, y, *, epochs, incremental=False, classes=None, resume_from=None, validation_data=None):
        self._check_common()
        first = not (incremental or self.warm_start) or not hasattr(self, "model_")
        X, y = self._validate_X_y(X, y, reset=first)
        lr = self._learning_rate(X)
        rng = resolve_rng(self.random_state, "random_state") if first or not hasattr(self, "_rng") else self._rng
        loss, targets, labels, n_out, sw = self._encode_fit_targets(y, first, classes)
        if first:
            self.model_ = self._build_network(X.shape[1], n_out, rng)
            self._rng = rng
        model = self.model_
        self._penalise(model)
        opt = getattr(self, "_optimizer", None) if incremental else None
        if opt is None:
            opt = registry.optimizer(self.optimizer, model, lr, **self._optimizer_settings())
        use_validation = self.early_stopping and not incremental and validation_data is None
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            Xv = self._model_input(validation_data[0])
            tv, lv = self._validation_targets(validation_data[1])
            if Xv.shape[0] != tv.shape[0]:
                raise ValueError(f"validation_data has {Xv.shape[0]} samples and {tv.shape[0]} targets")
            val = (Xv, tv, lv) if lv is not None else (Xv, tv)
        trainer = Trainer(model, loss, opt, batch_size=self.batch_size, epochs=epochs, rng=rng,
                          lr_schedule=self.lr_schedule, callbacks=[] if incremental else self._callbacks(),
                          verbose=self.verbose, task=self._task, eval_batch_size=4096)
        trainer.checkpoint_extra = self._checkpoint_state(X)
        if resume_from is not None:
            _, meta = Trainer.read_checkpoint(resume_from)
            self._check_resumed_state(meta.get("extra", {}), resume_from, X)
            trainer.resume(resume_from)
        try:
            history = trainer.fit(X, targets, y_labels=labels, sample_weight=sw, validation_data=val,
                                  validation_fraction=self.validation_fraction if use_validation else None)
        except TrainingDiverged as exc:
            self.history_ = exc.history
            self.n_iter_ = len(exc.history)
            raise
        if incremental and hasattr(self, "history_"):
            for r in history.records:
                r = dict(r, epoch=len(self.history_))
                self.history_.append(r)
        else:
            self.history_ = history
        self._optimizer = opt
        self.n_iter_ = max(len(self.history_), 1 if epochs else 0)
        self.loss_curve_ = [r["loss"] for r in self.history_.records]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        if history.interrupted:
            warnings.warn(f"training was interrupted (Ctrl-C) after {len(history)} complete epochs; "
                          "the model keeps the weights of the last batch", UserWarning, stacklevel=3)
        return self

    def fit(self, X, y, validation_data=None, resume_from=None):
        """Train from scratch (or from the current weights with ``warm_start``).

        ``validation_data=(X_val, y_val)``: evaluated after every epoch (``history_`` records
        ``val_loss`` and ``val_accuracy``); with ``early_stopping`` it is what is monitored,
        instead of a ``validation_fraction`` held out of (X, y).
        ``resume_from``: a checkpoint written by an earlier run with ``checkpoint=path``; training
        continues after its last completed epoch and ends as the uninterrupted run would.
        """
        return self._fit(X, y, epochs=self.epochs, resume_from=resume_from, validation_data=validation_data)

    def _checkpoint_state(self, X) -> dict:
        state = {"estimator": type(self).__name__, "n_features_in": int(X.shape[1]),
                 "params": {k: v for k, v in self.get_params().items()
                            if isinstance(v, (int, float, str, bool, type(None)))}}
        if hasattr(self, "classes_"):
            state["classes"] = [str(c) for c in self.classes_]
        return state

    def _check_resumed_state(self, extra: dict, path, X) -> None:
        """Refuse a checkpoint of another estimator, another input width or other classes."""
        if extra.get("estimator") != type(self).__name__:
            raise ValueError(f"checkpoint {path} was written by {extra.get('estimator')}, not {type(self).__name__}")
        if extra.get("n_features_in") not in (None, X.shape[1]):
            raise ValueError(f"checkpoint {path} was trained on {extra['n_features_in']} features; X has {X.shape[1]}")
        if "classes" in extra and hasattr(self, "classes_") and extra["classes"] != [str(c) for c in self.classes_]:
            raise ValueError(f"checkpoint {path} was trained on classes {extra['classes']}; "
                             f"y has {[str(c) for c in self.classes_]}")

    # -- prediction -----------------------------------------------------------------------------
    def _model_input(self, X) -> np.ndarray:
        """X checked against the fitted input and turned into what the network takes."""
        return validate_data(self, X, reset=False, dtype=self._dtype if hasattr(self, "_dtype") else np.float32)

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = self._model_input(X)
        model = self.model_
        model.eval()
        return predict_in_batches(model, X, 4096)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
