"""Classification and regression on top of NetworkEstimator: target encoding and predictions."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .. import registry
from ..losses._stable import log_sigmoid, logsumexp
from ._network import NetworkEstimator


def _has_proba(est) -> bool:
    return registry.classification_loss(est.loss).proba is not None


class ClassifierNetwork(ClassifierMixin, NetworkEstimator):
    """Classifier: any label type (``classes_``), ``decision_function``, ``predict_proba`` for the
    probabilistic losses, ``class_weight`` ('balanced' or a dict label -> weight)."""

    _fitted_attributes = NetworkEstimator._fitted_attributes + ("classes_",)
    _task = "classification"

    def _encode_fit_targets(self, y, first, classes=None):
        check_classification_targets(y)
        spec = registry.classification_loss(self.loss)
        if first:
            cls = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if cls.size < 2:
                raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to train; "
                                 f"got only one class ({cls[0]!r})" if cls.size else "got no class")
            self.classes_ = cls
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(f"y contains labels not seen at the first fit: {unseen.tolist()}; "
                                 f"classes are {self.classes_.tolist()}")
        if classes is not None and not first:
            if not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError("classes must be the same in every partial_fit call")
        n_classes = self.classes_.size
        single = n_classes == 2 and spec.single_output_binary
        loss = (spec.binary if single else spec.multiclass)()
        targets, idx = self._validation_targets(y)
        return loss, targets, idx, 1 if single else n_classes, self._sample_weights(y)

    def _validation_targets(self, y):
        """(loss targets, class indices) of labels y, encoded as for training."""
        y = column_or_1d(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y contains labels that are not classes: {unseen.tolist()}")
        idx = np.searchsorted(self.classes_, y).astype(np.intp)
        spec = registry.classification_loss(self.loss)
        single = self.classes_.size == 2 and spec.single_output_binary
        if single and spec.binary_target == "sign":
            return (2 * idx - 1).astype(self._dtype), idx
        if single:
            return idx.astype(self._dtype).reshape(-1, 1), idx
        return idx, idx

    def _sample_weights(self, y):
        cw = self.class_weight
        if cw is None:
            return None
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
        return np.array([lookup.get(v, 1.0) for v in y.tolist()], dtype=np.float64)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        The first call needs ``classes`` (every label that will ever appear).
        """
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be given at the first call to partial_fit")
        return self._fit(X, y, epochs=1, incremental=True, classes=classes)

    # -- predictions ----------------------------------------------------------------------------
    def decision_function(self, X):
        """Scores s = f(x): shape (N,) for two classes (positive favours ``classes_[1]``), else (N, C)."""
        s = self._scores(X)
        if s.shape[1] == 1:
            return s[:, 0]
        if s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    def predict(self, X):
        s = self._scores(X)
        idx = (s[:, 0] > 0).astype(np.intp) if s.shape[1] == 1 else s.argmax(axis=1)
        return self.classes_[idx]

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log-probabilities, computed in the log domain (no log of 0)."""
        s = self._scores(X).astype(np.float64)
        spec = registry.classification_loss(self.loss)
        if spec.proba == "softmax":
            return s - logsumexp(s)[:, None]
        if s.shape[1] == 1:   # one sigmoid neuron: P(class 1) = sigma(s), P(class 0) = sigma(-s)
            return np.column_stack([log_sigmoid(-s[:, 0]), log_sigmoid(s[:, 0])])
        ls = log_sigmoid(s)  # one sigmoid per class, normalised (one-vs-rest)
        return ls - logsumexp(ls)[:, None]

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (rows sum to 1): the softmax of the scores, or the sigmoid
        neurons' outputs (normalised over the classes when there are more than two)."""
        return np.exp(self.predict_log_proba(X))


class RegressorNetwork(RegressorMixin, NetworkEstimator):
    """Regressor: targets (N,) or (N, K); predictions are float64."""

    _fitted_attributes = NetworkEstimator._fitted_attributes + ("_single_output",)
    _task = "regression"

    def _encode_fit_targets(self, y, first, classes=None):
        y = np.asarray(y)
        if first:
            self._single_output = y.ndim == 1
        elif (y.ndim == 1) != self._single_output:
            raise ValueError("y must keep the number of outputs of the first fit")
        targets, _ = self._validation_targets(y)
        return registry.regression_loss(self.loss), targets, None, targets.shape[1], None

    def _validation_targets(self, y):
        y = np.asarray(y)
        return y.reshape(y.shape[0], -1).astype(self._dtype), None

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights and optimizer state."""
        return self._fit(X, y, epochs=1, incremental=True)

    def predict(self, X):
        check_is_fitted(self, "model_")
        s = self._scores(X).astype(np.float64)
        return s[:, 0] if self._single_output else s

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
