"""Every documented error path: ValueError/TypeError naming the argument, the expectation and
what was received."""
import numpy as np
import pytest

from chainrule import NoForwardError, grad, losses, nn, regularizers

S = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])


@pytest.mark.parametrize("loss", [losses.MulticlassHinge(), losses.SoftmaxLogLikelihood(),
                                  losses.SoftmaxCrossEntropy(), losses.SigmoidCrossEntropy()])
def test_scores_and_labels_of_different_length(loss):
    with pytest.raises(ValueError, match=r"target must have one label per sample \(3\); got 2 labels"):
        loss(S, [0, 1])


@pytest.mark.parametrize("bad,shown", [(3, "3"), (-1, "-1"), (10, "10")])
@pytest.mark.parametrize("loss", [losses.MulticlassHinge(), losses.SoftmaxLogLikelihood(),
                                  losses.LogLikelihood(), losses.CrossEntropy()])
def test_labels_out_of_range_including_minus_one(loss, bad, shown):
    x = S if not loss.takes_probabilities else np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match=rf"target must hold integer class labels in \[0, 3\); got {shown} at index 2"):
        loss(x, [0, 1, bad])


def test_non_integer_labels():
    with pytest.raises(ValueError, match=r"got 1.5 at index 1"):
        losses.SoftmaxLogLikelihood()(S, [0, 1.5, 2])
    with pytest.raises(TypeError, match=r"target must hold integer class labels; got dtype <U1"):
        losses.MulticlassHinge()(S, np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match=r"got dtype bool"):
        losses.MulticlassHinge()(S, np.array([True, False, True]))
    # whole-number floats are accepted as labels
    assert float(losses.MulticlassHinge()(S, np.array([0.0, 1.0, 2.0]))) == pytest.approx(15.8 / 3)


def test_binary_hinge_targets_must_be_plus_minus_one():
    with pytest.raises(ValueError, match=r"target must hold labels in \{-1, \+1\}; got 0 at index 1"):
        losses.BinaryHinge()(np.array([0.5, -0.2, 1.0]), [1, 0, -1])
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, 1\)"):
        losses.BinaryHinge()(S, [1, -1, 1])


@pytest.mark.parametrize("cls", [losses.L1Loss, losses.L2Loss])
def test_regression_shapes_must_match_exactly(cls):
    with pytest.raises(ValueError, match=r"target must have the same shape as input \(3, 3\); got \(3,\) \(no broadcasting\)"):
        cls()(S, np.zeros(3))
    with pytest.raises(ValueError, match=r"got \(3, 1\)"):
        cls()(S[:, 0], np.zeros((3, 1)))


