"""Random inputs for the layers' gradient-check cases (``grad_cases``): each maker takes the batch
shape (N, d) and a generator and returns float64 values kept away from the layer's kinks.

Kinks: ReLU and LeakyReLU use the subgradient of x <= 0 at x = 0, max pooling the first of tied
maxima. Inputs keep at least 0.05 away from them, far beyond the 1e-6 step of the central
differences, so the numerical derivative never straddles one.
"""
from __future__ import annotations

import numpy as np

#: channels of the "wide" image cases: more than ``_im2col.FEW_CHANNELS``, the other patch layout
WIDE = 7


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with abs(v) in [low, high], of either sign.

    ReLU's and L1's kinks (at 0) then stay far from the 1e-6 step of the central differences.

    Parameters
    ----------
    rng : numpy.random.Generator
        The case's generator.
    shape : tuple of int
        The array's shape.
    low : float, default 0.1
        The smallest magnitude.
    high : float, default 2.0
        The largest magnitude.

    Returns
    -------
    ndarray of float64
    """
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def normal(scale=1.0, shift=0.0):
    """Normal values of the batch shape, times ``scale`` plus ``shift``."""
    return lambda s, r: r.standard_normal(s) * scale + shift


def kinkless(s, r):
    """Values of the batch shape at least 0.1 away from 0."""
    return away_from_zero(r, s)


def images(scale=1.0, shift=0.0, size=3, extra_channels=0):
    """(N, d + extra_channels, size, size) normal images for a batch shape (N, d)."""
    return lambda s, r: r.standard_normal((s[0], s[1] + extra_channels, size, size)) * scale + shift


def distinct_images(size, extra_channels=0):
    """Images whose values are all at least 0.05 apart: a max-pooling window never has a tie
    within the step (a tie is max pooling's kink)."""
    def make(s, r):
        shape = (s[0], s[1] + extra_channels, size, size)
        return r.permutation(int(np.prod(shape))).reshape(shape) * 0.05 - 1.0
    return make
