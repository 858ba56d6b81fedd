"""The one table of gradient-check cases: every module (training and evaluation mode where they
differ), every loss and every penalty, with inputs drawn away from their kinks.

``chainrule gradcheck`` runs one case of each; the test suite runs each at several shapes and
every reduction. A new layer, loss or penalty is added here once and both check it.

Kinks: ReLU and LeakyReLU use the subgradient of x <= 0 at x = 0; the hinge losses and L1 use 0
at their kinks (margin exactly 0, residual exactly 0, weight exactly 0). The inputs keep at least
0.05 away from every kink, far beyond the 1e-6 step of the central differences, so the numerical
derivative never straddles one.
"""
from __future__ import annotations

import zlib

import numpy as np

from . import losses, nn, regularizers

F64 = np.float64

__all__ = ["MODULES", "LOSSES", "PENALTIES", "cases", "seed_of", "away_from_zero"]


def seed_of(*key) -> int:
    """A seed fixed by a case's parameters, the same in every process.

    ``hash()`` of strings changes with every process, so the seed is a CRC-32 of the ``repr``.

    Parameters
    ----------
    *key : object
        The case's parameters (seed, name, shape...), with a stable ``repr``.

    Returns
    -------
    int
    """
    return zlib.crc32(repr(key).encode())


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with abs(v) in [low, high], of either sign.

    ReLU's and L1's kinks (at 0) then stay far from the 1e-6 step of the central differences.

    Parameters
    ----------
    rng : numpy.random.Generator
        The case's generator.
    shape : tuple of int
        The array's shape.
    low : float, default 0.1
        The smallest magnitude.
    high : float, default 2.0
        The largest magnitude.

    Returns
    -------
    ndarray of float64
    """
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


# ---- modules: name, factory(n_features, rng), inputs(shape, rng) ------------------------------------
def _bn_eval(n, rng):
    bn = nn.BatchNorm1d(n, dtype=F64)
    bn.weight.value = rng.uniform(0.5, 2, n)
    bn.bias.value = rng.standard_normal(n)
    for _ in range(4):
        bn.forward(rng.standard_normal((6, n)) * 3 - 1)
    return bn.eval()


def _bn2d(train):
    def make(d, rng):
        bn = nn.BatchNorm2d(d, dtype=F64)
        bn.weight.value = rng.uniform(0.5, 2, d)
        bn.bias.value = rng.standard_normal(d)
        if not train:
            for _ in range(3):
                bn.forward(rng.standard_normal((4, d, 3, 3)) * 2 + 1)
            bn.eval()
        return bn
    return make


def _images(scale=1.0, shift=0.0, size=3):
    """(N, C, size, size) images for a batch shape (N, C)."""
    return lambda s, r: r.standard_normal((s[0], s[1], size, size)) * scale + shift


def _mlp(train):
    def make(d, rng):
        net = nn.Sequential(
            nn.Linear(d, 6, rng=rng, dtype=F64), nn.BatchNorm1d(6, dtype=F64), nn.Tanh(),
            nn.Dropout(0.3, rng=rng), nn.Linear(6, 3, rng=rng, dtype=F64), nn.Sigmoid(),
        )
        if not train:
            for _ in range(3):   # non-trivial running statistics for evaluation mode
                net.forward(rng.standard_normal((8, d)) * 2 + 1)
            net.eval()
        return net
    return make


def _normal(scale=1.0, shift=0.0):
    return lambda s, r: r.standard_normal(s) * scale + shift


# ---- image layers: a batch shape (N, d) becomes images (N, channels(d), size, size) ----------------
def _distinct(size, channels=None):
    """Images whose values are all at least 0.05 apart: a max-pooling window never has a tie
    within the 1e-6 step (a tie is max pooling's kink)."""
    def make(s, r):
        shape = (s[0], s[1] if channels is None else channels(s[1]), size, size)
        return r.permutation(int(np.prod(shape))).reshape(shape) * 0.05 - 1.0
    return make


def _wide(d):
    """More channels than ``layers.conv.FEW_CHANNELS``: the other patch layout."""
    return d + 7


def _wide_images(size):
    return lambda s, r: r.standard_normal((s[0], _wide(s[1]), size, size))


def _residual(train, mode="row", shortcut=False):
    """Residual(conv - batch norm - tanh - conv, [1 x 1 conv with stride 2]) with stochastic depth."""
    def make(d, rng):
        stride = 2 if shortcut else 1
        block = nn.Sequential(nn.Conv2d(d, 3, 3, stride, 1, bias=False, rng=rng, dtype=F64),
                              nn.BatchNorm2d(3, dtype=F64), nn.Tanh(), nn.Conv2d(3, 3, 3, 1, 1, rng=rng, dtype=F64))
        sc = nn.Conv2d(d, 3, 1, stride, rng=rng, dtype=F64) if shortcut or d != 3 else None
        res = nn.Residual(block, sc, survival_prob=0.6, mode=mode, rng=rng)
        if not train:
            for _ in range(3):
                res.forward(rng.standard_normal((4, d, 5, 5)))
            res.eval()
        return res
    return make


def _small_cnn(d, rng):
    return nn.Sequential(nn.Conv2d(d, 4, 3, padding=1, rng=rng, dtype=F64), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16, 3, rng=rng, dtype=F64))


