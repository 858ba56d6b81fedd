"""scikit-learn's regression losses and per-batch penalty (losses/regression.py, models/_objective.py):
values against their formulas and scikit-learn's, gradients against central differences."""
import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.neural_network._base import poisson_loss, squared_loss

from chainrule.grad import check_gradients
from chainrule.losses import SoftmaxLogLikelihood
from chainrule.losses import HalfPoissonDeviance, HalfSquaredError
from chainrule.models._objective import BatchScale, EstimatorLoss, PerBatchPenalty
from chainrule.regularizers import L1, L2

rng = np.random.default_rng(0)
S = rng.normal(size=(6, 3))
Y = rng.normal(size=(6, 3))
COUNTS = rng.poisson(2.0, size=(6, 3)).astype(float)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss,target", [(HalfSquaredError, Y), (HalfPoissonDeviance, COUNTS),
                                         (HalfSquaredError, Y[:, 0]), (HalfPoissonDeviance, COUNTS[:, 0])],
                         ids=["squared", "poisson", "squared-1d", "poisson-1d"])
def test_gradients_match_central_differences(loss, target, reduction):
    x = S if target.ndim == 2 else S[:, 0]
    report = check_gradients(loss(reduction=reduction), x, target)
    assert report.passed, report


def test_values_are_scikit_learns_for_one_output():
    """scikit-learn's squared_loss averages over outputs as well as samples (its gradient sums over
    them), so the two agree for one output; its poisson_loss sums over outputs."""
    s, y = S[:, :1], Y[:, :1]
    assert HalfSquaredError().forward(s, y) == pytest.approx(squared_loss(y, s))
    assert HalfSquaredError().forward(S, Y) == pytest.approx(3 * squared_loss(Y, S))
    assert HalfPoissonDeviance().forward(S, COUNTS) == pytest.approx(poisson_loss(COUNTS, np.exp(S)))
    assert HalfPoissonDeviance().forward(np.log(COUNTS + 1), COUNTS + 1) == pytest.approx(0.0, abs=1e-12)
    per_sample = HalfPoissonDeviance(reduction="none").forward(S, COUNTS)
    expected = (np.exp(S) - COUNTS * S + xlogy(COUNTS, COUNTS) - COUNTS).sum(axis=1)
    np.testing.assert_allclose(per_sample, expected)


def test_poisson_refuses_negative_targets_and_overflow_is_infinite_not_a_warning():
    with pytest.raises(ValueError, match=r"target of the Poisson loss must be >= 0; got -1.0 at index 2"):
        HalfPoissonDeviance().forward(S[:, 0], np.array([0, 1, -1, 2, 3, 4.0]))
    assert HalfPoissonDeviance().forward(np.array([800.0]), np.array([1.0])) == np.inf


@pytest.mark.parametrize("inner", [L2(0.3), L1(0.3)])
def test_per_batch_penalty_is_alpha_over_2b_and_its_gradient(inner):
    scale = BatchScale()
    scale.value = 0.5 / 7                              # a batch of 7 samples
    pen = PerBatchPenalty(inner, scale)
    W = rng.normal(size=(4, 3))
    assert pen.penalty(W) == pytest.approx(inner.penalty(W) / 14)
    if isinstance(inner, L2):                          # scikit-learn's 0.5 alpha ||W||^2 / B
        assert pen.penalty(W) == pytest.approx(0.5 * 0.3 * np.sum(W**2) / 7)
    assert check_gradients(pen, W).passed


def test_estimator_loss_sets_the_batch_scale_and_turns_non_finite_outputs_into_an_infinite_loss():
    scale = BatchScale()
    loss = EstimatorLoss(SoftmaxLogLikelihood(), scale, weight_unit=2.0)
    labels = np.array([0, 1, 2, 0, 1, 2])
    value = loss.forward(S, labels)
    assert scale.value == pytest.approx(1 / 12) and value == SoftmaxLogLikelihood().forward(S, labels)
    loss.forward(S, labels, sample_weight=np.full(6, 0.5))        # B = 2 x (6 x 0.5) = 6 samples' weight
    assert scale.value == pytest.approx(1 / 12)
    reference = SoftmaxLogLikelihood()
    reference.forward(S, labels, sample_weight=np.full(6, 0.5))
    np.testing.assert_array_equal(loss.backward(), reference.backward())
    bad = S.copy()
    bad[2, 1] = np.inf
    assert loss.forward(bad, labels) == np.inf
    assert loss.loss == "SoftmaxLogLikelihood" and loss.reduction == "mean"
