"""The one table of gradient-check cases: every registered layer's own cases (training and
evaluation mode where they differ; each layer declares them as ``grad_cases``, inputs drawn away
from its kinks), small networks, every loss and every penalty.

``chainrule gradcheck`` runs one case of each; the test suite runs each at several shapes and
every reduction. A new layer declares its cases in its own file; a new loss or penalty adds a row
here; both then check it.

Kinks: ReLU and LeakyReLU use the subgradient of x <= 0 at x = 0; the hinge losses and L1 use 0
at their kinks (margin exactly 0, residual exactly 0, weight exactly 0). The inputs keep at least
0.05 away from every kink, far beyond the 1e-6 step of the central differences, so the numerical
derivative never straddles one.
"""
from __future__ import annotations

import zlib

import numpy as np

from . import losses, nn, registry, regularizers
from .layers._draw import away_from_zero, images, normal

F64 = np.float64

__all__ = ["module_cases", "NETWORKS", "LOSSES", "PENALTIES", "cases", "seed_of", "away_from_zero"]


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


# ---- modules: name, factory(n_features, rng), inputs(shape, rng) ------------------------------------
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


def _small_cnn(d, rng):
    return nn.Sequential(nn.Conv2d(d, 4, 3, padding=1, rng=rng, dtype=F64), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16, 3, rng=rng, dtype=F64))


#: networks of several layers, checked as a whole
NETWORKS = [
    ("MLP(train)", _mlp(True), normal()),
    ("MLP(eval)", _mlp(False), normal()),
    ("SmallCNN(train)", _small_cnn, images(size=4)),
]


def module_cases() -> list:
    """Every registered layer's ``grad_cases`` (in ``registry.LAYERS`` order), then ``NETWORKS``.

    Read when called, so a layer registered later (``registry.register_layer``) is included.

    Returns
    -------
    list of tuple
        ``(name, make(d, rng) -> module, inputs((N, d), rng) -> x)``; a layer's row without
        inputs gets normal ones.
    """
    rows = [row for cls in registry.LAYERS.values() for row in vars(cls).get("grad_cases", ())]
    return [(row[0], row[1], row[2] if len(row) > 2 else normal()) for row in rows] + NETWORKS


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
    for name, make, inputs in module_cases():
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
