"""A convolutional network classifier with scikit-learn's API: ``CNNClassifier``.

It is ``MLPClassifier``'s machinery (``NetworkEstimator`` and ``NetworkClassifier``: solvers,
schedules, early stopping, validation, class weights, checkpoints, ``partial_fit``) with a network
on images instead of a stack of linear layers. What it adds is how X becomes images and which
network it builds:

- X is (N, H, W) (one channel), (N, C, H, W) (PyTorch's layout), or flat rows (N, D) together
  with ``image_shape=(C, H, W)`` or ``(H, W)`` (one entry may be -1: the rest of the row, as in
  ``numpy.reshape``). A flat row is read in C order: channel after channel, row after row.
  Whatever the input, ``n_features_in_`` is C H W (the values of one image) and ``image_shape_``
  is (C, H, W); predictions take any of the three forms of the fitted shape.
- ``architecture="lenet"`` (``architectures.lenet``: two 3 x 3 convolutions with 2 x 2 max
  pooling, then two linear layers) or ``"resnet"`` (``architectures.resnet``: three stages of
  basic residual blocks with batch norm and stochastic depth under the linear decay rule, with
  ``width``, ``blocks_per_stage``, ``p_last`` and ``stochastic_depth_mode``).

The defaults differ from the MLP's where images ask for it: ``dtype='float32'`` (a convolution in
float64 costs twice the time and buys nothing at this scale), Adam at ``learning_rate_init=0.0015``
with ``batch_size=64`` and ``lr_schedule='cosine'`` (the step falls to 0 over ``max_iter=5``
epochs), and ``alpha=0``. With them the lenet reaches >= 0.985 test accuracy on the MNIST split
(8,000 training images) in 5 epochs for seeds 0 to 4 (tests/models/test_cnn_accuracy.py).
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import validate_data

from .. import architectures, registry
from .._helpers.validation import check_int, check_number
from ._docs import CLASSIFIERS, CNN, COMMON, SKLEARN, document
from ._estimator import NetworkEstimator, store_params
from ._settings import params, resolve
from ._tasks import NetworkClassifier

ARCHITECTURES = ("lenet", "resnet")
DEPTH_MODES = ("row", "batch")


def resolve_image_shape(value, n_values: int | None = None) -> tuple[int, int, int]:
    """``image_shape`` as (C, H, W): (H, W) means one channel; one -1 takes what ``n_values`` leaves."""
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if items is None or len(items) not in (2, 3) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and (v >= 1 or v == -1) for v in items) \
            or sum(v == -1 for v in items) > 1:
        raise ValueError(f"image_shape must be (C, H, W) or (H, W) of positive integers (one may be -1); "
                         f"got {value!r}")
    shape = tuple(int(v) for v in ((1,) + items if len(items) == 2 else items))
    if -1 in shape:
        if n_values is None:
            raise ValueError(f"image_shape {value!r} has a -1, which only flat rows (N, D) can resolve")
        known = -math.prod(shape)
        if n_values % known:
            raise ValueError(f"image_shape {value!r} cannot hold rows of {n_values} values: {n_values} is not a "
                             f"multiple of {known}")
        shape = tuple(n_values // known if v == -1 else v for v in shape)
    return shape


@document(CNN, SKLEARN, CLASSIFIERS, COMMON)
class CNNClassifier(NetworkClassifier, NetworkEstimator):
    """A convolutional network classifier (lenet or a small ResNet) with scikit-learn's API.

    ``MLPClassifier``'s training parameters with their meanings, defaults chosen for images (see
    the module docstring), and the network's own. Fitted: ``model_`` (the ``Sequential``; its
    ``state_dict`` has PyTorch's names and layouts), ``image_shape_`` (C, H, W), ``classes_``,
    ``n_features_in_`` (C H W), ``history_``, ``loss_curve_``, ``loss_``, ``n_iter_``, ``t_``,
    ``validation_scores_``, ``best_validation_score_``, ``best_loss_``, ``n_outputs_``,
    ``out_activation_``.

    {parameters}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(image_shape=(8, 8), max_iter=10, batch_size=32, random_state=0)
    >>> clf = clf.fit(X[:1000] / 16, y[:1000])
    >>> clf.image_shape_, clf.score(X[1000:] / 16, y[1000:]) > 0.9
    ((1, 8, 8), True)
    """

    _fitted_attributes = NetworkEstimator._fitted_attributes + NetworkClassifier.FITTED + ("image_shape_",)

    def __init__(self, architecture="lenet", *, image_shape=None, width=16, blocks_per_stage=3, p_last=0.5,
                 stochastic_depth_mode="row", solver="adam", alpha=0.0, batch_size=64, learning_rate="constant",
                 learning_rate_init=0.0015, power_t=0.5, max_iter=5, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 loss="log_loss", penalty="l2", beta=0.5, max_norm=3.0, penalize_bias=False, lr_schedule="cosine",
                 class_weight=None, dtype="float32", checkpoint=None, n_threads="auto"):
        store_params(self, locals())

    # -- images ---------------------------------------------------------------------------------
    def _rows_and_shape(self, X, reset: bool):
        """(X as flat rows (N, C H W) or untouched when it is not an array of images, its (C, H, W))."""
        name = type(self).__name__
        if hasattr(X, "tocsr") or hasattr(X, "iloc") or hasattr(X, "__dataframe__"):
            ndim = 2
        elif isinstance(X, np.ndarray):
            ndim = X.ndim
        else:                              # lists, array-likes with only __array__
            try:
                X = np.asarray(X)
            except (ValueError, TypeError):    # ragged nested lists: validate_data says what is wrong
                return X, None
            ndim = X.ndim
        if ndim == 2:
            if reset:
                if self.image_shape is None:
                    raise ValueError(f"{name}: X is flat rows of shape {X.shape}; pass image_shape=(C, H, W) or "
                                     "(H, W) to say how a row is an image, or give X as (N, H, W) or (N, C, H, W)")
                return X, resolve_image_shape(self.image_shape, X.shape[1])
            return X, getattr(self, "image_shape_", None)
        if ndim not in (3, 4):
            return X, None                 # validate_data refuses it with scikit-learn's message
        X = np.asarray(X)
        if X.shape[0] == 0:                # scikit-learn's words, with the shape as given
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required by "
                             f"{name}: give at least one image")
        shape = (1,) + X.shape[1:] if ndim == 3 else X.shape[1:]
        if reset and self.image_shape is not None and resolve_image_shape(self.image_shape, math.prod(shape)) != shape:
            raise ValueError(f"{name}: image_shape is {tuple(self.image_shape)} (C, H, W) = "
                             f"{resolve_image_shape(self.image_shape, math.prod(shape))}, but X holds images of "
                             f"shape {shape} (X has shape {X.shape})")
        if not reset and hasattr(self, "image_shape_") and shape != tuple(self.image_shape_):
            raise ValueError(f"X must hold images of shape (C, H, W) = {tuple(self.image_shape_)} as at fit "
                             f"((N, C, H, W), (N, H, W) for one channel, or flat rows); got X of shape {X.shape}")
        return X.reshape(X.shape[0], -1), shape

    def _check_X_y(self, X, y, reset: bool):
        X, shape = self._rows_and_shape(X, reset)
        n_values = None if shape is None else math.prod(shape)
        X, y = super()._check_X_y(X, y, reset)
        if reset:
            if n_values is not None and X.shape[1] != n_values:        # e.g. a DataFrame
                raise ValueError(f"image_shape {tuple(self.image_shape)} holds {n_values} values per image; X has "
                                 f"rows of {X.shape[1]}")
            self.image_shape_ = shape
        return X.reshape((X.shape[0],) + tuple(self.image_shape_)), y

    def _model_input(self, X):
        X, _ = self._rows_and_shape(X, reset=False)
        X = validate_data(self, X, reset=False, dtype=getattr(self, "_dtype", np.float32), accept_sparse=False)
        return X.reshape((X.shape[0],) + tuple(self.image_shape_))

    def _input_size(self, X):
        return tuple(X.shape[1:])

    def _network_input_shape(self) -> tuple:
        """One image as the network takes it: (C, H, W)."""
        return tuple(int(v) for v in self.image_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # -- the network ----------------------------------------------------------------------------
    def _settings(self, X, sample_weight):
        return resolve(type(self).__name__, params(self), alpha_per_batch=True)

    def _build_network(self, n_in, n_out, rng):
        c, h, w = n_in
        arch = registry.choose("architecture", {a: a for a in ARCHITECTURES}, self.architecture)
        if arch == "lenet":
            if h < 4 or w < 4:
                raise ValueError(f"{type(self).__name__}(architecture='lenet') needs images of at least 4 x 4 "
                                 f"pixels (two 2 x 2 poolings); got image_shape (C, H, W) = {n_in}")
            return architectures.lenet(c, n_out, (h, w), rng=rng, dtype=self._dtype)
        mode = registry.choose("stochastic_depth_mode", {m: m for m in DEPTH_MODES}, self.stochastic_depth_mode)
        p_last = check_number("p_last", self.p_last, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
        return architectures.resnet(c, n_out, width=check_int("width", self.width),
                                    blocks_per_stage=check_int("blocks_per_stage", self.blocks_per_stage),
                                    p_last=p_last, mode=mode, rng=rng, dtype=self._dtype)
