"""Hand-crafted image features (the notes' 'feature descriptor + classifier'): HOG and a hue
histogram. HOG is scikit-image's."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


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


def hog_features(images, orientations: int = 9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                 resize_to=None) -> np.ndarray:
    """Histogram of oriented gradients of each image (scikit-image's ``hog``), one row per image.

    ``resize_to=(H, W)`` first resizes the images (bilinear, scikit-image's ``resize``): tiny
    images such as the 8 x 8 digits have too few pixels for gradients; at 24 x 24 with cells of
    6 x 6 and blocks of 2 x 2 cells, HOG plus a linear classifier reaches about 0.98 on them.

    scikit-image computes HOG one image at a time, so this is the one place that loops over
    images; it is feature extraction, not the training hot path.
    """
    from skimage.feature import hog

    images = _images(images)
    if resize_to is not None:
        from skimage.transform import resize
        peak = 255.0 if images.dtype == np.uint8 else float(max(images.max(), 1e-12))
        target = (images.shape[0],) + tuple(resize_to) + images.shape[3:]
        images = resize(images.astype(np.float64) / peak, target, order=1, anti_aliasing=False)
    channel_axis = -1 if images.ndim == 4 else None
    kw = dict(orientations=orientations, pixels_per_cell=tuple(pixels_per_cell),
              cells_per_block=tuple(cells_per_block), feature_vector=True, channel_axis=channel_axis)
    first = hog(images[0].astype(np.float64), **kw)
    out = np.empty((images.shape[0], first.size), dtype=np.float32)
    out[0] = first
    for i in range(1, images.shape[0]):
        out[i] = hog(images[i].astype(np.float64), **kw)
    return out


def hue_histogram(images, bins: int = 12, saturation_weighted: bool = True) -> np.ndarray:
    """Normalised histogram of each colour image's hue (HSV), weighted by saturation so that grey
    pixels, whose hue means nothing, count little. Vectorised over all images."""
    from skimage.color import rgb2hsv

    images = _images(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"a hue histogram needs colour images (N, H, W, 3); got shape {images.shape}")
    if bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins}")
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

    Takes images (N, H, W[, 3]) or flat rows with ``image_shape``; ``resize_to`` as in
    ``hog_features``.
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

    def fit(self, X, y=None):
        images = _images(X, self.image_shape)
        self.image_shape_ = np.array(images.shape[1:])
        self.n_features_in_ = int(np.prod(images.shape[1:])) if np.asarray(X).ndim == 2 else None
        return self

    def transform(self, X):
        check_is_fitted(self, "image_shape_")
        images = _images(X, self.image_shape)
        fitted = tuple(int(v) for v in self.image_shape_)
        if tuple(images.shape[1:]) != fitted:
            raise ValueError(f"HOGFeatures was fitted on images of shape {fitted}; got {tuple(images.shape[1:])}")
        feats = [hog_features(images, self.orientations, self.pixels_per_cell, self.cells_per_block, self.resize_to)]
        if self.hue_bins and images.ndim == 4:
            feats.append(hue_histogram(images, self.hue_bins))
        return np.hstack(feats)