@pytest.mark.parametrize("cls", [losses.LogLikelihood, losses.CrossEntropy])
@pytest.mark.parametrize("value", [-0.1, 1.2])
def test_probabilities_outside_unit_interval(cls, value):
    p = np.full((2, 3), 0.3)
    p[1, 2] = value
    with pytest.raises(ValueError, match=rf"input must be probabilities in \[0, 1\]; got {value} at index \(1, 2\)"):
        cls()(p, [0, 1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("loss,x,t", [
    (losses.MulticlassHinge(), S.copy(), [0, 1, 2]),
    (losses.SoftmaxLogLikelihood(), S.copy(), [0, 1, 2]),
    (losses.SoftmaxCrossEntropy(), S.copy(), [0, 1, 2]),
    (losses.L2Loss(), S.copy(), np.zeros((3, 3))),
    (losses.BinaryHinge(), S[:, 0].copy(), [1, -1, 1]),
    (losses.CrossEntropy(), np.full((3, 3), 0.2), [0, 1, 2]),
], ids=lambda v: type(v).__name__ if isinstance(v, losses.Loss) else None)
def test_nan_or_inf_in_loss_input(loss, x, t, bad):
    x.flat[4 if x.ndim == 2 else 1] = bad
    with pytest.raises(ValueError, match=r"input must be finite; got (nan|inf|-inf) at index"):
        loss(x, t)


def test_nan_in_regression_target():
    t = np.zeros((3, 3))
    t[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"target must be finite; got nan at index \(0, 0\)"):
        losses.L1Loss()(S, t)


@pytest.mark.parametrize("loss", [losses.MulticlassHinge(), losses.BinaryHinge(), losses.LogLikelihood(),
                                  losses.CrossEntropy(), losses.SoftmaxLogLikelihood(),
                                  losses.SoftmaxCrossEntropy(), losses.L1Loss(), losses.L2Loss()],
                         ids=lambda v: type(v).__name__)
def test_loss_backward_before_forward(loss):
    with pytest.raises(NoForwardError, match=r"backward\(\) was called before forward\(\)") as info:
        loss.backward()
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("module", [nn.Linear(3, 2), nn.ReLU(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(),
                                    nn.Softmax(), nn.Dropout(0.5), nn.BatchNorm1d(3)],
                         ids=lambda v: type(v).__name__)
def test_module_backward_before_forward(module):
    with pytest.raises(NoForwardError, match=rf"{type(module).__name__}.backward\(\) was called before forward\(\)"):
        module.backward(np.ones((2, 3)))


def test_linear_wrong_number_of_features():
    with pytest.raises(ValueError, match=r"Linear\(784, 10\) expected input of shape \(N, 784\) or \(784,\); got shape \(128, 783\)"):
        nn.Linear(784, 10).forward(np.zeros((128, 783), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 4\)"):
        nn.Linear(4, 2).forward(np.zeros((2, 3, 4)))


def test_wrong_gradient_shapes():
    lin = nn.Linear(3, 2)
    lin.forward(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape \(4, 2\); got \(4, 3\)"):
        lin.backward(np.zeros((4, 3)))
    relu = nn.ReLU()
    relu.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape"):
        relu.backward(np.zeros((3, 4)))
    loss = losses.L2Loss(reduction="none")
    loss(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(3,\)"):
        loss.backward(np.ones(2))


def test_constructor_arguments():
    with pytest.raises(ValueError, match=r"in_features must be a positive integer; got 0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match=r"init must be one of"):
        nn.Linear(2, 3, init="xavier")
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64'; got int32"):
        nn.Linear(2, 3, dtype=np.int32)
    with pytest.raises(ValueError, match=r"p \(the drop probability\) must be a finite number >= 0 and <= 1; got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        losses.L2Loss(reduction="avg")
    with pytest.raises(ValueError, match=r"strength must be a finite number >= 0; got -1"):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match=r"max_norm must be a finite number > 0; got 0"):
        regularizers.MaxNorm(0)
    with pytest.raises(TypeError, match=r"rng must be None, an int seed or a numpy.random.Generator; got str"):
        nn.Dropout(0.1, rng="seed")
    with pytest.raises(ValueError, match=r"BatchNorm1d needs at least 2 values per channel in training mode \(a batch of 2 or more\); got input of shape \(1, 3\)"):
        nn.BatchNorm1d(3).forward(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expected input of shape \(N, 3\); got shape \(4, 2\)"):
        nn.BatchNorm1d(3).forward(np.zeros((4, 2), np.float32))


def test_check_gradients_refuses_float32():
    with pytest.raises(TypeError, match=r"float64 only; parameter '0.weight' is float32"):
        grad.check_gradients(nn.Sequential(nn.Linear(2, 2)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match=r"float64 only; the input is float32"):
        grad.check_gradients(losses.L2Loss(), np.zeros(3, np.float32), np.zeros(3))
    with pytest.raises(TypeError, match=r"takes a Module, a Loss or a Penalty; got str"):
        grad.check_gradients("relu", np.zeros(3))


def test_grad_tools_arguments():
    with pytest.raises(ValueError, match=r"f must return a scalar; got shape \(2,\)"):
        grad.numerical_gradient(lambda x: x, np.zeros(2))
    with pytest.raises(ValueError, match=r"eps must be positive; got 0"):
        grad.numerical_gradient(lambda x: x.sum(), np.zeros(2), eps=0)
    with pytest.raises(ValueError, match=r"x must be a vector; got shape \(2, 2\)"):
        grad.hessian(lambda x: x.sum(), np.zeros((2, 2)))
