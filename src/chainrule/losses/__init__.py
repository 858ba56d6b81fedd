"""Losses of the notes. ``loss.forward(input, target)`` returns the reduced loss,
``loss.backward()`` the gradient with respect to ``input``. Each loss is a kernel pair in its
module, ``<loss>_forward(input, target) -> (L_i, cache)`` and ``<loss>_backward(cache) -> dL_i/d(input)``
(per sample, before the reduction, which ``Loss`` adds with the sample weights).

=======================  ==========================  =============================================
class                    input                       L_i
=======================  ==========================  =============================================
BinaryHinge              scores (N,), y in {-1, +1}  max(0, 1 - y s)
MulticlassHinge          scores (N, C), labels       sum_{j != y} max(0, s_j - s_y + margin)
LogLikelihood            probabilities (N, C)        -log p_y
CrossEntropy             probabilities (N, C)        -sum_j z_j log p_j + (1 - z_j) log(1 - p_j)
SoftmaxLogLikelihood     scores (N, C)               -log softmax(s)_y
SoftmaxCrossEntropy      scores (N, C)               CrossEntropy(softmax(s))
SigmoidCrossEntropy      scores (N,) or (N, C)       CrossEntropy(sigmoid(s))
L1Loss / L2Loss          predictions, targets        sum_k abs(y_k - s_k) / sum_k (y_k - s_k)^2
HalfSquaredError         predictions, targets        1/2 sum_k (s_k - y_k)^2 (scikit-learn's)
HalfPoissonDeviance      log-rates s, counts y >= 0  sum_k e^{s_k} - y_k s_k + y_k log y_k - y_k
=======================  ==========================  =============================================
"""
from .base import REDUCTIONS, Loss
from .hinge import BinaryHinge, MulticlassHinge
from .likelihood import (CrossEntropy, LogLikelihood, SigmoidCrossEntropy, SoftmaxCrossEntropy,
                         SoftmaxLogLikelihood, prob_floor)
from .regression import HalfPoissonDeviance, HalfSquaredError, L1Loss, L2Loss

__all__ = [
    "Loss", "REDUCTIONS", "BinaryHinge", "MulticlassHinge", "LogLikelihood", "CrossEntropy",
    "SoftmaxLogLikelihood", "SoftmaxCrossEntropy", "SigmoidCrossEntropy", "L1Loss", "L2Loss", "HalfSquaredError",
    "HalfPoissonDeviance",
    "prob_floor",
]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
