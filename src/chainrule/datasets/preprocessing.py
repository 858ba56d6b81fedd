"""Preprocessing fitted on training data only, then applied unchanged to validation and test data.

Each step is a scikit-learn transformer (``fit`` on the training images, ``transform`` anything
else), so they chain with ``sklearn.pipeline.make_pipeline`` and save with ``chainrule.io``.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..training.batching import random_split, stratified_split


def _as_batch(X, name="X") -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "uif" or X.dtype.kind == "b":
        raise TypeError(f"{name} must hold numbers; got dtype {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"{name} must be a batch of shape (N, ...); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one sample; got 0")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"{name} must be finite; it contains NaN or infinity")
    return X


def mean_and_scale(X):
    """(mean, standard deviation) per feature in float64, with a spread of 0 replaced by 1 so that
    constant features are only centred: the one standardiser (Standardize, PolynomialRegression)."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


class _ImageStep(TransformerMixin, BaseEstimator):
    """fit checks the batch, records the sample shape and calls ``_learn``; transform checks the
    batch against that shape and calls ``_apply``."""

    def _learn(self, X) -> None:
        """Learn the statistics of the training batch X (nothing by default)."""

    def _apply(self, X) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        """Check the training batch, learn its statistics and record the shape of one sample.

        Parameters
        ----------
        X : array_like of shape (N, ...)
            The training samples (images or feature vectors), numbers, finite.
        y : None
            Ignored (scikit-learn's transformer interface).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        TypeError
            If ``X`` does not hold numbers.
        ValueError
            If ``X`` is not a non-empty finite batch.
        """
        X = _as_batch(X)
        self._learn(X)
        self.sample_shape_ = np.array(X.shape[1:])
        return self

    def transform(self, X):
        """Apply the step, with the statistics learnt by ``fit``, to samples of the fitted shape.

        Parameters
        ----------
        X : array_like of shape (N, ...)
            Samples of the shape seen by ``fit``.

        Returns
        -------
        ndarray
            The transformed batch (float32, except ``Flatten`` which keeps the dtype).

        Raises
        ------
        ValueError
            If the samples' shape differs from the fitted one.
        sklearn.exceptions.NotFittedError
            If ``fit`` was not called.
        """
        check_is_fitted(self, "sample_shape_")
        X = _as_batch(X)
        fitted = tuple(int(v) for v in self.sample_shape_)
        if tuple(X.shape[1:]) != fitted:
            raise ValueError(f"{type(self).__name__} was fitted on samples of shape {fitted}; got {tuple(X.shape[1:])}")
        return self._apply(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class ScaleToUnit(_ImageStep):
    """x / max_value, as float32 in [0, 1].

    Parameters
    ----------
    max_value : float, optional
        The value mapped to 1; None takes the training data's largest value (255 for MNIST and
        CIFAR, 16 for the bundled digits).
    """

    _fitted_attributes = ("scale_", "sample_shape_")

    def __init__(self, max_value=None):
        self.max_value = max_value

    def _learn(self, X):
        m = float(X.max()) if self.max_value is None else float(self.max_value)
        if not m > 0:
            raise ValueError(f"max_value must be > 0; got {m}")
        self.scale_ = np.array(m, dtype=np.float64)

    def _apply(self, X):
        return (X / self.scale_).astype(np.float32)


class Standardize(_ImageStep):
    """(x - mean) / std per feature (per pixel), with the training data's statistics; features
    with no spread are only centred."""

    _fitted_attributes = ("mean_", "scale_", "sample_shape_")

    def __init__(self):
        pass

    def _learn(self, X):
        self.mean_, self.scale_ = mean_and_scale(X)

    def _apply(self, X):
        return ((X - self.mean_) / self.scale_).astype(np.float32)


class SubtractMeanImage(_ImageStep):
    """x - (the mean training image): the notes' centring of images."""

    _fitted_attributes = ("mean_", "sample_shape_")

    def __init__(self):
        pass

    def _learn(self, X):
        self.mean_ = X.astype(np.float64).mean(axis=0)

    def _apply(self, X):
        return (X - self.mean_).astype(np.float32)


class Flatten(_ImageStep):
    """(N, H, W[, C]) -> (N, H*W*C), in C order (rows, then columns, then channels)."""

    _fitted_attributes = ("sample_shape_",)

    def __init__(self):
        pass

    def _apply(self, X):
        return X.reshape(X.shape[0], -1)


class ChannelsFirst(_ImageStep):
    """(N, H, W, C) -> (N, C, H, W) and (N, H, W) -> (N, 1, H, W): the data sets' images in the
    layout of the convolution layers (PyTorch's), for ``CNNClassifier``."""

    _fitted_attributes = ("sample_shape_",)

    def __init__(self):
        pass

    def _apply(self, X):
        return X[:, None] if X.ndim == 3 else np.ascontiguousarray(np.moveaxis(X, -1, 1))


def train_validation_split(X, y, validation_fraction: float = 0.1, random_state=0, stratify: bool = True):
    """A seeded split of (X, y) into training and validation parts, stratified by class by default.

    Parameters
    ----------
    X : array_like
        The samples.
    y : array_like of shape (N,)
        Their labels (or regression targets, with ``stratify=False``).
    validation_fraction : float in (0, 1), default 0.1
        The share held out for validation.
    random_state : int, default 0
        Seeds the split.
    stratify : bool, default True
        Hold out about the same share of every class.

    Returns
    -------
    X_train, X_val, y_train, y_val : ndarray

    Raises
    ------
    ValueError
        If X and y have different numbers of samples, or the fraction is not in (0, 1).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples; got {X.shape[0]} and {y.shape[0]}")
    rng = np.random.default_rng(random_state)
    tr, va = stratified_split(y, validation_fraction, rng) if stratify else random_split(len(y), validation_fraction, rng)
    return X[tr], X[va], y[tr], y[va]
