"""Hand-crafted image features (the notes' 'feature descriptor + classifier'): HOG and a hue
histogram. HOG is scikit-image's.

Sizes are checked before any work, because a model file can carry them: ``resize_to`` is at most
``MAX_SIDE`` x ``MAX_SIDE`` (1024 x 1024) pixels and one image's HOG vector at most
``MAX_FEATURES`` (2^20) numbers, so a hostile setting such as ``resize_to=(40000, 40000)`` is
refused with a clear error at construction, fit and transform instead of asking for gigabytes.
Images are resized one at a time, so memory is one resized image plus the output.
"""
from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

MAX_SIDE = 1024               # the largest image side resize_to may ask for
MAX_FEATURES = 1 << 20        # the most HOG numbers per image (4 MiB in float32)
MAX_ORIENTATIONS = 360
MAX_HUE_BINS = 360


def _images(X, image_shape=None, name="X"):
    X = np.asarray(X)
    if X.dtype.kind not in "uif":
        raise TypeError(f"{name} must hold pixel values; got dtype {X.dtype}")
    if image_shape is not None and X.ndim == 2:
        shape = tuple(image_shape)
        if X.shape[1] != int(np.prod(shape)):
            raise ValueError(f"{name} rows have {X.shape[1]} values; image_shape {shape} needs {int(np.prod(shape))}")
        X = X.reshape((X.shape[0],) + shape)
    if X.ndim not in (3, 4):
        raise ValueError(f"{name} must be images (N, H, W) or (N, H, W, 3), or flat rows with image_shape; got {X.shape}")
    return X


def _is_int(v, low: int, high: int) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool) and low <= v <= high


def _pair(value, name: str, high: int, what: str):
    if not (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2 and all(_is_int(v, 1, high) for v in value)):
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return int(value[0]), int(value[1])


def check_hog_settings(orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2), resize_to=None,
                       hue_bins=0) -> None:
    """Raise ``ValueError`` naming the first setting outside its documented range."""
    if not _is_int(orientations, 1, MAX_ORIENTATIONS):
        raise ValueError(f"orientations must be an integer from 1 to {MAX_ORIENTATIONS}; got {orientations!r}")
    _pair(pixels_per_cell, "pixels_per_cell", MAX_SIDE, f"(rows, columns), positive integers up to {MAX_SIDE}")
    _pair(cells_per_block, "cells_per_block", MAX_SIDE, f"(rows, columns), positive integers up to {MAX_SIDE}")
    if resize_to is not None:
        _pair(resize_to, "resize_to", MAX_SIDE,
              f"None or (height, width) with each side an integer from 1 to {MAX_SIDE}")
    if not _is_int(hue_bins, 0, MAX_HUE_BINS):
        raise ValueError(f"hue_bins must be an integer from 0 to {MAX_HUE_BINS}; got {hue_bins!r}")


def hog_size(height: int, width: int, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2)) -> int:
    """How many numbers scikit-image's ``hog`` returns for one image of ``height`` x ``width``."""
    rows, cols = height // pixels_per_cell[0], width // pixels_per_cell[1]
    blocks = max(rows - cells_per_block[0] + 1, 0) * max(cols - cells_per_block[1] + 1, 0)
    return blocks * cells_per_block[0] * cells_per_block[1] * orientations


def check_hog_size(height: int, width: int, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2)) -> int:
    """``hog_size``, refused with ``ValueError`` above ``MAX_FEATURES``."""
    size = hog_size(height, width, orientations, pixels_per_cell, cells_per_block)
    if size > MAX_FEATURES:
        raise ValueError(f"one image's HOG vector must have at most {MAX_FEATURES:,} numbers; got {size:,} "
                         f"({height} x {width} pixels, cells {tuple(pixels_per_cell)}, blocks "
                         f"{tuple(cells_per_block)}, {orientations} orientations)")
    return size


def hog_features(images, orientations: int = 9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                 resize_to=None) -> np.ndarray:
    """Histogram of oriented gradients of each image (scikit-image's ``hog``), one row per image.

    Tiny images such as the 8 x 8 digits have too few pixels for gradients: resized to 24 x 24,
    with cells of 6 x 6 and blocks of 2 x 2 cells, HOG plus a linear classifier reaches about 0.98
    on them. One image gives at most ``MAX_FEATURES`` numbers; settings and sizes are checked
    before any work. scikit-image computes HOG one image at a time, so this is the one place that
    loops over images; it is feature extraction, not the training hot path.

    Parameters
    ----------
    images : array_like
        Grey images (N, H, W) or colour images (N, H, W, 3).
    orientations : int, default 9
        The number of gradient-direction bins (1 to 360).
    pixels_per_cell : tuple of int, default (4, 4)
        (rows, columns) of a cell.
    cells_per_block : tuple of int, default (2, 2)
        (rows, columns) of cells in a normalisation block.
    resize_to : tuple of int, optional
        (H, W) to resize the images to first (bilinear, scikit-image's ``resize``); sides at most
        ``MAX_SIDE`` (1024).

    Returns
    -------
    ndarray of float32, shape (N, n_features)

    Raises
    ------
    ValueError
        If a setting is outside its range, or one image would give more than ``MAX_FEATURES``
        numbers.
    """
    from skimage.feature import hog

    check_hog_settings(orientations, pixels_per_cell, cells_per_block, resize_to)
    images = _images(images)
    height, width = tuple(resize_to) if resize_to is not None else images.shape[1:3]
    check_hog_size(height, width, orientations, pixels_per_cell, cells_per_block)
    kw = dict(orientations=orientations, pixels_per_cell=tuple(pixels_per_cell),
              cells_per_block=tuple(cells_per_block), feature_vector=True,
              channel_axis=-1 if images.ndim == 4 else None)
    if resize_to is not None:
        from skimage.transform import resize
        peak = 255.0 if images.dtype == np.uint8 else float(max(images.max(), 1e-12))
        target = (height, width) + images.shape[3:]

        def image(i):
            return resize(images[i].astype(np.float64) / peak, target, order=1, anti_aliasing=False)
    else:
        def image(i):
            return images[i].astype(np.float64)
    first = hog(image(0), **kw)
    out = np.empty((images.shape[0], first.size), dtype=np.float32)
    out[0] = first
    for i in range(1, images.shape[0]):
        out[i] = hog(image(i), **kw)
    return out


