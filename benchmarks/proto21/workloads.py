"""The two networks and data sets the issue-21 measurements share (as benchmarks/convnets.py builds them).

lenet: ``architectures.lenet(1, 10, 28)`` on the real MNIST test images (the first 8,000, pixels
/ 255, tiled as benchmarks/compare.py tiles them); ResNet-20: ``architectures.resnet(3, 10,
width=16, blocks_per_stage=3, p_last)`` on synthetic 32 x 32 x 3 images with learnable labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def lenet_build(rng, dtype=np.float32):
    from chainrule.architectures import lenet
    return lenet(1, 10, 28, rng=rng, dtype=dtype)


def resnet_build(rng, dtype=np.float32, p_last=0.5):
    from chainrule.architectures import resnet
    return resnet(3, 10, width=16, blocks_per_stage=3, p_last=p_last, rng=rng, dtype=dtype)


def resnet_build_no_sd(rng, dtype=np.float32):
    return resnet_build(rng, dtype, p_last=1.0)


def mnist_images(rows: int = 8000):
    """(X (rows, 1, 28, 28) float32, y int64): the first 8,000 MNIST test images, tiled to ``rows``."""
    from chainrule.datasets import load_mnist
    d = load_mnist(MNIST, download=False, subset="test", progress=False)
    X = d.X_test.reshape(10000, 1, 28, 28)[:8000].astype(np.float32) / 255.0
    y = d.y_test[:8000].astype(np.int64)
    reps = -(-rows // 8000)
    return (np.ascontiguousarray(np.tile(X, (reps, 1, 1, 1))[:rows]), np.tile(y, reps)[:rows])


def mnist_test():
    """The last 2,000 MNIST test images (never trained on), as compare.py holds them out."""
    from chainrule.datasets import load_mnist
    d = load_mnist(MNIST, download=False, subset="test", progress=False)
    return (d.X_test.reshape(10000, 1, 28, 28)[8000:].astype(np.float32) / 255.0,
            d.y_test[8000:].astype(np.int64))


def cifar_like(rows: int, seed: int = 0):
    """Synthetic 32 x 32 x 3 images whose mean carries the label (benchmarks/convnets.py's data)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, rows)
    X = (rng.standard_normal((rows, 3, 32, 32)) * 0.5 + y[:, None, None, None] / 10).astype(np.float32)
    return X, y.astype(np.int64)
