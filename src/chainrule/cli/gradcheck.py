"""chainrule gradcheck: every module, loss and penalty against central differences (float64)."""
from __future__ import annotations

import numpy as np

from .. import losses, nn, regularizers
from ..grad import check_gradients
from ._types import SEED, Number

F64 = np.float64


def _away_from_zero(rng, shape):
    """Inputs at least 0.1 from 0: ReLU's and L1's kinks stay far from the 1e-6 step."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


def _hinge_scores(rng, n=6, c=4):
    y = rng.integers(0, c, n)
    s = rng.standard_normal((n, c)) * 2
    for _ in range(100):
        m = s - s[np.arange(n), y][:, None] + 1
        m[np.arange(n), y] = 1
        near = np.abs(m) < 0.05
        if not near.any():
            break
        s[near] += 0.2
    return s, y


def cases(seed: int = 0):
    """(name, object, input, target) for every module (train and eval), loss and penalty."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 4))
    bn_eval = nn.BatchNorm1d(4, dtype=F64)
    for _ in range(3):
        bn_eval.forward(rng.standard_normal((8, 4)) * 2 + 1)
    bn_eval.eval()
    n, c = 6, 4
    y = rng.integers(0, c, n)
    probs = rng.dirichlet(np.full(c, 2.0), size=n) * 0.9 + 0.1 / c
    hinge_s, hinge_y = _hinge_scores(rng, n, c)
    bin_y = rng.choice([-1.0, 1.0], n)
    bin_s = rng.standard_normal(n) * 2
    bin_s = np.where(np.abs(1 - bin_y * bin_s) < 0.05, bin_s + 0.3, bin_s)
    reg_y = rng.standard_normal((n, c))
    out = [
        ("Linear", nn.Linear(4, 3, rng=rng, dtype=F64), x, None),
        ("Sigmoid", nn.Sigmoid(), x * 3, None),
        ("Tanh", nn.Tanh(), x * 2, None),
        ("ReLU", nn.ReLU(), _away_from_zero(rng, (6, 4)), None),
        ("LeakyReLU", nn.LeakyReLU(0.1), _away_from_zero(rng, (6, 4)), None),
        ("Softmax", nn.Softmax(), x * 2, None),
        ("Dropout (train)", nn.Dropout(0.4, rng=rng), x, None),
        ("Dropout (eval)", nn.Dropout(0.4, rng=rng).eval(), x, None),
        ("BatchNorm1d (train)", nn.BatchNorm1d(4, dtype=F64), x * 2 + 1, None),
        ("BatchNorm1d (eval)", bn_eval, x, None),
        ("MLP: Linear-BN-ReLU-Dropout-Linear", nn.Sequential(
            nn.Linear(4, 8, rng=rng, dtype=F64), nn.BatchNorm1d(8, dtype=F64), nn.Tanh(),
            nn.Dropout(0.3, rng=rng), nn.Linear(8, 3, rng=rng, dtype=F64)), x, None),
        ("BinaryHinge", losses.BinaryHinge(), bin_s, bin_y),
        ("MulticlassHinge", losses.MulticlassHinge(), hinge_s, hinge_y),
        ("LogLikelihood", losses.LogLikelihood(), probs, y),
        ("CrossEntropy", losses.CrossEntropy(), probs, y),
        ("SoftmaxLogLikelihood", losses.SoftmaxLogLikelihood(), x * 3, y),
        ("SoftmaxCrossEntropy", losses.SoftmaxCrossEntropy(), x * 3, y),
        ("SigmoidCrossEntropy", losses.SigmoidCrossEntropy(), x * 3, y),
        ("L1Loss", losses.L1Loss(), reg_y + _away_from_zero(rng, (n, c)), reg_y),
        ("L2Loss", losses.L2Loss(), rng.standard_normal((n, c)), reg_y),
        ("L2 penalty", regularizers.L2(0.3), _away_from_zero(rng, (3, 4)), None),
        ("L1 penalty", regularizers.L1(0.3), _away_from_zero(rng, (3, 4)), None),
        ("ElasticNet penalty", regularizers.ElasticNet(0.3, 0.5), _away_from_zero(rng, (3, 4)), None),
    ]
    return out


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="check every module, loss and penalty against central differences",
                       description="Compares each hand-derived gradient with central differences in float64 and "
                                   "prints the largest relative error of each. Exit code 1 if any exceeds --tol.")
    p.add_argument("--tol", type=Number(float, 0, 1, low_open=True), default=1e-6,
                   help="largest relative error that passes")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the random inputs")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    failed = 0
    print(f"{'piece':<38s}{'checked':<44s}{'largest rel. error':>20s}")
    for name, obj, x, target in cases(args.seed):
        report = check_gradients(obj, x, target, tol=args.tol, name=name) if target is not None \
            else check_gradients(obj, x, tol=args.tol, name=name)
        ok = report.max_error < args.tol
        failed += not ok
        checked = ", ".join(report.errors)
        print(f"{name:<38s}{checked[:42]:<44s}{report.max_error:>14.2e}  {'ok' if ok else 'FAILED'}")
    total = len(cases(args.seed))
    print(f"{total - failed} of {total} pass (tolerance {args.tol:g}; float64, step 1e-6)")
    return 1 if failed else 0
