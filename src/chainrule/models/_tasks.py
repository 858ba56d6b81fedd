"""Classification and regression on top of NetworkEstimator: what the targets become for the
loss, and what the network's outputs become for the user.

``loss='log_loss'`` (the MLPs' default) is scikit-learn's: one sigmoid output for two classes
(or one), a softmax over the classes otherwise, and one sigmoid per label for multilabel
targets (a 2-D 0/1 y). The notes' losses ('softmax', 'softmax_cross_entropy', 'hinge',
'sigmoid') keep their own output layouts (``registry.CLASSIFICATION_LOSSES``).
"""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from .. import losses, registry
from ..losses._stable import log_sigmoid, logsumexp
from ..training.metrics import scores_to_labels
from ..losses import HalfPoissonDeviance, HalfSquaredError
from ._docs import FIT, PREDICT, document
from ._network import NetworkEstimator
from ._settings import has_stochastic_solver

LOG_LOSS = "log_loss"


def _has_proba(est) -> bool:
    return est.loss == LOG_LOSS or registry.classification_loss(est.loss).proba is not None


def _row_codes(Y) -> np.ndarray:
    """Each 0/1 row as one comparable value (the subset accuracy of multilabel outputs)."""
    bits = np.packbits(np.asarray(Y, dtype=bool), axis=1)
    return np.ascontiguousarray(bits).view(np.dtype((np.void, bits.shape[1]))).ravel()


def _multilabel_predictions(scores) -> np.ndarray:
    return _row_codes(np.asarray(scores) > 0)


