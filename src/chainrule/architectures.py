"""Network builders for images: the small CNN of issue 12 (``lenet``) and a small ResNet for
32 x 32 inputs with stochastic depth (``resnet``).

Both return a plain ``nn.Sequential`` of chainrule layers; its ``state_dict`` has PyTorch's names
and layouts, so the same tensors load strictly into the equivalent ``torch.nn`` network
(``benchmarks/torch_interop.py`` builds it and compares outputs). One ``rng`` (a seed or a
``numpy.random.Generator``) draws every initial weight and, for the ResNet, every
stochastic-depth mask: one ``random_state`` fixes the whole run.
"""
from __future__ import annotations

import numpy as np

from ._helpers.validation import check_dtype, check_int, check_number, resolve_rng
from .core import Sequential
from .layers import BatchNorm2d, Conv2d, Flatten, GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Residual
from .layers._images import size_pair
from .layers.residual import linear_decay

__all__ = ["lenet", "resnet", "linear_decay"]


def lenet(in_channels: int = 1, n_classes: int = 10, image_size=28, *, rng=None, dtype=np.float32,
          init: str = "he") -> Sequential:
    """A LeNet-style convolutional network for small images (MNIST).

    Conv2d(C, 32, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), ReLU,
    MaxPool2d(2), Flatten, Linear(64 (H/4) (W/4), 128), ReLU, Linear(128, n_classes).

    Parameters
    ----------
    in_channels : int, default 1
        C, the channels of the input images.
    n_classes : int, default 10
        The number of outputs (scores).
    image_size : int or tuple of int, default 28
        H (= W) or (H, W), at least 4 x 4; each pooling halves it (rounding down, as PyTorch).
    rng : int or numpy.random.Generator, optional
        Seed or generator for the initial weights.
    dtype : dtype, default float32
        The parameters' dtype.
    init : {"he", "uniform"}, default "he"
        ``"he"``: He for the layers followed by ReLU, Glorot for the last, as chainrule's MLPs;
        ``"uniform"``: PyTorch's default for every layer.

    Returns
    -------
    Sequential
        Inputs (N, C, H, W), outputs (N, n_classes).

    Raises
    ------
    ValueError
        If the images are smaller than 4 x 4, ``init`` is unknown or a size is not positive.
    """
    c = check_int("lenet in_channels", in_channels)
    k = check_int("lenet n_classes", n_classes)
    h, w = size_pair("lenet", "image_size", image_size)
    if h < 4 or w < 4:
        raise ValueError(f"lenet image_size must be at least 4 x 4 (two 2 x 2 poolings); got {h} x {w}")
    if init not in ("he", "uniform"):
        raise ValueError(f"lenet init must be 'he' or 'uniform'; got {init!r}")
    gen, dt = resolve_rng(rng), check_dtype(dtype)
    last = "glorot" if init == "he" else "uniform"
    return Sequential(
        Conv2d(c, 32, 3, padding=1, rng=gen, dtype=dt, init=init), ReLU(), MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1, rng=gen, dtype=dt, init=init), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(64 * (h // 2 // 2) * (w // 2 // 2), 128, rng=gen, dtype=dt, init=init), ReLU(),
        Linear(128, k, rng=gen, dtype=dt, init=last),
    )


def basic_block(in_channels: int, out_channels: int, stride: int, survival_prob: float, mode: str, rng, dtype):
    """Residual(conv3x3(stride) - BN - ReLU - conv3x3 - BN, shortcut) as in He et al. (2016):
    the shortcut is the identity when the shape is kept, else a 1 x 1 convolution with the
    stride and a batch norm (torchvision's projection). Convolutions have no bias (the batch norm
    after them has one)."""
    block = Sequential(
        Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, rng=rng, dtype=dtype, init="he"),
        BatchNorm2d(out_channels, dtype=dtype), ReLU(),
        Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, rng=rng, dtype=dtype, init="he"),
        BatchNorm2d(out_channels, dtype=dtype),
    )
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=False, rng=rng, dtype=dtype, init="he"),
                              BatchNorm2d(out_channels, dtype=dtype))
    return Residual(block, shortcut, survival_prob=survival_prob, mode=mode, rng=rng)


def resnet(in_channels: int = 3, n_classes: int = 10, *, width: int = 16, blocks_per_stage: int = 3,
           p_last: float = 0.5, mode: str = "row", rng=None, dtype=np.float32) -> Sequential:
    """The CIFAR ResNet of He et al. (2016, section 4.2) with stochastic depth (Huang et al., 2016).

    Conv2d(C, width, 3, padding=1), BatchNorm2d, ReLU; three stages of ``blocks_per_stage`` basic
    blocks (each a ``Residual`` followed by ReLU) with width, 2 width and 4 width channels, the
    second and third starting with stride 2 (32 x 32 -> 16 x 16 -> 8 x 8); GlobalAvgPool2d;
    Linear(4 width, n_classes). Depth 6 ``blocks_per_stage`` + 2 (3 gives ResNet-20).

    Parameters
    ----------
    in_channels : int, default 3
        C, the channels of the input images.
    n_classes : int, default 10
        The number of outputs (scores).
    width : int, default 16
        The channels of the first stage.
    blocks_per_stage : int, default 3
        Basic blocks per stage.
    p_last : float in (0, 1], default 0.5
        Stochastic depth: the survival probability of the last block; the 3 ``blocks_per_stage``
        blocks follow the paper's linear decay rule (``linear_decay``) down to it. 1 turns it off.
    mode : {"row", "batch"}, default "row"
        A survival draw per image, or one per batch.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the initial weights and the survival draws.
    dtype : dtype, default float32
        The parameters' dtype.

    Returns
    -------
    Sequential
        Inputs (N, C, H, W), outputs (N, n_classes).

    Raises
    ------
    ValueError
        If a size is not positive or ``p_last`` is outside (0, 1].
    """
    c = check_int("resnet in_channels", in_channels)
    k = check_int("resnet n_classes", n_classes)
    w = check_int("resnet width", width)
    n = check_int("resnet blocks_per_stage", blocks_per_stage)
    p_last = check_number("resnet p_last", p_last, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
    gen, dt = resolve_rng(rng), check_dtype(dtype)
    survival = linear_decay(3 * n, p_last)
    layers = [Conv2d(c, w, 3, padding=1, bias=False, rng=gen, dtype=dt, init="he"), BatchNorm2d(w, dtype=dt), ReLU()]
    prev = w
    for stage in range(3):
        out = w * 2 ** stage
        for j in range(n):
            stride = 2 if (stage > 0 and j == 0) else 1
            layers.append(basic_block(prev, out, stride, survival[stage * n + j], mode, gen, dt))
            layers.append(ReLU())
            prev = out
    layers += [GlobalAvgPool2d(), Linear(prev, k, rng=gen, dtype=dt, init="glorot")]
    return Sequential(*layers)