MODULES = [
    ("Linear", lambda d, r: nn.Linear(d, 3, rng=r, dtype=F64), _normal()),
    ("Linear(bias=False)", lambda d, r: nn.Linear(d, 2, bias=False, rng=r, dtype=F64), _normal()),
    ("Linear(he)", lambda d, r: nn.Linear(d, 5, rng=r, dtype=F64, init="he"), _normal()),
    ("Identity", lambda d, r: nn.Identity(), _normal()),
    ("Sigmoid", lambda d, r: nn.Sigmoid(), _normal(3)),
    ("Tanh", lambda d, r: nn.Tanh(), _normal(2)),
    ("ReLU", lambda d, r: nn.ReLU(), lambda s, r: away_from_zero(r, s)),
    ("LeakyReLU", lambda d, r: nn.LeakyReLU(0.1), lambda s, r: away_from_zero(r, s)),
    ("Softmax", lambda d, r: nn.Softmax(), _normal(2)),
    ("Dropout(train)", lambda d, r: nn.Dropout(0.4, rng=r), _normal()),
    ("Dropout(eval)", lambda d, r: nn.Dropout(0.4, rng=r).eval(), _normal()),
    ("BatchNorm1d(train)", lambda d, r: nn.BatchNorm1d(d, dtype=F64), _normal(2, 1)),
    ("BatchNorm1d(eval)", _bn_eval, _normal()),
    ("BatchNorm2d(train)", _bn2d(True), _images(2, 1)),
    ("BatchNorm2d(eval)", _bn2d(False), _images()),
    ("MLP(train)", _mlp(True), _normal()),
    ("MLP(eval)", _mlp(False), _normal()),
    ("Conv2d(train)", lambda d, r: nn.Conv2d(d, 3, 3, padding=1, rng=r, dtype=F64), _images(size=5)),
    ("Conv2d(eval)", lambda d, r: nn.Conv2d(d, 3, 3, padding=1, rng=r, dtype=F64).eval(), _images(size=5)),
    ("Conv2d(stride, no bias)", lambda d, r: nn.Conv2d(d, 2, (3, 2), (2, 1), (0, 1), bias=False, rng=r, dtype=F64),
     _images(size=6)),
    ("Conv2d(many channels)", lambda d, r: nn.Conv2d(_wide(d), 4, 3, 2, 1, rng=r, dtype=F64), _wide_images(5)),
    ("Conv2d(1x1)", lambda d, r: nn.Conv2d(_wide(d), 2, 1, rng=r, dtype=F64, init="he"), _wide_images(3)),
    ("MaxPool2d", lambda d, r: nn.MaxPool2d(2), _distinct(6)),
    ("MaxPool2d(overlapping)", lambda d, r: nn.MaxPool2d(3, stride=2), _distinct(7)),
    ("MaxPool2d(many channels)", lambda d, r: nn.MaxPool2d((2, 3), stride=(1, 2)), _distinct(5, _wide)),
    ("AvgPool2d", lambda d, r: nn.AvgPool2d(2), _images(size=5)),
    ("AvgPool2d(overlapping)", lambda d, r: nn.AvgPool2d(3, stride=1), _images(size=5)),
    ("GlobalAvgPool2d", lambda d, r: nn.GlobalAvgPool2d(), _images(size=4)),
    ("Flatten", lambda d, r: nn.Flatten(), _images(size=3)),
    ("Residual(train)", _residual(True), _images(size=5)),                     # row mode
    ("Residual(train, batch)", _residual(True, "batch"), _images(size=5)),
    ("Residual(train, projection)", _residual(True, shortcut=True), _images(size=5)),
    ("Residual(eval)", _residual(False, shortcut=True), _images(size=5)),
    ("SmallCNN(train)", _small_cnn, _images(size=4)),
]


# ---- losses: name, make(reduction), data(n, c, rng) -> (input, target) ------------------------------
def _labels(n, c, rng):
    return rng.integers(0, c, size=n)


def _hinge_scores(n, c, rng, margin=1.0):
    """Scores whose margin terms s_j - s_y + margin all keep 0.05 away from 0."""
    y = _labels(n, c, rng)
    s = rng.standard_normal((n, c)) * 2
    for _ in range(1000):
        m = s - s[np.arange(n), y][:, None] + margin
        m[np.arange(n), y] = 1.0
        near = np.abs(m) < 0.05
        if not near.any():
            return s, y
        s[near] += 0.2
    raise RuntimeError("could not draw hinge scores away from the kinks")


def _binary_hinge_data(n, c, rng):
    y = rng.choice([-1.0, 1.0], size=n)
    s = rng.standard_normal(n) * 2
    s = np.where(np.abs(1 - y * s) < 0.05, s + 0.3, s)
    return s, y


def _probs(n, c, rng):
    return rng.uniform(0.05, 0.95, size=(n, c)), _labels(n, c, rng)


