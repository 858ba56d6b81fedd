"""Feature maps and hand-crafted features: polynomial features (the notes' quadratic classifier),
the notes' transform for XOR, HOG and hue histograms, and the nearest-neighbour classifier."""
from .handcrafted import HOGFeatures, hog_features, hue_histogram
from .neighbors import KNeighborsClassifier
from .polynomial import PolynomialFeatures, monomial_powers, n_polynomial_features
from .transform import NotesTransform, notes_transform

__all__ = ["PolynomialFeatures", "monomial_powers", "n_polynomial_features", "notes_transform", "NotesTransform",
           "hog_features", "hue_histogram", "HOGFeatures", "KNeighborsClassifier"]
