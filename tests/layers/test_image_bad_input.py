"""Bad input to the image layers: each gets an error naming the layer, the argument and the value
received, before NumPy sees it (never a NaN, never a traceback from inside NumPy)."""
import numpy as np
import pytest

from chainrule import nn
from chainrule.architectures import lenet, resnet
from chainrule.errors import NoForwardError

X = np.zeros((2, 3, 6, 6), dtype=np.float32)


@pytest.mark.parametrize("kwargs,message", [
    (dict(in_channels=0), r"Conv2d in_channels must be a positive integer; got 0"),
    (dict(in_channels=2.5), r"Conv2d in_channels must be a positive integer; got 2.5"),
    (dict(out_channels=-4), r"Conv2d out_channels must be a positive integer; got -4"),
    (dict(out_channels="8"), r"Conv2d out_channels must be a positive integer; got '8'"),
    (dict(kernel_size=0), r"Conv2d kernel_size must be a positive integer or a pair \(height, width\) of them; got 0"),
    (dict(kernel_size=2.5), r"Conv2d kernel_size must be a positive integer or a pair .*; got 2.5"),
    (dict(kernel_size=(3,)), r"Conv2d kernel_size must be a positive integer or a pair .*; got \(3,\)"),
    (dict(kernel_size=(3, -1)), r"Conv2d kernel_size must be a positive integer or a pair .*; got \(3, -1\)"),
    (dict(stride=0), r"Conv2d stride must be a positive integer or a pair .*; got 0"),
    (dict(stride=1.5), r"Conv2d stride must be a positive integer or a pair .*; got 1.5"),
    (dict(padding=-1), r"Conv2d padding must be an integer >= 0 or a pair .*; got -1"),
    (dict(padding=(1, 0.5)), r"Conv2d padding must be an integer >= 0 or a pair .*; got \(1, 0.5\)"),
    (dict(bias="no"), r"Conv2d bias must be True or False; got 'no'"),
    (dict(init="kaiming"), r"Conv2d init must be one of \('uniform', 'he', 'glorot', 'zeros'\); got 'kaiming'"),
    (dict(dtype="int32"), r"Conv2d dtype must be 'float32' or 'float64'; got int32"),
])
def test_conv2d_arguments(kwargs, message):
    args = dict(in_channels=3, out_channels=8, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**args)


@pytest.mark.parametrize("cls", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize("kwargs,message", [
    (dict(kernel_size=0), r"kernel_size must be a positive integer or a pair .*; got 0"),
    (dict(kernel_size=-2), r"kernel_size must be a positive integer or a pair .*; got -2"),
    (dict(kernel_size=2.0), r"kernel_size must be a positive integer or a pair .*; got 2.0"),
    (dict(kernel_size=2, stride=0), r"stride must be a positive integer or a pair .*; got 0"),
    (dict(kernel_size=2, stride=(1, 2, 3)), r"stride must be a positive integer or a pair .*; got \(1, 2, 3\)"),
])
def test_pooling_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=f"{cls.__name__} {message}"):
        cls(**kwargs)


CONV = nn.Conv2d(3, 8, 3, rng=0)
POOLS = [nn.MaxPool2d(2), nn.AvgPool2d(3, stride=2)]


@pytest.mark.parametrize("shape", [(3, 6, 6), (6, 6), (2, 3, 6, 6, 1), (18,)], ids=str)
def test_wrong_rank(shape):
    x = np.zeros(shape, np.float32)
    for layer, name in [(CONV, r"Conv2d\(3, 8, kernel_size=3\)"), (POOLS[0], r"MaxPool2d\(kernel_size=2\)"),
                        (POOLS[1], r"AvgPool2d\(kernel_size=3, stride=2\)"),
                        (nn.GlobalAvgPool2d(), r"GlobalAvgPool2d\(\)")]:
        with pytest.raises(ValueError, match=rf"{name} expected input of shape \(N, \w, H, W\), 4 axes; "
                                             rf"got shape {re_shape(shape)}"):
            layer.forward(x)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_the_rank_error_suggests_the_missing_axis():
    with pytest.raises(ValueError, match=r"needs a channel axis: x\[:, None\]"):
        nn.Conv2d(1, 2, 3).forward(np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match=r"needs a batch axis: x\[None\]"):
        CONV.forward(np.zeros((3, 6, 6)))


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=3\) expected input of shape \(N, 3, H, W\) with "
                                         r"3 channels; got shape \(2, 1, 6, 6\) \(1 channel\)"):
        CONV.forward(np.zeros((2, 1, 6, 6)))
    net = lenet(1, 10, 28, rng=0)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 32, kernel_size=3, padding=1\) expected input of shape "
                                         r"\(N, 1, H, W\) with 1 channel; got shape \(2, 3, 28, 28\) \(3 channels\)"):
        net.forward(np.zeros((2, 3, 28, 28), np.float32))