def _normalised_probs(n, c, rng):
    p = rng.dirichlet(np.full(c, 2.0), size=n) * 0.9 + 0.1 / c
    return p, _labels(n, c, rng)


def _scores(n, c, rng):
    return rng.standard_normal((n, c)) * 3, _labels(n, c, rng)


def _l1_data(n, c, rng):
    y = rng.standard_normal((n, c))
    return y + away_from_zero(rng, (n, c)), y


def _column(data):
    return lambda n, c, g: (lambda s, y: (s[:, None], y))(*data(n, c, g))


def _first_column(data):
    return lambda n, c, g: (lambda s, y: (s[:, 0], y[:, 0]))(*data(n, c, g))


LOSSES = [
    ("BinaryHinge", lambda r: losses.BinaryHinge(reduction=r), _binary_hinge_data),
    ("BinaryHinge(N,1)", lambda r: losses.BinaryHinge(reduction=r), _column(_binary_hinge_data)),
    ("MulticlassHinge", lambda r: losses.MulticlassHinge(reduction=r), _hinge_scores),
    ("MulticlassHinge(margin=2)", lambda r: losses.MulticlassHinge(2.0, reduction=r),
     lambda n, c, g: _hinge_scores(n, c, g, margin=2.0)),
    ("MulticlassHinge(max)", lambda r: losses.MulticlassHinge(reduction=r, form="max"), _hinge_scores),
    ("MulticlassHinge(/C)", lambda r: losses.MulticlassHinge(reduction=r, divide_by_classes=True), _hinge_scores),
    ("LogLikelihood", lambda r: losses.LogLikelihood(reduction=r), _normalised_probs),
    ("CrossEntropy", lambda r: losses.CrossEntropy(reduction=r), _probs),
    ("CrossEntropy(targets)", lambda r: losses.CrossEntropy(reduction=r),
     lambda n, c, g: (g.uniform(0.05, 0.95, (n, c)), g.uniform(0, 1, (n, c)))),
    ("CrossEntropy(binary)", lambda r: losses.CrossEntropy(reduction=r),
     lambda n, c, g: (g.uniform(0.05, 0.95, n), g.integers(0, 2, n))),
    ("SoftmaxLogLikelihood", lambda r: losses.SoftmaxLogLikelihood(reduction=r), _scores),
    ("SoftmaxCrossEntropy", lambda r: losses.SoftmaxCrossEntropy(reduction=r), _scores),
    ("SigmoidCrossEntropy", lambda r: losses.SigmoidCrossEntropy(reduction=r), _scores),
    ("SigmoidCrossEntropy(binary)", lambda r: losses.SigmoidCrossEntropy(reduction=r),
     lambda n, c, g: (g.standard_normal(n) * 3, g.integers(0, 2, n))),
    ("L1Loss", lambda r: losses.L1Loss(reduction=r), _l1_data),
    ("L1Loss(1-D)", lambda r: losses.L1Loss(reduction=r), _first_column(_l1_data)),
    ("L2Loss", lambda r: losses.L2Loss(reduction=r),
     lambda n, c, g: (g.standard_normal((n, c)), g.standard_normal((n, c)))),
    ("L2Loss(1-D)", lambda r: losses.L2Loss(reduction=r), lambda n, c, g: (g.standard_normal(n), g.standard_normal(n))),
    ("HalfSquaredError", lambda r: losses.HalfSquaredError(reduction=r),
     lambda n, c, g: (g.standard_normal((n, c)), g.standard_normal((n, c)))),
    ("HalfPoissonDeviance", lambda r: losses.HalfPoissonDeviance(reduction=r),
     lambda n, c, g: (g.standard_normal((n, c)), g.poisson(2.0, (n, c)).astype(float))),
]


# ---- penalties: name, make() --------------------------------------------------------------------------
PENALTIES = [
    ("L2", lambda: regularizers.L2(0.3)),
    ("L1", lambda: regularizers.L1(0.7)),
    ("ElasticNet", lambda: regularizers.ElasticNet(0.5, beta=0.25)),
]


def cases(seed: int = 0, batch: tuple = (6, 4), classes: int = 4):
    """One case of every module, loss (mean reduction) and penalty, for ``chainrule gradcheck``.

    Parameters
    ----------
    seed : int, default 0
        Combined with each case's name (``seed_of``) to draw its object and data.
    batch : tuple of int, default (6, 4)
        (N, d): samples and features of the modules' inputs; N samples for the losses.
    classes : int, default 4
        The number of classes of the classification losses.

    Returns
    -------
    list of tuple
        ``(name, object, input, target)``; target is None for modules and penalties.
    """
    out = []
    for name, make, inputs in MODULES:
        rng = np.random.default_rng(seed_of(seed, name))
        out.append((name, make(batch[1], rng), inputs(batch, rng), None))
    for name, make, data in LOSSES:
        rng = np.random.default_rng(seed_of(seed, name))
        x, target = data(batch[0], classes, rng)
        out.append((name, make("mean"), x, target))
    for name, make in PENALTIES:
        rng = np.random.default_rng(seed_of(seed, name))
        out.append((f"{name} penalty", make(), away_from_zero(rng, (3, 4), 0.05, 1.5), None))
    return out


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
