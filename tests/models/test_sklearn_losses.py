"""scikit-learn's regression losses and per-batch penalty (losses/regression.py, the trainer's
``penalty_per_batch``): values against their formulas and scikit-learn's, gradients against
central differences."""
import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.neural_network._base import poisson_loss, squared_loss

from chainrule.grad import check_gradients
from chainrule.losses import SoftmaxLogLikelihood
from chainrule.losses import HalfPoissonDeviance, HalfSquaredError
from chainrule import TrainingDiverged, nn, optim
from chainrule.regularizers import L1, L2, add_penalty_gradients, penalty_value
from chainrule.training import Trainer

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
def test_a_scaled_penalty_is_alpha_over_2b_and_its_gradient(inner):
    net = nn.Sequential(nn.Linear(3, 4, rng=0, dtype=np.float64))
    W = net[0].weight
    W.regularizer = inner
    scale = 0.5 / 7                                   # a batch of 7 samples
    assert penalty_value([W], scale) == pytest.approx(inner.penalty(W.value) / 14)
    if isinstance(inner, L2):                          # scikit-learn's 0.5 alpha ||W||^2 / B
        assert penalty_value([W], scale) == pytest.approx(0.5 * 0.3 * np.sum(W.value ** 2) / 7)
    W.zero_grad()
    add_penalty_gradients([W], scale)
    np.testing.assert_allclose(W.grad, inner.gradient(W.value) * scale, rtol=1e-15)
    assert check_gradients(inner, W.value).passed


@pytest.mark.parametrize("weights", [None, np.full(6, 0.5)])
def test_the_trainer_divides_the_penalty_by_2b_on_each_batch(weights):
    """penalty_per_batch: the batch's objective is its mean loss + alpha ||W||^2 / (2 B), B its number of
    samples or its total sample weight (in the units given: six samples of weight 0.5 are B = 3)."""
    X, labels = S, np.array([0, 1, 2, 0, 1, 2])
    net = nn.Sequential(nn.Linear(3, 3, rng=0, dtype=np.float64))
    net[0].weight.regularizer = L2(0.3)
    W0 = net[0].weight.value.copy()
    trainer = Trainer(net, SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=None, epochs=1, rng=0,
                      penalty_per_batch=True)
    record = trainer.fit(X, labels, sample_weight=weights).last          # one batch: measured before its step
    b = 6 if weights is None else 3
    assert record["loss"] - record["data_loss"] == pytest.approx(0.3 * np.sum(W0 ** 2) / (2 * b), rel=1e-12)


def test_outputs_that_overflow_are_a_divergence_not_a_bad_input():
    net = nn.Sequential(nn.Linear(3, 3, rng=0, dtype=np.float64))
    net[0].weight.value[...] = 1e300
    trainer = Trainer(net, SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=None, epochs=1, rng=0)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged, match=r"the loss is not finite"):
        trainer.fit(S * 1e300, np.array([0, 1, 2, 0, 1, 2]))
