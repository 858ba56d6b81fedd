"""chainrule explain: the notes' worked computations, step by step, computed by the library.

Logarithms are natural; where the notes' figure prints a base-10 value or drops a sign, the
explanation says so beside the natural-log value.
"""
from __future__ import annotations

import math

import numpy as np

from .. import grad, losses, nn
from ..losses.likelihood import prob_floor
from ._errors import UsageError
from ._types import EXPLAIN_NUMBER, Matrix, Number, Numbers

LABEL = Number(int, 0)
PROBABILITY = Number(float, 0, 1)

NOTES_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]  # rows: the cat, car, frog images
NOTES_CLASSES = ["cat", "car", "frog"]
NOTES_P = [0.1, 0.7, 0, 0, 0, 0, 0, 0, 0, 0.2]


def num(v: float) -> str:
    """The notes' style: one decimal from 1 up (24.5, 164.0), two below (0.18); large values
    in scientific notation (2.2e+04)."""
    if abs(v) >= 1e4:
        return f"{v:.2g}" if abs(v) < 1e6 else f"{v:.3g}"
    return f"{v:.1f}" if abs(v) >= 1 else f"{v:.2f}"


def dec4(v: float) -> str:
    """Four decimals, or six significant digits for values too large to read that way."""
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.6g}"


def dec6(v: float) -> str:
    """Six decimals, or nine significant digits for large values."""
    return f"{v:.6f}" if abs(v) < 1e6 else f"{v:.9g}"


def short(v: float) -> str:
    """'0.1', '1e-300', '0.99999999': the fewest digits that give the value back."""
    text = f"{v:g}"
    return text if float(text) == v else repr(float(v))


def mat(M) -> str:
    """[[2, 2], [-4, 3]]: a matrix as the notes write it."""
    return "[" + ", ".join("[" + ", ".join(f"{float(v):g}" for v in r) + "]" for r in M) + "]"


def row(values, fmt=num, width=8) -> str:
    """Values right-aligned in columns of ``width``; a wider value still gets a space before it."""
    texts = [fmt(float(v)) for v in values]
    return "".join(f"{t:>{width}}" if len(t) < width else " " + t for t in texts)


