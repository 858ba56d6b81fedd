"""Feature maps and hand-crafted features: polynomial features, the notes' transform, HOG,
colour histograms, and the nearest-neighbour classifier."""
from .polynomial import PolynomialFeatures, monomial_powers, n_polynomial_features

__all__ = ["PolynomialFeatures", "monomial_powers", "n_polynomial_features"]
