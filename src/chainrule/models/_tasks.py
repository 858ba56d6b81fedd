"""Classifiers and regressors: what y is at fit (``_targets``), ``partial_fit``, and what the network's
outputs become for the user (``predict``, ``decision_function``, ``predict_proba``...).

``NetworkClassifier`` takes any label type (``classes_``), multilabel 0/1 targets (with
'log_loss' or 'sigmoid'), ``class_weight`` ('balanced' or a dict label -> weight);
``NetworkRegressor`` takes targets (N,) or (N, K). Each builds the ``Labels`` or ``Values`` of
``_targets.py`` from its parameters and fitted attributes. An estimator lists one of them next to
``NetworkEstimator`` (the fit path) as its bases.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from .. import registry
from ._docs import FIT, PREDICT, document
from ._settings import has_stochastic_solver
from ._targets import LOG_LOSS, REGRESSION_LOSSES, Labels, Values


def _has_proba(est) -> bool:
    return est.loss == LOG_LOSS or registry.classification_loss(est.loss).proba is not None


class NetworkClassifier(ClassifierMixin):
    """A classifier's targets, partial fits and predictions (see the module docstring)."""

    #: fitted attributes of a classifier, besides NetworkEstimator's
    FITTED = ("classes_", "_multilabel", "_label_dtype")
    _multilabel = False
    _label_dtype = None

    def _labels(self) -> Labels:
        return Labels(self.classes_, self.loss, self._dtype, bool(self._multilabel), self._label_dtype)

    def _define_classes(self, y, multilabel: bool) -> None:
        self._multilabel = multilabel
        self._label_dtype = np.asarray(y).dtype.type if multilabel else None
        self.classes_ = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if self.loss != LOG_LOSS and not multilabel and self.classes_.size < 2:
            registry.classification_loss(self.loss)
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to train; "
                             f"got only one class ({self.classes_[0]!r})" if self.classes_.size else "got no class")

    def _targets(self, y, continuing: bool, incremental: bool):
        """(Labels, y as a vector or 0/1 matrix, the class weights of its rows or None); a first fit
        (neither a warm start nor a partial fit) defines ``classes_``."""
        if self.loss != LOG_LOSS:
            registry.classification_loss(self.loss)
        y = np.asarray(y)
        multilabel = type_of_target(y).startswith("multilabel")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not multilabel:
            check_classification_targets(y)
        if not hasattr(self, "classes_") or not (self.warm_start or incremental):
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
        return self._labels(), y, self._class_weights(y)

    def _class_weights(self, y):
        cw = self.class_weight
        if cw is None:
            return None
        if self._multilabel:
            raise ValueError("class_weight applies to single-label targets; y is multilabel")
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be 'balanced', a dict or None; got {cw!r}")
            present = np.unique(y)
            lookup = dict(zip(present.tolist(), compute_class_weight("balanced", classes=present, y=y)))
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
        return self._fit(X, y, sample_weight, incremental=True)

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
        scores = self._scores(X)
        return self._labels().predict(scores)

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
        scores = self._scores(X)
        return np.exp(self._labels().log_proba(scores))

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
        scores = self._scores(X)
        lp = self._labels().log_proba(scores)
        p = np.exp(lp)
        with np.errstate(divide="ignore"):
            out = np.log(p)
        return np.where(p > 0, out, lp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self.loss in (LOG_LOSS, "sigmoid")
        return tags


class NetworkRegressor(RegressorMixin):
    """A regressor's targets, partial fits and predictions: targets (N,) or (N, K); predictions in
    the network's dtype."""

    FITTED = ("_single_output",)

    def _targets(self, y, continuing: bool, incremental: bool):
        """(Values, y, None): the number of outputs is fixed by the first fit."""
        registry.choose("loss", REGRESSION_LOSSES, self.loss)
        y = np.asarray(y)
        if not continuing or not hasattr(self, "_single_output"):
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError("y must keep the number of outputs of the first fit")
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return Values(self._single_output, self.loss, self._dtype, 1 if y.ndim == 1 else y.shape[1]), y, None

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
        return self._fit(X, y, sample_weight, incremental=True)

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
        scores = self._scores(X)
        out = Values(self._single_output, self.loss, self._dtype).predict(scores)
        dt = getattr(X, "dtype", None)
        wider = np.result_type(dt if dt is not None and np.dtype(dt).kind == "f" else np.float64, out.dtype)
        return out.astype(wider, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
