"""``NetworkEstimator``: the one fit path of every estimator, and what they share at prediction.

``_fit`` reads top to bottom:

1. X and y are checked, and y becomes the loss's targets (``_targets``: a classifier's
   ``Labels`` or a regressor's ``Values``, from ``NetworkClassifier`` or ``NetworkRegressor``);
2. the settings are resolved once into a frozen ``Settings`` (``_settings``: there each estimator
   says what its alpha means, how its training stops, which solvers it offers);
3. the network is built (``_build_network``), or continued by a warm start or a partial fit;
4. a solver trains it and returns a ``FitResult``: the stochastic loop (``_stochastic.py``),
   L-BFGS (``_lbfgs.py``) or LinearRegression's least squares (``linear.fit_lstsq``);
5. the estimator sets its fitted attributes from that result.

An estimator is one class on this one and on ``NetworkClassifier`` or ``NetworkRegressor``: its
``__init__``, ``_settings``, ``_build_network`` and, for inputs other than rows of features,
``_check_X_y`` and ``_model_input``.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from sklearn.base import BaseEstimator, is_regressor
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import registry
from .._compiled.workers import using_threads
from .._helpers.validation import check_int, resolve_rng
from ..errors import TrainingDiverged
from ..layers.linear import Linear
from ..training.batching import predict_in_batches
from ._data import FitData, check_eval_train
from ._docs import FIT, document
from ._lbfgs import fit_lbfgs
from ._lstsq import fit_lstsq
from ._result import NonFiniteWeights, Progress
from ._settings import params
from ._stochastic import fit_stochastic


def store_params(estimator, arguments: dict) -> None:
    """Store every __init__ argument of ``locals()`` untouched under its own name (scikit-learn's rule)."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def blas_threads(method):
    """Run ``method`` with ``self.n_threads`` threads: the compiled kernels' workers and BLAS's
    threads together (``chainrule._compiled.workers.using_threads``: "auto", the default, lets the
    workers follow the machine's load and chooses BLAS's threads once per run; None: the process's
    setting)."""
    @functools.wraps(method)
    def limited(self, *args, **kwargs):
        n = getattr(self, "n_threads", "auto")
        if not (isinstance(n, str) and n == "auto"):
            n = check_int("n_threads", n, 1, allow_none=True)
        with using_threads(n):
            return method(self, *args, **kwargs)
    return limited


class NetworkEstimator(BaseEstimator):
    """The fit path and the predictions of every chainrule estimator (see the module docstring)."""

    #: what a model file stores besides the parameters (chainrule.io)
    _fitted_attributes = ("model_", "history_", "n_features_in_", "feature_names_in_", "n_iter_", "loss_curve_",
                          "loss_", "_dtype", "t_", "best_loss_", "validation_scores_", "best_validation_score_",
                          "n_outputs_", "out_activation_")

    @document(FIT)
    def fit(self, X, y, sample_weight=None, *, validation_data=None, resume_from=None, eval_train=None):
        """Train from scratch (or from the current weights with ``warm_start``).

        {parameters}

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, resume_from=resume_from, validation_data=validation_data,
                         eval_train=eval_train)

    @blas_threads
    def _fit(self, X, y, sample_weight=None, *, incremental=False, resume_from=None, validation_data=None,
             eval_train=None):
        hand_set = self._hand_set_network()
        warm = incremental or params(self, warn=False)["warm_start"]
        continuing = hand_set is not None or (warm and hasattr(self, "model_"))
        X, y = self._check_X_y(X, y, reset=not continuing or not hasattr(self, "n_features_in_"))
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        task, y, class_weights = self._targets(y, continuing, incremental)
        if class_weights is not None:
            sw = class_weights if sw is None else sw * class_weights
        s = self._settings(X, sw)
        if incremental and s.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not s.stochastic and (incremental or resume_from is not None):
            raise (AttributeError if incremental else ValueError)(
                f"{'partial_fit' if incremental else 'resume_from'} applies to the stochastic solvers; "
                f"solver={s.solver!r} has no epochs")
        rng = self._rng if continuing and hasattr(self, "_rng") else resolve_rng(self.random_state, "random_state")
        if continuing:
            model, start = self.model_, self._progress().restart(s.early_stopping)
            have = model.output_shape((1,) + tuple(X.shape[1:]))[-1]
            if have != task.n_outputs:
                raise ValueError(f"y needs a network with {task.n_outputs} outputs; the fitted network has {have} "
                                 "(the targets changed since the first fit: fit again without warm_start)")
        else:
            model, start = self._build_network(self._input_size(X), task.n_outputs, rng), Progress().restart(
                s.early_stopping)
        targets, labels = task.encode(y)
        data = FitData(X, y, targets, labels, sw, task, eval_train=check_eval_train(eval_train),
                       validation=None if validation_data is None else self._validation_set(validation_data, task))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # non-finite values are checked
            try:
                if s.stochastic:
                    result = fit_stochastic(s, model, task.data_loss(), data, start, rng=rng, incremental=incremental,
                                            optimizer=getattr(self, "_optimizer", None) if incremental else None,
                                            schedule=getattr(self, "_schedule", None), resume_from=resume_from,
                                            identity=self._identity(X))
                elif s.solver == "lbfgs":
                    result = fit_lbfgs(s, model, task.data_loss(), data, start)
                else:
                    result = fit_lstsq(s, model, data)
            except TrainingDiverged as exc:
                self.model_, self.history_ = model, exc.history     # the weights before the divergence, and why
                if isinstance(exc, NonFiniteWeights):
                    raise
                raise NonFiniteWeights("Solver produced non-finite parameter weights. The input data may contain "
                                       f"large values and need to be preprocessed. ({exc})", epoch=exc.epoch,
                                       batch=exc.batch, lr=exc.lr, loss=exc.loss, history=exc.history) from exc
        if not all(np.isfinite(p.value).all() for p in model.parameters()):
            raise NonFiniteWeights("Solver produced non-finite parameter weights. The input data may contain large "
                                   "values and need to be preprocessed.", history=result.history)
        # the fitted attributes, from the result
        p = result.progress
        self.model_, self._rng, self._optimizer, self._schedule = model, rng, result.optimizer, result.schedule
        self.n_iter_, self.t_, self.loss_, self.loss_curve_ = p.n_iter, p.t, p.loss, p.loss_curve
        self.best_loss_, self.validation_scores_ = p.best_loss, p.validation_scores
        self.best_validation_score_, self._no_improvement_count, self._best_state = (
            p.best_validation_score, p.no_improvement_count, p.best_state)
        if incremental and hasattr(self, "history_"):        # the partial fits' history grows by one epoch
            for record in result.history.records:
                self.history_.append(dict(record, epoch=len(self.history_)))
        else:
            self.history_ = result.history
        self.n_outputs_, self.out_activation_ = task.n_outputs, task.out_activation
        return self

    def _progress(self) -> Progress:
        """The fitted attributes of the last fit as the progress a warm start or partial fit continues."""
        return Progress(0, int(getattr(self, "t_", 0) or 0), getattr(self, "loss_", math.nan),
                        list(getattr(self, "loss_curve_", None) or []), getattr(self, "best_loss_", math.inf),
                        getattr(self, "validation_scores_", None), getattr(self, "best_validation_score_", None),
                        int(getattr(self, "_no_improvement_count", 0) or 0), getattr(self, "_best_state", None))

    def _identity(self, X) -> dict:
        """What a checkpoint records about the estimator, so that another one's is refused."""
        identity = {"estimator": type(self).__name__, "n_features_in": int(math.prod(X.shape[1:])),
                    "params": {k: v for k, v in self.get_params().items()
                               if isinstance(v, (int, float, str, bool, type(None)))}}
        if hasattr(self, "classes_"):
            identity["classes"] = [str(c) for c in self.classes_]
        return identity

    # -- what an estimator may override ---------------------------------------------------------
    def _solver(self, p: dict) -> str:
        """The solver the parameters ``p`` choose."""
        return p["solver"]

    def _hand_set_network(self):
        """The network made from weights assigned by hand (an MLP's ``coefs_``), or None."""
        return None

    def _input_size(self, X):
        """What ``_build_network`` receives as its input size: the number of features."""
        return X.shape[1]

    def _check_X_y(self, X, y, reset: bool):
        """(X, y) checked, X in the dtype of the network (float32 input stays float32 unless the
        ``dtype`` parameter says otherwise, anything else computes in float64)."""
        dtype = None if reset else getattr(self, "_dtype", None)
        first = None if self.dtype is None else registry.dtype(self.dtype)
        X, y = validate_data(self, X, y, reset=reset, dtype=dtype or first or [np.float64, np.float32],
                             accept_sparse=["csr", "csc"] if self.__sklearn_tags__().input_tags.sparse else False,
                             multi_output=True, y_numeric=is_regressor(self))
        if dtype is None:
            self._dtype = X.dtype.type
        return (X.tocsr() if hasattr(X, "tocsr") else X), y

    def _model_input(self, X):
        """X checked against the fitted input and turned into what the network takes."""
        return validate_data(self, X, reset=False, dtype=getattr(self, "_dtype", np.float32),
                             accept_sparse=["csr"] if self.__sklearn_tags__().input_tags.sparse else False)

    def _validation_set(self, validation_data, task):
        """(X, y, targets, None) of a user's ``validation_data=(X_val, y_val)``."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        Xv, yv = self._model_input(validation_data[0]), np.asarray(validation_data[1])
        tv, _ = task.encode(yv)
        if Xv.shape[0] != tv.shape[0]:
            raise ValueError(f"validation_data has {Xv.shape[0]} samples and {tv.shape[0]} targets")
        return Xv, yv, tv, None

    def _network_input_shape(self) -> tuple:
        """One sample's shape as the network takes it: the first Linear layer's input size."""
        first = next(m for m in self.model_.modules() if isinstance(m, Linear))
        return (int(first.in_features),)

    # -- description and prediction ------------------------------------------------------------
    def summary(self):
        """The fitted network's table: each layer, its output shape for this estimator's inputs and
        its number of parameters, with the totals (``Module.summary``; an HTML table in a notebook).

        Returns
        -------
        Summary
            The table: ``print`` it, or show it in a notebook.
        """
        self._hand_set_network()
        check_is_fitted(self, "model_")
        return self.model_.summary(self._network_input_shape())

    @blas_threads
    def _scores(self, X) -> np.ndarray:
        """The network's outputs for X, in evaluation mode, in the network's dtype."""
        self._hand_set_network()
        check_is_fitted(self, "model_")
        X = self._model_input(X)
        self.model_.eval()
        return predict_in_batches(self.model_, X, 4096)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True          # the first layer multiplies a sparse batch as it is
        return tags
