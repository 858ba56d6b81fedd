"""scikit-learn compatible estimators built on the engine.

``LinearRegression``, ``PolynomialRegression``, ``LinearClassifier``, ``MLPClassifier`` and
``MLPRegressor`` follow scikit-learn's conventions (``fit``/``predict``/``score``,
``get_params``/``set_params``, fitted attributes ending in ``_``) and expose the network as
``model_`` and the training history as ``history_``.
"""
from .linear import LinearClassifier, LinearRegression, PolynomialRegression
from .mlp import MLPClassifier, MLPRegressor, build_mlp

__all__ = ["LinearRegression", "PolynomialRegression", "LinearClassifier", "MLPClassifier", "MLPRegressor",
           "build_mlp"]
