"""What y becomes for the loss, and what the network's outputs become for the user.

``Labels`` (classification) and ``Values`` (regression) are fixed descriptions of a fit's
targets: ``encode(y)`` gives the loss's targets and the labels the running accuracy compares
with, ``loss()`` the data loss, ``score(scores, y)`` scikit-learn's score of the network's
outputs (accuracy, or R^2), ``predict(scores)`` what ``predict`` returns. An estimator builds one
from its parameters and fitted attributes, at fit and at prediction alike.

``loss='log_loss'`` (the MLPs' default) is scikit-learn's: one sigmoid output for two classes
(or one), a softmax over the classes otherwise, and one sigmoid per label for multilabel
targets (a 2-D 0/1 y). The notes' losses ('softmax', 'softmax_cross_entropy', 'hinge',
'sigmoid') keep their own output layouts (``registry.CLASSIFICATION_LOSSES``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import column_or_1d

from .. import losses, registry
from ..losses import HalfPoissonDeviance, HalfSquaredError
from ..losses._stable import log_sigmoid, logsumexp

LOG_LOSS = "log_loss"
REGRESSION_LOSSES = {"squared_error": HalfSquaredError, "poisson": HalfPoissonDeviance, **registry.REGRESSION_LOSSES}


@dataclass(frozen=True, eq=False)
class Labels:
    """Class labels: ``classes`` (sorted; for multilabel targets the column indices), the ``loss``
    name, the network's ``dtype``, and for multilabel targets the dtype of y's 0/1 entries."""

    classes: np.ndarray
    loss: str
    dtype: type
    multilabel: bool = False
    label_dtype: type | None = None
    kind = "classification"

    @property
    def layout(self) -> str:
        """'multilabel', 'one' (one output: s > 0 is the second class), 'sign' (one hinge score)
        or 'index' (one output per class)."""
        if self.multilabel:
            return "multilabel"
        if self.loss == LOG_LOSS:
            return "one" if self.classes.size <= 2 else "index"
        spec = registry.classification_loss(self.loss)
        if self.classes.size == 2 and spec.single_output_binary:
            return "sign" if spec.binary_target == "sign" else "one"
        return "index"

    @property
    def n_outputs(self) -> int:
        return self.classes.size if self.layout in ("index", "multilabel") else 1

    @property
    def out_activation(self) -> str:
        """scikit-learn's name of the output function: 'softmax', 'logistic' or 'identity'."""
        if self.loss in (LOG_LOSS, "sigmoid"):
            return "softmax" if (self.loss == LOG_LOSS and self.layout == "index") else "logistic"
        return "identity" if self.loss == "hinge" else "softmax"

    def data_loss(self):
        """The loss of this layout (a new object)."""
        layout = self.layout
        if self.loss == LOG_LOSS:
            return losses.SoftmaxLogLikelihood() if layout == "index" else losses.SigmoidCrossEntropy()
        spec = registry.classification_loss(self.loss)
        if layout == "multilabel":
            if self.loss != "sigmoid":
                raise ValueError(f"multilabel targets (a 2-D y of 0/1) need loss='log_loss' or 'sigmoid'; got "
                                 f"loss={self.loss!r}")
            return losses.SigmoidCrossEntropy()
        return (spec.binary if layout in ("one", "sign") else spec.multiclass)()

    def encode(self, y):
        """(the loss's targets, the labels the accuracy compares with) of y."""
        if self.multilabel:
            Y = np.asarray(y)
            if Y.ndim != 2 or Y.shape[1] != self.classes.size or not np.isin(Y, (0, 1)).all():
                raise ValueError(f"y must be a 0/1 matrix with {self.classes.size} columns (the labels of the first "
                                 f"fit); got shape {Y.shape}")
            return Y.astype(self.dtype), Y
        y = column_or_1d(y)
        unseen = np.setdiff1d(np.unique(y), self.classes)
        if unseen.size:
            raise ValueError(f"y contains labels that are not classes: {unseen.tolist()}")
        idx = np.searchsorted(self.classes, y).astype(np.intp)
        layout = self.layout
        if layout == "sign":
            return (2 * idx - 1).astype(self.dtype), idx
        if layout == "one":
            return idx.astype(self.dtype).reshape(-1, 1), idx
        return idx, idx

    def stratify(self, y):
        """What scikit-learn stratifies its early-stopping split on: the binarised labels."""
        if self.multilabel:
            return None
        idx = np.searchsorted(self.classes, column_or_1d(y))
        if self.classes.size <= 2:
            return (idx == 1).reshape(-1, 1)
        return np.eye(self.classes.size, dtype=bool)[idx]

    def predict(self, s):
        """The labels of the scores s."""
        if self.multilabel:
            return (s > 0).astype(self.label_dtype or np.int64)
        if s.ndim == 1 or s.shape[1] == 1:
            idx = (s.reshape(s.shape[0], -1)[:, 0] > 0).astype(np.intp)
            return self.classes[np.minimum(idx, self.classes.size - 1)]
        return self.classes[s.argmax(axis=1)]

    def score(self, s, y, sample_weight=None) -> float:
        """The accuracy of the scores s on y (subset accuracy for multilabel targets)."""
        return float(accuracy_score(y, self.predict(s), sample_weight=sample_weight))

    def log_proba(self, s):
        """Log-probabilities computed in the log domain (finite where the probability underflows)."""
        s = s.astype(np.float64)
        if self.multilabel:
            return log_sigmoid(s)
        if s.shape[1] == 1:   # one sigmoid neuron: P(class 1) = sigma(s), P(class 0) = sigma(-s)
            if self.classes.size == 1:
                return np.zeros((s.shape[0], 1))
            return np.column_stack([log_sigmoid(-s[:, 0]), log_sigmoid(s[:, 0])])
        if self.loss == LOG_LOSS or registry.classification_loss(self.loss).proba == "softmax":
            return s - logsumexp(s)[:, None]
        ls = log_sigmoid(s)  # one sigmoid per class, normalised (one-vs-rest)
        return ls - logsumexp(ls)[:, None]


@dataclass(frozen=True, eq=False)
class Values:
    """Real targets: one output (y of shape (N,)) or more; the ``loss`` name, the network's ``dtype``
    and, at fit, the number of outputs."""

    single_output: bool
    loss: str
    dtype: type
    n_outputs: int | None = None
    kind = "regression"

    @property
    def out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def data_loss(self):
        return registry.choose("loss", REGRESSION_LOSSES, self.loss)()

    def encode(self, y):
        """(the loss's targets (N, K), None): regression has no labels."""
        y = np.asarray(y)
        return y.reshape(y.shape[0], -1).astype(self.dtype), None

    def stratify(self, y):
        return None

    def predict(self, s):
        """The predictions of the scores s (exp(s) for the Poisson loss's log link)."""
        if self.loss == "poisson":
            with np.errstate(over="ignore"):
                s = np.exp(s)
        return s[:, 0] if self.single_output else s

    def score(self, s, y, sample_weight=None) -> float:
        return float(r2_score(y, self.predict(s), sample_weight=sample_weight))