def add_parser(sub):
    p = sub.add_parser("explain", help="the notes' worked examples, step by step",
                       description="Step-by-step computations of the notes' examples, done by the library.")
    topics = p.add_subparsers(dest="topic", required=True, metavar="TOPIC")

    t = topics.add_parser("softmax", help="softmax of scores and the log-likelihood loss (default: the notes' cat)")
    t.add_argument("scores", nargs="*", type=EXPLAIN_NUMBER, default=[3.2, 5.1, -1.7], help="class scores")
    t.add_argument("--label", type=LABEL, default=0, help="index of the true class (0: the notes' cat)")
    t.set_defaults(run=softmax)

    t = topics.add_parser("hinge", help="the multiclass SVM loss on the notes' three-image table")
    t.add_argument("--scores", type=Matrix(EXPLAIN_NUMBER), default=NOTES_SCORES,
                   help="one row of scores per image, e.g. '3.2,5.1,-1.7;1.3,4.9,2.0'")
    t.add_argument("--labels", type=Numbers(LABEL), default=None,
                   help="true class of each row (default: 0, 1, 2 ...)")
    t.add_argument("--margin", type=Number(float, 0, 1e6), default=1.0, help="the margin Delta")
    t.set_defaults(run=hinge)

    t = topics.add_parser("cross-entropy", help="log-likelihood and cross-entropy of probabilities (the notes' p)")
    t.add_argument("--p", type=Numbers(PROBABILITY, min_count=2), default=NOTES_P, help="probabilities")
    t.add_argument("--label", type=LABEL, default=1, help="index of the true class (1: the notes' class 2)")
    t.set_defaults(run=cross_entropy)

    for name in ("l1", "l2"):
        t = topics.add_parser(name, help=f"the {name.upper()} regression loss of the notes' example")
        t.add_argument("--target", type=Numbers(EXPLAIN_NUMBER), default=[0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                       help="target values y")
        t.add_argument("--prediction", type=Numbers(EXPLAIN_NUMBER), default=NOTES_P, help="predicted values s")
        t.set_defaults(run=regression, which=name)

    t = topics.add_parser("chain-rule", help="f(x) = 3(2x^2 - 1)^2 - 2(2x^2 - 1) + 5 by the chain rule")
    t.add_argument("--x", type=EXPLAIN_NUMBER, default=1.0, help="where to differentiate")
    t.set_defaults(run=chain_rule)

    t = topics.add_parser("jacobian", help="Jacobian of f(x) = (2x1 + x2^2, -x1^2 + 3x2, 4x1x2)")
    t.add_argument("--at", type=Numbers(EXPLAIN_NUMBER, count=2), default=[2.0, 1.0], help="the point x1,x2")
    t.set_defaults(run=jacobian)

    t = topics.add_parser("hessian", help="gradient and Hessian of the notes' six-hump function")
    t.add_argument("--at", type=Numbers(EXPLAIN_NUMBER, count=2), default=[0.0, 1.0], help="the point x1,x2")
    t.set_defaults(run=hessian)

    t = topics.add_parser("backprop", help="one layer s = Wx + b, its activation and loss: dL/dp, dL/ds, dL/dW, dL/db")
    t.add_argument("--x", type=Numbers(EXPLAIN_NUMBER), default=[0.56, 2.31, 0.24, 0.02],
                   help="input (the notes' 4 pixels / 100)")
    t.add_argument("--W", type=Matrix(EXPLAIN_NUMBER), default=[[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0],
                                                                [0.0, 0.25, 0.2, -0.3]],
                   help="weights, one row per class")
    t.add_argument("--b", type=Numbers(EXPLAIN_NUMBER), default=[1.1, 3.2, -1.2], help="biases, one per class")
    t.add_argument("--label", type=LABEL, default=0, help="index of the true class")
    t.add_argument("--activation", choices=("softmax", "sigmoid"), default="softmax", help="activation p = f(s)")
    t.add_argument("--loss", choices=("log-likelihood", "cross-entropy", "l2"), default="log-likelihood",
                   help="loss on p")
    t.set_defaults(run=backprop)
    return p


def _check_label(label, n):
    if not 0 <= label < n:
        raise UsageError(f"--label must be a class index in [0, {n}); got {label}")


def softmax(args) -> int:
    s = np.array(args.scores, dtype=np.float64)
    if s.size < 2:
        raise UsageError(f"softmax needs at least two scores; got {s.size}")
    _check_label(args.label, s.size)
    y = args.label
    loss = losses.SoftmaxLogLikelihood()       # the library's stable softmax: scores like 10 0 -800 stay finite
    value = float(loss(s[None], [y]))
    g = loss.backward()[0]
    p = nn.Softmax().forward(s[None])[0]
    m, log_z = float(s.max()), value + float(s[y])     # -ln p_y = ln sum_j e^{s_j} - s_y
    print("softmax classifier: p_k = e^{s_k} / sum_j e^{s_j}, then L = -ln p_y   (natural log)")
    print(f"  scores s           {row(s)}")
    if m <= 300:
        e = np.exp(s)
        print(f"  exp(s)             {row(e)}      sum = {num(e.sum())}")
    else:
        shifted = np.exp(s - m)
        print(f"  exp(s - {m:g}) {row(shifted)}      sum = {num(shifted.sum())}   (e^s itself overflows: "
              f"shifted by the largest score, which cancels in p)")
    print(f"  normalise p        {row(p, lambda v: f'{v:.2f}')}")
    print(f"  loss L = -ln p_{y} = ln sum_j e^(s_j) - s_{y} = {log_z:.4f} - ({s[y]:g})   {value:.2f}   ({value:.4f})")
    if s.tolist() == NOTES_SCORES[0] and y == 0:            # the notes' worked example: the cat
        print(f"  note: the notes print {value / math.log(10):.2f} here: that is -log10 p_{y}, the base-10 logarithm; "
              f"the gradients of the notes assume the natural log, which gives {value:.2f}")
    else:
        print(f"  note: in base 10 this is -log10 p_{y} = {value / math.log(10):.2f}, the logarithm the notes' worked "
              f"example prints (0.89 for its cat); their gradients assume the natural log, used here")
    print(f"  gradient dL/ds = p - onehot(y) {row(g, dec4, 9)}")
    ce = float(losses.SoftmaxCrossEntropy()(s[None], [y]))
    print(f"  softmax + cross-entropy instead: L = -ln p_y - sum_(k != y) ln(1 - p_k) = {ce:.4f}")
    return 0


def hinge(args) -> int:
    S = np.array(args.scores, dtype=np.float64)
    n, c = S.shape
    labels = list(range(n)) if args.labels is None else args.labels
    if len(labels) != n:
        raise UsageError(f"--labels needs one label per row ({n}); got {len(labels)}")
    for y in labels:
        _check_label(y, c)
    names = NOTES_CLASSES if c == 3 else [str(j) for j in range(c)]
    loss = losses.MulticlassHinge(args.margin, reduction="none")
    per = loss(S, labels)
    m = args.margin
    print(f"multiclass SVM (hinge) loss: L_i = sum_(j != y_i) max(0, s_j - s_(y_i) + {m:g})")
    for i, y in enumerate(labels):
        s = S[i]
        terms = [j for j in range(c) if j != y]
        expr = " + ".join(f"max(0, {s[j]:g} - {'(' + format(s[y], 'g') + ')' if s[y] < 0 else format(s[y], 'g')} + {m:g})" for j in terms)
        inner = " + ".join(f"max(0, {s[j] - s[y] + m:.1f})" for j in terms)
        vals = " + ".join(f"{max(0.0, s[j] - s[y] + m):.1f}" for j in terms)
        print(f"  image {i + 1} ({names[y]}): {expr}")
        print(f"      = {inner} = {vals} = {per[i]:.1f}")
    mean = float(losses.MulticlassHinge(args.margin)(S, labels))
    print(f"  L = ({' + '.join(f'{v:.1f}' for v in per)}) / {n} = {mean:.2f}   ({mean:.4f})")
    return 0


def cross_entropy(args) -> int:
    p = np.array(args.p, dtype=np.float64)
    _check_label(args.label, p.size)
    y = args.label
    if p[y] == 0:
        raise UsageError(f"--p gives the true class {y} probability 0: -ln 0 is infinite; give it a value > 0")
    ones = [j for j in range(p.size) if j != y and p[j] == 1]
    if ones:
        raise UsageError(f"--p gives class {ones[0]} (not the true class {y}) probability 1: -ln(1 - 1) is infinite")
    ll, ce = losses.LogLikelihood(), losses.CrossEntropy()
    v_ll = float(ll(p[None], [y]))
    g_ll = ll.backward()[0]
    v_ce = float(ce(p[None], [y]))
    g_ce = ce.backward()[0]
    print(f"p = {''.join(f' {short(v):>4}' for v in p)}    true class y = {y} (the notes count from 1: class {y + 1})")
    print(f"log-likelihood: L = -ln p_y = -ln {short(p[y])} = {v_ll:.4f}")
    print(f"  dL/dp = -(0, .., 1/p_y, .., 0): {row(g_ll, dec4, 9)}")
    terms = [f"-ln {short(p[y])}"] + [f"-ln(1 - {short(p[j])})" for j in range(p.size) if j != y and p[j] != 0]
    print("cross-entropy: L = -sum_j [z_j ln p_j + (1 - z_j) ln(1 - p_j)]")
    print(f"  = {' '.join(terms)}   (terms with p_j = 0 add -ln 1 = 0)")
    print(f"  = {v_ce:.4f}")
    floor = prob_floor(np.float64)
    if p[y] < floor or any(1 - p[j] < floor for j in range(p.size) if j != y):
        print(f"  note: a probability within {floor:.2g} of 0 (or 1) is clamped there, so that -ln p stays finite "
              f"(at most {-math.log(floor):.1f} per term) and so do the gradients")
    print(f"  dL/dp_j = -1/p_y at the label, +1/(1 - p_j) elsewhere: {row(g_ce, dec4, 9)}")
    print("  note: the notes' vector prints -1/(1 - p_j) for j != y: it drops that sign; the numerical check agrees with +:")
    q = np.where((p < 1e-3) | (p > 1 - 1e-3), 0.5, p)     # central differences need room on both sides
    num_g = grad.numerical_gradient(lambda z: ce(z[None], [y]), q)
    ce(q[None], [y])
    print(f"  at p with values within 0.001 of 0 or 1 replaced by 0.5, analytic vs numerical relative error "
          f"{grad.relative_error(ce.backward()[0], num_g):.1e}")
    return 0


def regression(args) -> int:
    y = np.array(args.target, dtype=np.float64)
    s = np.array(args.prediction, dtype=np.float64)
    if y.shape != s.shape:
        raise UsageError(f"--target and --prediction need the same length; got {y.size} and {s.size}")
    loss, formula, term, gradient = {
        "l1": (losses.L1Loss(), "L1 regression loss: L = sum_k |y_k - s_k|", "|{:g} - {:g}|", "sign(s - y)"),
        "l2": (losses.L2Loss(), "L2 regression loss: L = sum_k (y_k - s_k)^2   (no 1/2)", "({:g} - {:g})^2",
               "-2 (y - s)"),
    }[args.which]
    value = float(loss(s[None], y[None]))
    print(formula)
    print(f"  = {' + '.join(term.format(a, b) for a, b in zip(y, s) if a != b)} = {value:.4f}")
    print(f"  dL/ds = {gradient}: {row(loss.backward()[0], lambda v: f'{v:g}', 6)}")
    return 0


def chain_rule(args) -> int:
    x = args.x
    h = lambda t: 2 * t**2 - 1             # noqa: E731
    g = lambda u: 3 * u**2 - 2 * u + 5     # noqa: E731
    hx = h(x)
    g_prime = grad.derivative(g, hx)
    h_prime = grad.derivative(h, x)
    print("f(x) = 3(2x^2 - 1)^2 - 2(2x^2 - 1) + 5 = g(h(x)) with h(x) = 2x^2 - 1, g(u) = 3u^2 - 2u + 5")
    print(f"  at x = {x:g}: h(x) = {hx:g}")
    print(f"  g'(h(x)) = 6 h(x) - 2 = {6 * hx - 2:g}   (numerically {dec6(g_prime)})")
    print(f"  h'(x) = 4x = {4 * x:g}   (numerically {dec6(h_prime)})")
    print(f"  f'(x) = g'(h(x)) h'(x) = {(6 * hx - 2) * 4 * x:g}")
    print(f"  closed form 48x^3 - 32x = {48 * x**3 - 32 * x:g}; numerical derivative of f: "
          f"{dec6(grad.derivative(lambda t: g(h(t)), x))}")
    return 0


def _jac_f(v):
    x1, x2 = v
    return np.array([2 * x1 + x2**2, -x1**2 + 3 * x2, 4 * x1 * x2])


def jacobian(args) -> int:
    x1, x2 = args.at
    J = grad.jacobian(_jac_f, args.at)
    exact = np.array([[2, 2 * x2], [-2 * x1, 3], [4 * x2, 4 * x1]])
    print("f(x) = (2x1 + x2^2, -x1^2 + 3x2, 4x1x2);  J = [[2, 2x2], [-2x1, 3], [4x2, 4x1]]")
    print(f"  at ({x1:g}, {x2:g}): central differences give")
    for r in J:
        print("   " + row(r, dec4, 10))
    print(f"  the formula gives {mat(exact)}; largest difference {np.abs(J - exact).max():.1e}")
    return 0


def _six_hump(v):
    x1, x2 = v
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def hessian(args) -> int:
    x1, x2 = args.at
    g_num = grad.numerical_gradient(_six_hump, args.at)
    g_formula = [2 * x1**5 - 8.4 * x1**3 + 8 * x1 + x2, 16 * x2**3 - 8 * x2 + x1]
    H = grad.hessian(_six_hump, args.at)
    H_formula = [[10 * x1**4 - 25.2 * x1**2 + 8, 1], [1, 48 * x2**2 - 8]]
    print("f(x) = (4 - 2.1x1^2 + x1^4/3) x1^2 + x1x2 + (-4 + 4x2^2) x2^2")
    print(f"  at ({x1:g}, {x2:g}): gradient (numerical) {row(g_num, dec4, 10)}")
    print(f"                 formula (2x1^5 - 8.4x1^3 + 8x1 + x2, 16x2^3 - 8x2 + x1) = "
          f"({g_formula[0]:g}, {g_formula[1]:g})")
    print("  Hessian by second central differences:")
    for r in H:
        print("   " + row(r, dec4, 10))
    print(f"  formula [[10x1^4 - 25.2x1^2 + 8, 1], [1, 48x2^2 - 8]] = {mat(H_formula)}")
    return 0


def backprop(args) -> int:
    x = np.array(args.x, dtype=np.float64)
    W = np.array(args.W, dtype=np.float64)
    b = np.array(args.b, dtype=np.float64)
    if W.shape != (b.size, x.size):
        raise UsageError(f"--W must have shape (len(b), len(x)) = ({b.size}, {x.size}); got {W.shape}")
    _check_label(args.label, b.size)
    layer = nn.Linear(x.size, b.size, dtype=np.float64)
    layer.weight.value[...] = W
    layer.bias.value[...] = b
    act = nn.Softmax() if args.activation == "softmax" else nn.Sigmoid()
    y = args.label
    if args.loss == "log-likelihood":
        loss, target = losses.LogLikelihood(), [y]
    elif args.loss == "cross-entropy":
        loss, target = losses.CrossEntropy(), [y]
    else:
        loss, target = losses.L2Loss(), np.eye(b.size)[y][None]
    s = layer.forward(x[None])
    p = act.forward(s)
    L = float(loss(p, target))
    dp = loss.backward()
    layer.zero_grad()
    ds = act.backward(dp)
    layer.backward(ds)
    f = dec4
    print(f"one layer: s = W x + b, p = {args.activation}(s), L = {args.loss}(p, y = {y})")
    print(f"  x               {row(x, f, 10)}")
    print(f"  s = W x + b     {row(s[0], f, 10)}")
    print(f"  p               {row(p[0], f, 10)}")
    print(f"  L               {L:.4f}")
    print(f"  dL/dp           {row(dp[0], f, 10)}")
    jac = "D_ab = p_a (delta_ab - p_b)" if args.activation == "softmax" else "diag(p (1 - p))"
    print(f"  dL/ds = (dp/ds)^T dL/dp with {jac}:")
    print(f"                  {row(ds[0], f, 10)}")
    print("  dL/dW = dL/ds x^T (row j is dL/dw_j):")
    for r in layer.weight.grad:
        print(f"                  {row(r, f, 10)}")
    print(f"  dL/db = dL/ds   {row(layer.bias.grad, f, 10)}")
    net = nn.Sequential(layer, act)
    report = grad.check_gradients(_WithLoss(net, loss, target), x[None])
    print(f"  gradient check (central differences): largest relative error {report.max_error:.1e}")
    return 0


class _WithLoss(nn.Module):
    """A module whose output is the loss of ``net`` on fixed targets (to check the whole chain)."""

    def __init__(self, net, loss, target):
        super().__init__()
        self.net = net
        self.loss, self.target = loss, target

    def forward(self, x):
        return np.array([float(self.loss(self.net.forward(x), self.target))])

    def backward(self, grad_output, *, need_input_grad=True):
        return self.net.backward(self.loss.backward() * float(np.asarray(grad_output).ravel()[0]),
                                 need_input_grad=need_input_grad)