def test_image_smaller_than_the_kernel_or_emptied_by_stride_and_padding():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=5\): input images of 4 x 4 are smaller than "
                                         r"the kernel 5 x 5, which leaves no output; "
                                         r"got input of shape \(2, 3, 4, 4\)"):
        nn.Conv2d(3, 8, 5).forward(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"input images of 2 x 9 \(4 x 9 after padding \(1, 0\)\) are smaller than "
                                         r"the kernel 5 x 3"):
        nn.Conv2d(3, 8, (5, 3), padding=(1, 0)).forward(np.zeros((1, 3, 2, 9), np.float32))
    assert nn.Conv2d(3, 8, 5, padding=1).forward(np.zeros((1, 3, 4, 4), np.float32)).shape == (1, 8, 2, 2)   # padding fits
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=3\): input images of 2 x 2 are smaller than the "
                                         r"kernel 3 x 3"):
        nn.MaxPool2d(3).forward(np.zeros((1, 1, 2, 2)))
    # a large stride: one window
    assert nn.MaxPool2d(2, stride=50).forward(np.ones((1, 1, 5, 5))).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2, kernel_size=3\).*smaller than the kernel"):
        nn.Conv2d(1, 2, 3).output_shape((1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"lenet image_size must be at least 4 x 4 \(two 2 x 2 poolings\); got 3 x 3"):
        lenet(1, 10, 3)


@pytest.mark.parametrize("layer", [CONV, POOLS[0], nn.GlobalAvgPool2d()], ids=lambda m: type(m).__name__)
def test_empty_images_and_non_numeric_input(layer):
    with pytest.raises(ValueError, match=r"expected images of at least 1 x 1 pixels; got shape \(2, 3, 0, 6\)"):
        layer.forward(np.zeros((2, 3, 0, 6)))
    with pytest.raises(TypeError, match=r"input must be numeric; got dtype <U1"):
        layer.forward(np.full((2, 3, 6, 6), "a"))


def test_an_empty_batch_gives_an_empty_output_and_gradient():
    x = np.zeros((0, 3, 6, 6), np.float32)
    conv = nn.Conv2d(3, 8, 3, rng=0)
    y = conv.forward(x)
    assert y.shape == (0, 8, 4, 4)
    assert conv.backward(y).shape == (0, 3, 6, 6) and not conv.weight.grad.any() and not conv.bias.grad.any()
    for layer, shape in ((nn.MaxPool2d(2), (0, 3, 3, 3)), (nn.AvgPool2d(2), (0, 3, 3, 3)), (nn.GlobalAvgPool2d(), (0, 3))):
        y = layer.forward(x)
        assert y.shape == shape and layer.backward(y).shape == x.shape


def test_flatten_needs_a_batch_axis_and_another():
    with pytest.raises(ValueError, match=r"Flatten\(\) expected input with a batch axis and at least one more, "
                                         r"\(N, \.\.\.\); got shape \(5,\)"):
        nn.Flatten().forward(np.zeros(5))


def test_backward_before_forward_and_wrong_gradient_shape():
    for layer in (nn.Conv2d(3, 2, 3), nn.MaxPool2d(2), nn.GlobalAvgPool2d(), nn.Flatten(),
                  nn.Residual(nn.Conv2d(3, 3, 1))):
        with pytest.raises(NoForwardError, match="backward\\(\\) was called before forward\\(\\)"):
            layer.backward(np.zeros((2, 2)))
    conv = nn.Conv2d(3, 2, 3)
    conv.forward(X)
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape \(2, 2, 4, 4\); "
                                         r"got \(2, 2, 4, 3\)"):
        conv.backward(np.zeros((2, 2, 4, 3)))


def test_architecture_arguments():
    with pytest.raises(ValueError, match=r"lenet n_classes must be a positive integer; got 0"):
        lenet(1, 0)
    with pytest.raises(ValueError, match=r"lenet image_size must be a positive integer or a pair .*; got 'big'"):
        lenet(1, 10, "big")
    with pytest.raises(ValueError, match=r"resnet width must be a positive integer; got 0"):
        resnet(3, 10, width=0)
    with pytest.raises(ValueError, match=r"resnet p_last must be a finite number > 0 and <= 1; got 1.5"):
        resnet(3, 10, p_last=1.5)
    with pytest.raises(ValueError, match=r"Residual mode must be one of \('row', 'batch'\); got 'image'"):
        resnet(3, 10, mode="image")


def test_no_nan_from_valid_extremes():
    """Large values and single-pixel windows stay finite."""
    x = np.full((1, 3, 5, 5), 3e4, np.float32)
    for layer in (nn.Conv2d(3, 2, 5, rng=0), nn.AvgPool2d(5), nn.MaxPool2d(1), nn.GlobalAvgPool2d()):
        y = layer.forward(x)
        assert np.isfinite(y).all()
        assert np.isfinite(layer.backward(np.ones_like(y))).all()
