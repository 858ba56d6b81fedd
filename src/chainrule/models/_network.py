"""The shared machinery of every network estimator: the run's settings, dtype and generator, the
penalties, the solvers (the training loop for 'sgd', 'adam', 'rmsprop', 'adagrad'; L-BFGS),
scikit-learn's stopping rule and fitted attributes, validation, checkpoints, warm starts and
partial fits. A subclass builds the network (``_build_network``) and encodes the targets
(``_encode_fit_targets``, in ``_tasks.py``); everything else is here, so a network of another
shape gets all of it by writing those two methods. A network on images (a CNN) also takes
other inputs: it overrides ``_validate_X_y`` and ``_model_input`` (``validate_data(...,
allow_nd=True)``) and ``_input_size`` (its ``_build_network`` then receives ``X.shape[1:]``).
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import registry
from .._helpers.validation import check_int, check_number, resolve_rng
from ..core.sequential import Sequential
from ..errors import TrainingDiverged
from ..layers.conv import Conv2d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ..layers.residual import Residual
from ..training.trainer import predict_in_batches
from . import _settings
from ._docs import FIT, document
from ._holdout import check_eval_train, given_validation, train_measure, training_sample, validator
from ._lbfgs import fit_lbfgs
from ._objective import BatchScale, EstimatorLoss, PerBatchPenalty
from ._stochastic import run_stochastic


def store_params(estimator, arguments: dict) -> None:
    """Store every __init__ argument untouched under its own name (scikit-learn's convention),
    from ``locals()`` of the __init__."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def blas_threads(method):
    """Run ``method`` with at most ``self.n_threads`` BLAS threads (threadpoolctl; None: as NumPy
    was started). Small layers are fastest with one thread: splitting a 64 x 32 product across
    cores costs more in waiting than it saves (README, the command line's ``--threads``)."""
    @functools.wraps(method)
    def limited(self, *args, **kwargs):
        n = check_int("n_threads", getattr(self, "n_threads", None), 1, allow_none=True)
        if n is None:
            return method(self, *args, **kwargs)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=n, user_api="blas"):
            return method(self, *args, **kwargs)
    return limited


def _row_size(X) -> int:
    """The number of values of one sample: the features of a row, C H W of an image."""
    return int(math.prod(X.shape[1:]))


def _positive_int(name, v, allow_none=False):
    return check_int(name, v, 1, allow_none=allow_none)


def _number(name, v, low=0.0, strict=False, high=None):
    return check_number(name, v, low, high, low_inclusive=not strict)


class NonFiniteWeights(TrainingDiverged, ValueError):
    """Training diverged and left (or would have left) non-finite weights.

    A ``TrainingDiverged`` (the cause, epoch, batch and learning rate are in the message and the
    attributes) and a ``ValueError`` with scikit-learn's wording, so code written for either
    library catches it.
    """