class ClassifierNetwork(ClassifierMixin, NetworkEstimator):
    """Classifier: any label type (``classes_``), multilabel 0/1 targets (with 'log_loss' or
    'sigmoid'), ``decision_function``, ``predict_proba`` for the probabilistic losses,
    ``class_weight`` ('balanced' or a dict label -> weight)."""

    _fitted_attributes = NetworkEstimator._fitted_attributes + ("classes_", "_multilabel", "_label_dtype",
                                                                "n_outputs_", "out_activation_")
    _task = "classification"
    _multilabel = False
    _label_dtype = None

    # -- the outputs of the loss ----------------------------------------------------------------
    def _layout(self) -> str:
        """'multilabel', 'one' (one output: s > 0 is the second class), 'sign' (one hinge score)
        or 'index' (one output per class)."""
        if self._multilabel:
            return "multilabel"
        if self.loss == LOG_LOSS:
            return "one" if self.classes_.size <= 2 else "index"
        spec = registry.classification_loss(self.loss)
        if self.classes_.size == 2 and spec.single_output_binary:
            return "sign" if spec.binary_target == "sign" else "one"
        return "index"

    def _data_loss(self):
        layout = self._layout()
        if self.loss == LOG_LOSS:
            return losses.SoftmaxLogLikelihood() if layout == "index" else losses.SigmoidCrossEntropy()
        spec = registry.classification_loss(self.loss)
        if layout == "multilabel":
            if self.loss != "sigmoid":
                raise ValueError(f"multilabel targets (a 2-D y of 0/1) need loss='log_loss' or 'sigmoid'; got "
                                 f"loss={self.loss!r}")
            return losses.SigmoidCrossEntropy()
        return (spec.binary if layout in ("one", "sign") else spec.multiclass)()

    def _define_classes(self, y, multilabel: bool) -> None:
        self._multilabel = multilabel
        self._label_dtype = np.asarray(y).dtype.type if multilabel else None
        self.classes_ = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if self.loss != LOG_LOSS and not multilabel and self.classes_.size < 2:
            registry.classification_loss(self.loss)
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to train; "
                             f"got only one class ({self.classes_[0]!r})" if self.classes_.size else "got no class")

    def _encode_fit_targets(self, y, first, classes=None, incremental=False):
        if self.loss != LOG_LOSS:
            registry.classification_loss(self.loss)
        y = np.asarray(y)
        multilabel = type_of_target(y).startswith("multilabel")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not multilabel:
            check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._define_classes(y, multilabel)
        elif multilabel != bool(self._multilabel):
            raise ValueError(f"y is {'multilabel' if multilabel else 'single-label'} now; it was not at the first fit")
        elif not multilabel:
            present = unique_labels(y)
            if self.warm_start and not incremental:
                if set(present) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                     f"call to fit. Previously got {self.classes_}, `y` has {present}")
            elif np.setdiff1d(present, self.classes_).size:
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {present}.")
        targets, labels = self._validation_targets(y)
        n_out = self.classes_.size if self._layout() in ("index", "multilabel") else 1
        predict = _multilabel_predictions if self._multilabel else scores_to_labels
        return self._data_loss(), targets, labels, n_out, self._sample_weights(y), predict

    def _validation_targets(self, y):
        """(loss targets, labels for the accuracy) of y, encoded as for training."""
        if self._multilabel:
            Y = np.asarray(y)
            if Y.ndim != 2 or Y.shape[1] != self.classes_.size or not np.isin(Y, (0, 1)).all():
                raise ValueError(f"y must be a 0/1 matrix with {self.classes_.size} columns (the labels of the first "
                                 f"fit); got shape {Y.shape}")
            return Y.astype(self._dtype), _row_codes(Y)
        y = column_or_1d(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y contains labels that are not classes: {unseen.tolist()}")
        idx = np.searchsorted(self.classes_, y).astype(np.intp)
        layout = self._layout()
        if layout == "sign":
            return (2 * idx - 1).astype(self._dtype), idx
        if layout == "one":
            return idx.astype(self._dtype).reshape(-1, 1), idx
        return idx, idx

    def _stratify_by(self, y):
        """What scikit-learn stratifies its early-stopping split on: the binarised labels."""
        if self._multilabel:
            return None
        idx = np.searchsorted(self.classes_, column_or_1d(y))
        if self.classes_.size <= 2:
            return (idx == 1).reshape(-1, 1)
        return np.eye(self.classes_.size, dtype=bool)[idx]

    def _sample_weights(self, y):
        cw = self.class_weight
        if cw is None:
            return None
        if self._multilabel:
            raise ValueError("class_weight applies to single-label targets; y is multilabel")
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be 'balanced', a dict or None; got {cw!r}")
            present = np.unique(y)
            w = compute_class_weight("balanced", classes=present, y=y)
            lookup = dict(zip(present.tolist(), w))
        elif isinstance(cw, dict):
            lookup = {k: float(v) for k, v in cw.items()}
            unknown = [k for k in lookup if k not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight names labels that are not classes: {unknown}")
            if any(not np.isfinite(v) or v < 0 for v in lookup.values()):
                raise ValueError("class_weight values must be finite numbers >= 0")
        else:
            raise ValueError(f"class_weight must be 'balanced', a dict or None; got {type(cw).__name__}")
        return np.array([lookup.get(v, 1.0) for v in np.asarray(y).tolist()], dtype=np.float64)

    def _after_fit(self):
        self.n_outputs_ = int(self._output_size())
        layout = self._layout()
        if self.loss in (LOG_LOSS, "sigmoid"):
            self.out_activation_ = "softmax" if (self.loss == LOG_LOSS and layout == "index") else "logistic"
        else:
            self.out_activation_ = "identity" if self.loss == "hinge" else "softmax"

    @available_if(has_stochastic_solver)
    @document(FIT)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing from the current weights and optimizer state
        (stochastic solvers only, as in scikit-learn).

        The first call needs ``classes`` (every label that will ever appear; for multilabel y
        the column indices); later calls may repeat the same classes or leave them out.

        {parameters}

        Returns
        -------
        self : estimator
            The updated estimator.
        """
        if getattr(self, "classes_", None) is None:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            multilabel = type_of_target(y).startswith("multilabel")
            self._define_classes(np.asarray(y) if multilabel else unique_labels(classes), multilabel)
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                             f"{self.classes_!r}")
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    # -- predictions ----------------------------------------------------------------------------
    def _labels_from_scores(self, s):
        if self._multilabel:
            return (s > 0).astype(self._label_dtype or np.int64)
        if s.ndim == 1 or s.shape[1] == 1:
            idx = (s.reshape(s.shape[0], -1)[:, 0] > 0).astype(np.intp)
            return self.classes_[np.minimum(idx, self.classes_.size - 1)]
        return self.classes_[s.argmax(axis=1)]

    def _score_from_scores(self, scores, y, sample_weight=None) -> float:
        return float(accuracy_score(y, self._labels_from_scores(scores), sample_weight=sample_weight))

    @document(PREDICT)
    def decision_function(self, X):
        """Scores s = f(x): shape (N,) for two classes sharing one output (positive favours
        ``classes_[1]``), the difference of the two scores for two outputs, else (N, C).

        {parameters}

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            The scores, in the network's dtype (one column per label for multilabel targets).
        """
        s = self._scores(X)
        if self._multilabel:
            return s
        if s.shape[1] == 1:
            return s[:, 0]
        if s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    @document(PREDICT)
    def predict(self, X):
        """The predicted labels: the class of the highest score (of s > 0 for one output).

        {parameters}

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``, or a 0/1 matrix for multilabel targets.
        """
        return self._labels_from_scores(self._scores(X))

    def _log_proba(self, s):
        """Log-probabilities computed in the log domain (finite where the probability underflows)."""
        s = s.astype(np.float64)
        if self._multilabel:
            return log_sigmoid(s)
        if s.shape[1] == 1:   # one sigmoid neuron: P(class 1) = sigma(s), P(class 0) = sigma(-s)
            if self.classes_.size == 1:
                return np.zeros((s.shape[0], 1))
            return np.column_stack([log_sigmoid(-s[:, 0]), log_sigmoid(s[:, 0])])
        if self.loss == LOG_LOSS or registry.classification_loss(self.loss).proba == "softmax":
            return s - logsumexp(s)[:, None]
        ls = log_sigmoid(s)  # one sigmoid per class, normalised (one-vs-rest)
        return ls - logsumexp(ls)[:, None]

    @available_if(_has_proba)
    @document(PREDICT)
    def predict_proba(self, X):
        """Class probabilities: the softmax of the scores, or the sigmoid outputs ((N, 2) for two
        classes sharing one output; normalised over the classes for the 'sigmoid' loss with more
        than two; one independent probability per label for multilabel targets).

        {parameters}

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]`` (of label j for multilabel targets).
        """
        return np.exp(self._log_proba(self._scores(X)))

    @available_if(_has_proba)
    @document(PREDICT)
    def predict_log_proba(self, X):
        """log(predict_proba(X)), taken from the log domain where a probability underflows to 0.

        {parameters}

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The logarithms of ``predict_proba(X)``, finite where a probability underflows.
        """
        lp = self._log_proba(self._scores(X))
        p = np.exp(lp)
        with np.errstate(divide="ignore"):
            out = np.log(p)
        return np.where(p > 0, out, lp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self.loss in (LOG_LOSS, "sigmoid")
        return tags


REGRESSION_LOSSES = {"squared_error": HalfSquaredError, "poisson": HalfPoissonDeviance, **registry.REGRESSION_LOSSES}


class RegressorNetwork(RegressorMixin, NetworkEstimator):
    """Regressor: targets (N,) or (N, K); predictions in the network's dtype."""

    _fitted_attributes = NetworkEstimator._fitted_attributes + ("_single_output", "n_outputs_", "out_activation_")
    _task = "regression"

    def _encode_fit_targets(self, y, first, classes=None, incremental=False):
        loss = registry.choose("loss", REGRESSION_LOSSES, self.loss)()
        y = np.asarray(y)
        if first or not hasattr(self, "_single_output"):
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError("y must keep the number of outputs of the first fit")
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        targets, _ = self._validation_targets(y)
        return loss, targets, None, targets.shape[1], None, None

    def _validation_targets(self, y):
        y = np.asarray(y)
        return y.reshape(y.shape[0], -1).astype(self._dtype), None

    def _stratify_by(self, y):
        return None

    def _after_fit(self):
        self.n_outputs_ = int(self._output_size())
        self.out_activation_ = "exp" if self.loss == "poisson" else "identity"

    @available_if(has_stochastic_solver)
    @document(FIT)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights and optimizer state
        (stochastic solvers only, as in scikit-learn).

        {parameters}

        Returns
        -------
        self : estimator
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _outputs_from_scores(self, s):
        if self.loss == "poisson":
            with np.errstate(over="ignore"):
                s = np.exp(s)
        return s[:, 0] if self._single_output else s

    def _score_from_scores(self, scores, y, sample_weight=None) -> float:
        return float(r2_score(y, self._outputs_from_scores(scores), sample_weight=sample_weight))

    @document(PREDICT)
    def predict(self, X):
        """Predictions in the network's dtype, or the input's when that is wider (scikit-learn's
        NumPy promotion: a float32 network predicts float64 for float64 input).

        {parameters}

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output, as y at fit ((n_samples,) for a 1-D y).
        """
        out = self._outputs_from_scores(self._scores(X))
        dt = getattr(X, "dtype", None)
        wider = np.result_type(dt if dt is not None and np.dtype(dt).kind == "f" else np.float64, out.dtype)
        return out.astype(wider, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
