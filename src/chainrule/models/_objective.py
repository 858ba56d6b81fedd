"""The penalties of a fit: ``penalise`` gives the weights of a network's linear and convolution
layers (their biases too with ``penalize_bias``) the penalty or max-norm constraint of the
settings. Where they count is the solver's business: once per objective (the notes' lambda R(W)),
or divided by 2B on each batch of B samples (scikit-learn's 0.5 alpha ||W||^2 / B:
``Trainer(penalty_per_batch=True)``, and L-BFGS's one batch).
"""
from __future__ import annotations

from .. import registry
from ..layers.conv import Conv2d
from ..layers.linear import Linear


def penalise(model, s) -> None:
    """Set the regularizer and constraint of every Linear and Conv2d weight (and bias) from ``s``."""
    for module in model.modules():
        if isinstance(module, (Linear, Conv2d)):
            module.weight.regularizer, module.weight.constraint = registry.penalty(s.penalty, s.alpha, s.beta,
                                                                                   s.max_norm)
            if module.bias is not None:
                module.bias.regularizer = (registry.penalty(s.penalty, s.alpha, s.beta, s.max_norm)[0]
                                           if s.penalize_bias else None)
