"""What the reference layers promise, kept by a fused chain: their bad-input errors (the same
messages, since an input the engine does not take goes to the modules), the gradient shape check,
backward before forward, the empty batch, and central differences (float64: slow, a second
compilation)."""
import numpy as np
import pytest

from chainrule import nn
from chainrule.architectures import lenet
from chainrule.errors import NoForwardError
from chainrule.grad import check_gradients

pytest.importorskip("numba")


def one_conv(build, **kw):
    return build(lambda: nn.Sequential(nn.Conv2d(3, 8, 3, rng=0, **kw), nn.ReLU()), True)


@pytest.mark.parametrize("x,error,message", [
    (np.zeros((2, 1, 6, 6), np.float32), ValueError,
     r"Conv2d\(3, 8, kernel_size=3\) expected input of shape \(N, 3, H, W\) with 3 channels; got shape \(2, 1, 6, 6\)"),
    (np.zeros((2, 3, 6), np.float32), ValueError, r"expected input of shape \(N, 3, H, W\), 4 axes; got shape \(2, 3, 6\)"),
    (np.zeros((2, 3, 0, 6), np.float32), ValueError, r"expected images of at least 1 x 1 pixels; got shape \(2, 3, 0, 6\)"),
    (np.full((2, 3, 6, 6), "a"), TypeError, r"input must be numeric; got dtype <U1"),
    (np.zeros((2, 3, 2, 2), np.float32), ValueError, r"input images of 2 x 2 are smaller than the kernel 3 x 3"),
    (np.zeros((2, 3, 6, 6), np.float64), TypeError, r"float64"),
], ids=["channels", "rank", "empty-image", "strings", "too-small", "wider-float"])
def test_a_fused_chain_raises_the_layers_own_errors(build, x, error, message):
    net = one_conv(build)
    with pytest.raises(error, match=message):
        net.forward(x)


def test_backward_before_forward_an_empty_batch_and_a_wrong_gradient_shape(build):
    net = one_conv(build)
    with pytest.raises(NoForwardError):
        net.backward(np.zeros((2, 8, 4, 4), np.float32))
    empty = net.forward(np.zeros((0, 3, 6, 6), np.float32))
    assert empty.shape == (0, 8, 4, 4) and net.backward(empty, need_input_grad=True).shape == (0, 3, 6, 6)
    net.forward(np.zeros((2, 3, 6, 6), np.float32))
    assert net._fused_ran
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape \(2, 8, 4, 4\); got \(2, 8, 4, 3\)"):
        net.backward(np.zeros((2, 8, 4, 3), np.float32))


def test_lenet_refuses_images_of_another_size_as_its_layers_do(build):
    net = build(lambda: lenet(1, 10, 28, rng=0), True)
    with pytest.raises(ValueError, match=r"Linear\(3136, 128\) expected input of shape \(N, 3136\)"):
        net.forward(np.zeros((2, 1, 32, 32), np.float32))
    assert not net._fused_ran


@pytest.mark.slow
@pytest.mark.parametrize("make,shape", [
    (lambda: lenet(2, 3, 6, rng=0, dtype=np.float64), (3, 2, 6, 6)),
    (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=0, dtype=np.float64), nn.ReLU(),
                           nn.Conv2d(3, 4, (2, 3), rng=1, dtype=np.float64), nn.Flatten(),
                           nn.Linear(4 * 2 * 1, 2, rng=2, dtype=np.float64)), (2, 2, 5, 5)),
], ids=["lenet", "strided"])
def test_a_fused_chain_passes_central_differences(build, make, shape):
    net = build(make, True)
    x = np.random.default_rng(0).standard_normal(shape)
    report = check_gradients(net, x, tol=1e-6)
    assert net._fused_ran and report.passed, str(report)