class NetworkEstimator(BaseEstimator):
    """Base of the estimators. The settings a subclass does not take in its ``__init__`` keep the
    defaults below (scikit-learn's ``get_params`` lists only ``__init__`` arguments)."""

    _task = "classification"
    #: what a model file stores besides the parameters (chainrule.io)
    _fitted_attributes = ("model_", "history_", "n_features_in_", "feature_names_in_", "n_iter_", "loss_curve_",
                          "loss_", "_dtype", "t_", "best_loss_", "validation_scores_", "best_validation_score_")
    #: True: the notes' names optimizer, lr, epochs, nesterov (the linear models)
    _notes_names = False
    #: True: alpha is scikit-learn's (0.5 alpha ||W||^2 / B per batch); False: the notes' lambda
    _alpha_per_batch = True
    #: "loss": scikit-learn's rule on the loss or validation score; "gradient": max |gradient| <= tol
    _stopping = "loss"
    #: scipy.sparse input accepted (the first layer multiplies sparse by dense)
    _sparse = True

    # scikit-learn's names (solver, learning_rate_init, max_iter...) have no class defaults here:
    # scikit-learn's checks take hasattr(est, "max_iter") as "has that parameter". _settings reads
    # the optional ones with scikit-learn's defaults.
    optimizer = lr = epochs = nesterov = _settings.DEPRECATED     # chainrule 0.1 names (see _settings.RENAMED)
    penalty = None
    alpha = 0.0
    beta = 0.5
    max_norm = 3.0
    penalize_bias = False
    momentum = 0.0
    batch_size = None
    lr_schedule = None
    early_stopping = False
    validation_fraction = 0.1
    n_iter_no_change = 10
    tol = 0.0
    random_state = None
    verbose = 0
    warm_start = False
    dtype = None
    checkpoint = None
    class_weight = None
    n_threads = None

    # -- to implement ---------------------------------------------------------------------------
    def _build_network(self, n_in: int, n_out: int, rng) -> Sequential:  # pragma: no cover
        raise NotImplementedError

    def _encode_fit_targets(self, y, first: bool, classes=None, incremental: bool = False):  # pragma: no cover
        """Return (loss, targets, labels_for_accuracy, n_outputs, class_sample_weight, predict_labels)."""
        raise NotImplementedError

    # -- hooks with defaults ----------------------------------------------------------------------
    def _lr_placeholder(self) -> float | None:
        """A stand-in for a learning rate that the data will decide (None: the parameter is a number)."""
        return None

    def _learning_rate(self, X, sample_weight=None) -> float | None:
        """A learning rate derived from the data (None: the parameter's)."""
        return None

    def _input_size(self, X):
        """What ``_build_network`` receives as its input size: the number of features."""
        return X.shape[1]

    def _has_pending_weights(self) -> bool:
        """True when weights were assigned by hand before any fit (the MLPs' coefs_)."""
        return False

    def _apply_pending_weights(self) -> None:
        """Copy hand-assigned weights into the network (building it if needed)."""

    def _after_fit(self) -> None:
        """Fitted attributes a subclass derives from the network."""

    def _output_size(self) -> int:
        """The number of the network's outputs (its last Linear layer's)."""
        last = [m for m in self.model_.modules() if isinstance(m, Linear)][-1]
        return last.out_features

    # -- settings ------------------------------------------------------------------------------
    def _check_penalty(self):
        _number("alpha", self.alpha)
        _number("beta", self.beta)
        _number("max_norm", self.max_norm, strict=True)
        registry.penalty(self.penalty, self.alpha, self.beta, self.max_norm)

    def _penalise(self, model: Sequential) -> BatchScale | None:
        """Give the weights of the linear and convolution layers (and their biases if asked) the
        penalty or constraint of the settings; with
        scikit-learn's alpha the penalties are scaled per batch (see _objective.py)."""
        scale = BatchScale() if self._alpha_per_batch else None

        def reg():
            r, c = registry.penalty(self.penalty, self.alpha, self.beta, self.max_norm)
            return (PerBatchPenalty(r, scale) if (r is not None and scale is not None) else r), c

        for module in model.modules():
            if isinstance(module, (Linear, Conv2d)):
                module.weight.regularizer, module.weight.constraint = reg()
                if module.bias is not None:
                    module.bias.regularizer = reg()[0] if self.penalize_bias else None
        return scale

    def _first_dtype(self):
        """The dtype of a first fit: the ``dtype`` parameter, or float32 input stays float32 and
        anything else computes in float64 (scikit-learn's dtype preservation)."""
        return None if self.dtype is None else registry.dtype(self.dtype)

    # -- data ----------------------------------------------------------------------------------
    def _validate_X_y(self, X, y, reset: bool):
        dtype = None if reset else getattr(self, "_dtype", None)
        X, y = validate_data(self, X, y, reset=reset, dtype=dtype or self._first_dtype() or [np.float64, np.float32],
                             accept_sparse=["csr", "csc"] if self._sparse else False, multi_output=True,
                             y_numeric=self._task == "regression")
        if dtype is None:
            self._dtype = X.dtype.type
        if hasattr(X, "tocsr"):
            X = X.tocsr()
        return X, y

    def _model_input(self, X):
        """X checked against the fitted input and turned into what the network takes."""
        return validate_data(self, X, reset=False, dtype=getattr(self, "_dtype", np.float32),
                             accept_sparse=["csr"] if self._sparse else False)

    # -- fitting --------------------------------------------------------------------------------
    def _is_initialised(self) -> bool:
        return hasattr(self, "model_") or self._has_pending_weights()

    def _reset_progress(self, early_stopping: bool) -> None:
        """scikit-learn's memory of a run, set at a first fit (a warm start continues it)."""
        self.n_iter_, self.t_, self.loss_curve_, self._no_improvement_count = 0, 0, [], 0
        self.loss_, self._best_state = float("nan"), None
        self.best_loss_ = self.validation_scores_ = self.best_validation_score_ = None
        self._start_early_stopping(early_stopping)

    def _start_early_stopping(self, early_stopping: bool) -> None:
        if early_stopping:
            self.best_loss_ = None
            if getattr(self, "validation_scores_", None) is None:
                self.validation_scores_, self.best_validation_score_ = [], -math.inf
        else:
            if getattr(self, "best_loss_", None) is None:
                self.best_loss_ = math.inf
            self.validation_scores_ = self.best_validation_score_ = None

    @blas_threads
    def _fit(self, X, y, *, sample_weight=None, incremental=False, classes=None, resume_from=None,
             validation_data=None, eval_train=None):
        s = _settings.resolve(self, lr=self._lr_placeholder())
        measure_train, train_rows = check_eval_train(eval_train)
        self._check_penalty()
        if incremental and s.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if incremental and not s.stochastic:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; {s.solver} is not")
        first = not (incremental or self.warm_start) or not self._is_initialised()
        X, y = self._validate_X_y(X, y, reset=first or not hasattr(self, "n_features_in_"))
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        rng = resolve_rng(self.random_state, "random_state") if first or not hasattr(self, "_rng") else self._rng
        loss, targets, labels, n_out, class_sw, predict_labels = self._encode_fit_targets(
            y, first, classes, incremental)
        if class_sw is not None:
            sw = class_sw if sw is None else sw * class_sw
        rate = self._learning_rate(X, sw)
        if rate is not None:
            s.lr = rate
        if first and not self._has_pending_weights():
            self.model_ = self._build_network(self._input_size(X), n_out, rng)
            self._reset_progress(s.early_stopping)
            self._optimizer = self._schedule = None
        else:                   # a warm start, a partial fit, or weights assigned by hand: continue
            self._apply_pending_weights()
            for name in ("n_iter_", "t_", "_no_improvement_count"):
                setattr(self, name, getattr(self, name, 0) or 0)
            if not isinstance(getattr(self, "loss_curve_", None), list):
                self.loss_curve_ = list(getattr(self, "loss_curve_", None) or [])
            self._start_early_stopping(s.early_stopping)
        self._rng = rng
        self._check_outputs(X, n_out)
        scale = self._penalise(self.model_)
        self.n_iter_ = 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # non-finite values are checked
            try:
                if s.stochastic:
                    run_stochastic(self, s, X, y, targets, labels, sw, loss, scale, rng, predict_labels,
                                   incremental=incremental, resume_from=resume_from, validation_data=validation_data,
                                   eval_train=(train_rows or 0) if measure_train else None)
                else:
                    if resume_from is not None:
                        raise ValueError("resume_from applies to the stochastic solvers; solver='lbfgs' has no epochs")
                    train = training_sample(X, y, targets, train_rows) if measure_train else None
                    self._fit_lbfgs(s, X, targets, sw, loss, scale, validation_data, train)
            except TrainingDiverged as exc:
                if not isinstance(exc, NonFiniteWeights):
                    raise NonFiniteWeights(
                        "Solver produced non-finite parameter weights. The input data may contain large values "
                        f"and need to be preprocessed. ({exc})", epoch=exc.epoch, batch=exc.batch, lr=exc.lr,
                        loss=exc.loss, history=exc.history) from exc
                raise
        if not all(np.isfinite(p.value).all() for p in self.model_.parameters()):
            raise NonFiniteWeights("Solver produced non-finite parameter weights. The input data may contain large "
                                   "values and need to be preprocessed.", history=getattr(self, "history_", None))
        self._after_fit()
        return self

    def _check_outputs(self, X, n_out: int) -> None:
        have = self.model_.output_shape((1,) + tuple(X.shape[1:]))[-1]
        if have != n_out:
            raise ValueError(f"y needs a network with {n_out} outputs; the fitted network has {have} "
                             "(the targets changed since the first fit: fit again without warm_start)")

    def _fit_lbfgs(self, s, X, targets, sw, loss, scale, validation_data=None, train_sample=None):
        from ..training.history import History

        if self.checkpoint:
            raise ValueError(f"checkpoint applies to the epochs of the stochastic solvers; {type(self).__name__} "
                             "uses solver='lbfgs' (full-batch L-BFGS has no epochs to resume)")
        if any(p.constraint is not None for p in self.model_.parameters()):
            raise ValueError("penalty='maxnorm' is a constraint applied after each step of a stochastic solver; "
                             "L-BFGS takes no such steps: use solver 'sgd' or 'adam' with it")
        if any(m.p > 0 for m in self.model_.modules() if isinstance(m, Dropout)):
            raise ValueError("solver='lbfgs' minimises a fixed function: it needs dropout=0 (dropout draws new "
                             "masks at every evaluation); use solver='adam' or 'sgd' with dropout")
        if any(m.survival_prob < 1 for m in self.model_.modules() if isinstance(m, Residual)):
            raise ValueError("solver='lbfgs' minimises a fixed function: it needs p_last=1 (stochastic depth draws "
                             "new masks at every evaluation); use solver='adam' or 'sgd' with stochastic depth")
        unit = 1.0 if sw is None else float(np.mean(sw))
        weights = None if sw is None else (sw / unit).astype(self._dtype)
        objective = EstimatorLoss(loss, scale, unit)
        measures = []                         # recorded after every iteration (no early stopping: scikit-learn's)
        if validation_data is not None:
            measures.append(validator(self, loss, given_validation(self, validation_data)))
        if train_sample is not None:
            measures.append(train_measure(self, loss, train_sample))
        scores = lambda Xv: predict_in_batches(self.model_, Xv, 4096)  # noqa: E731
        validate = (lambda: {k: v for m in measures for k, v in m(scores).items()}) if measures else None
        res = fit_lbfgs(self.model_, objective, X, targets, weights, max_iter=s.max_iter, max_fun=s.max_fun,
                        tol=s.tol, verbose=self.verbose, validate=validate)
        self.n_iter_ = res.n_iter
        self.loss_ = res.loss
        self.loss_curve_ = list(getattr(self, "loss_curve_", None) or []) + res.curve
        self.best_loss_ = min([res.loss] + res.curve)
        self.validation_scores_ = self.best_validation_score_ = None      # L-BFGS ignores early_stopping
        history = History(res.records, info={"solver": "lbfgs", "message": res.message,
                                             "evaluations": res.n_evaluations})
        self.history_ = history
        if res.interrupted:
            history.interrupted = True
            warnings.warn(f"training was interrupted (Ctrl-C) after {res.n_iter} L-BFGS iterations; the model keeps "
                          "the last iterate's weights", UserWarning, stacklevel=4)
            return
        if not math.isfinite(res.loss):
            raise NonFiniteWeights("Solver produced non-finite parameter weights. The input data may contain large "
                                   f"values and need to be preprocessed. (L-BFGS: the loss is {res.loss})",
                                   history=history)
        if not res.converged and s.max_iter > 0:
            warnings.warn(f"lbfgs failed to converge after {res.n_iter} iteration(s) and {res.n_evaluations} "
                          f"evaluations ({res.message}). Increase max_iter (now {s.max_iter}) or max_fun "
                          f"(now {s.max_fun}), or scale the data.", ConvergenceWarning, stacklevel=4)

    @document(FIT)
    def fit(self, X, y, sample_weight=None, *, validation_data=None, resume_from=None, eval_train=None):
        """Train from scratch (or from the current weights with ``warm_start``).

        {parameters}

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, resume_from=resume_from, validation_data=validation_data,
                         eval_train=eval_train)

    def _checkpoint_state(self, X, split_seed) -> dict:
        state = {"estimator": type(self).__name__, "n_features_in": _row_size(X), "split_seed": split_seed,
                 "params": {k: v for k, v in self.get_params().items()
                            if isinstance(v, (int, float, str, bool, type(None)))}}
        if hasattr(self, "classes_"):
            state["classes"] = [str(c) for c in self.classes_]
        return state

    def _check_resumed_state(self, extra: dict, path, X) -> None:
        """Refuse a checkpoint of another estimator, another input width or other classes."""
        if extra.get("estimator") != type(self).__name__:
            raise ValueError(f"checkpoint {path} was written by {extra.get('estimator')}, not {type(self).__name__}")
        if extra.get("n_features_in") not in (None, _row_size(X)):
            raise ValueError(f"checkpoint {path} was trained on {extra['n_features_in']} features; X has {_row_size(X)}")
        if "classes" in extra and hasattr(self, "classes_") and extra["classes"] != [str(c) for c in self.classes_]:
            raise ValueError(f"checkpoint {path} was trained on classes {extra['classes']}; "
                             f"y has {[str(c) for c in self.classes_]}")

    # -- description ----------------------------------------------------------------------------
    def _network_input_shape(self) -> tuple:
        """One sample's shape as the network takes it (without the batch axis): the first Linear
        layer's input size (the features after any expansion the estimator makes, e.g.
        PolynomialRegression's monomials). A network on images overrides it."""
        first = next(m for m in self.model_.modules() if isinstance(m, Linear))
        return (int(first.in_features),)

    def summary(self):
        """The fitted network's table: each layer, its output shape for this estimator's inputs and
        its number of parameters, with the totals (``Module.summary``; an HTML table in a notebook).
        For ``MLPClassifier((32,))`` fitted on the 64 pixels of the digits it lists Linear
        (N, 32) with 2,080 parameters, ReLU (N, 32) with 0 and Linear (N, 10) with 330: 2,410
        in all, for inputs (N, 64).

        Returns
        -------
        Summary
            The table: ``print`` it, or show it in a notebook.
        """
        self._apply_pending_weights()
        check_is_fitted(self, "model_")
        return self.model_.summary(self._network_input_shape())

    # -- prediction -----------------------------------------------------------------------------
    @blas_threads
    def _scores(self, X) -> np.ndarray:
        """The network's outputs for X, in evaluation mode, in the network's dtype."""
        self._apply_pending_weights()
        check_is_fitted(self, "model_")
        X = self._model_input(X)
        model = self.model_
        model.eval()
        return predict_in_batches(model, X, 4096)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = self._sparse
        return tags
