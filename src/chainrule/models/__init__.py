"""scikit-learn compatible estimators built on the engine.

``LinearRegression``, ``PolynomialRegression``, ``LinearClassifier``, ``MLPClassifier`` and
``MLPRegressor`` follow scikit-learn's conventions (``fit``/``predict``/``score``,
``get_params``/``set_params``, fitted attributes ending in ``_``) and expose the network as
``model_`` and the training history as ``history_``. ``MLPClassifier`` and ``MLPRegressor``
are drop-ins for scikit-learn's: its parameters, defaults, solvers and fitted attributes.
``CNNClassifier`` takes the MLP's training options with a convolutional network on images.
"""
from .cnn import CNNClassifier
from .linear import LinearClassifier, LinearRegression, PolynomialRegression
from .mlp import MLPClassifier, MLPRegressor, build_mlp

__all__ = ["LinearRegression", "PolynomialRegression", "LinearClassifier", "MLPClassifier", "MLPRegressor",
           "CNNClassifier", "build_mlp"]