def hue_histogram(images, bins: int = 12, saturation_weighted: bool = True) -> np.ndarray:
    """Normalised histogram of each colour image's hue (HSV), vectorised over all images.

    Weighted by saturation by default, so that grey pixels, whose hue means nothing, count little.

    Parameters
    ----------
    images : array_like of shape (N, H, W, 3)
        Colour images, uint8 (0-255) or floats in [0, 1].
    bins : int, default 12
        The number of hue bins (1 to 360).
    saturation_weighted : bool, default True
        Weight each pixel by its saturation (else every pixel counts 1).

    Returns
    -------
    ndarray of float32, shape (N, bins)
        Each row sums to 1 (or is 0 for an image with no weight).

    Raises
    ------
    ValueError
        If the images are not colour images or ``bins`` is out of range.
    """
    from skimage.color import rgb2hsv

    images = _images(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"a hue histogram needs colour images (N, H, W, 3); got shape {images.shape}")
    if not _is_int(bins, 1, MAX_HUE_BINS):
        raise ValueError(f"bins must be an integer from 1 to {MAX_HUE_BINS}; got {bins!r}")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    hsv = rgb2hsv(images.astype(np.float64) / scale)
    hue = np.minimum((hsv[..., 0] * bins).astype(np.int64), bins - 1).reshape(images.shape[0], -1)
    weight = hsv[..., 1].reshape(images.shape[0], -1) if saturation_weighted else np.ones_like(hue, dtype=np.float64)
    rows = np.repeat(np.arange(images.shape[0]), hue.shape[1])
    hist = np.zeros((images.shape[0], bins))
    np.add.at(hist, (rows, hue.ravel()), weight.ravel())
    total = hist.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return (hist / total).astype(np.float32)


class HOGFeatures(TransformerMixin, BaseEstimator):
    """HOG (plus, for colour images with ``hue_bins`` > 0, a hue histogram) as a transformer.

    The settings are checked when the transformer is built (so a model file carrying absurd ones
    is refused as it loads), and again at ``fit`` and ``transform`` (after ``set_params``).

    Parameters
    ----------
    image_shape : tuple of int, optional
        (H, W) or (H, W, 3), to take flat rows (N, H W) instead of images.
    orientations : int, default 9
        The number of gradient-direction bins (1 to 360).
    pixels_per_cell : tuple of int, default (4, 4)
        (rows, columns) of a cell.
    cells_per_block : tuple of int, default (2, 2)
        (rows, columns) of cells in a normalisation block.
    hue_bins : int, default 0
        Append a hue histogram of this many bins (colour images only); 0 for none.
    resize_to : tuple of int, optional
        (H, W) to resize the images to first (bilinear, scikit-image's ``resize``); sides at most
        ``MAX_SIDE`` (1024).

    Raises
    ------
    ValueError
        If a setting is outside its range.
    """

    _fitted_attributes = ("image_shape_", "n_features_in_")

    def __init__(self, image_shape=None, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2), hue_bins=0,
                 resize_to=None):
        self.image_shape = image_shape
        self.resize_to = resize_to
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.hue_bins = hue_bins
        self._check_settings()

    def _check_settings(self):
        check_hog_settings(self.orientations, self.pixels_per_cell, self.cells_per_block, self.resize_to,
                           self.hue_bins)

    def fit(self, X, y=None):
        """Check the settings and record the images' shape.

        Parameters
        ----------
        X : array_like
            Training images (N, H, W[, 3]) or flat rows with ``image_shape``.
        y : None
            Ignored (scikit-learn's transformer interface).

        Returns
        -------
        self
            The fitted transformer.
        """
        self._check_settings()
        images = _images(X, self.image_shape)
        height, width = tuple(self.resize_to) if self.resize_to is not None else images.shape[1:3]
        check_hog_size(height, width, self.orientations, self.pixels_per_cell, self.cells_per_block)
        self.image_shape_ = np.array(images.shape[1:])
        self.n_features_in_ = int(np.prod(images.shape[1:])) if np.asarray(X).ndim == 2 else None
        return self

    def transform(self, X):
        """The HOG features (and hue histogram) of each image.

        Parameters
        ----------
        X : array_like
            Images of the fitted shape (or flat rows with ``image_shape``).

        Returns
        -------
        ndarray of float32, shape (N, n_features)

        Raises
        ------
        ValueError
            If the images' shape differs from the fitted one.
        """
        check_is_fitted(self, "image_shape_")
        self._check_settings()
        images = _images(X, self.image_shape)
        fitted = tuple(int(v) for v in self.image_shape_)
        if tuple(images.shape[1:]) != fitted:
            raise ValueError(f"HOGFeatures was fitted on images of shape {fitted}; got {tuple(images.shape[1:])}")
        feats = [hog_features(images, self.orientations, self.pixels_per_cell, self.cells_per_block, self.resize_to)]
        if self.hue_bins and images.ndim == 4:
            feats.append(hue_histogram(images, self.hue_bins))
        return np.hstack(feats)
