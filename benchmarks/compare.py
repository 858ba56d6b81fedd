"""chainrule against PyTorch (CPU) and scikit-learn, side by side, in one process.

    make bench                                    # builds .venv-bench (chainrule + PyTorch 2.13 CPU + scikit-learn)
    .venv-bench/bin/python benchmarks/compare.py  # all workloads, 3 repeats, this machine's cores

Data: the 10,000 real MNIST test images in ../shared/data/mnist (no network). The first 8,000
(pixels / 255) are tiled to 60,000 rows for throughput; accuracy is measured on the last 2,000.
Systems run interleaved (a, b, c, a, b, c, ...) so that drifts in machine speed hit all alike;
every number is the minimum (and median) of the repeats. All systems use the same number of
threads (threadpoolctl for NumPy's BLAS, torch.set_num_threads for PyTorch). The float32 matrix
multiply rate is measured in the same run. FLOPs of an MLP epoch: forward 2P, weight gradients
2P, input gradients 2P for every layer but the first (P = number of weights), per row.

Workloads: (a) MLP 784-512-256-10, ReLU, softmax log-likelihood, SGD momentum 0.9, batch 128,
60,000 rows, with the epoch's matrix products alone at the same shapes as a yardstick (issue
21.1: the trainer's epoch <= 1.15 x that), plus the estimators (chainrule's and scikit-learn's
MLPClassifier, one partial_fit per epoch, with SGD and with Adam); (b) the same at batch 32 and
512; (c) linear softmax and hinge classifiers; (d) prediction throughput; (e) scaling in rows and width; (f)
MLPClassifier.fit end to end against the bare training loop, with SGD and with Adam; (g)
convolutional networks: the lenet CNN on the same 60,000 rows as (a), and a ResNet-20 epoch on
synthetic 32 x 32 x 3 images (benchmarks/convnets.py, where the FLOP count is explained); (h)
solver='lbfgs' against scikit-learn's L-BFGS on the 8 x 8 digits (1,797 rows). Results: a table
on stdout and JSON in benchmarks/results/.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


# ---- measurement helpers -------------------------------------------------------------------------
def reset_peak_rss() -> bool:
    """Reset the process's peak resident set size (Linux: /proc/self/clear_refs, value 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb(field: str = "VmHWM") -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def timed(fn):
    """(seconds, growth of the peak RSS in MB during fn over the RSS at its start, result).

    The data set is allocated before, so the growth is what the epoch itself needs."""
    gc.collect()
    start = rss_mb("VmRSS")
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peak = rss_mb("VmHWM")
    growth = (peak - start) if (reset and peak is not None and start is not None) else None
    return seconds, growth, result


def matmul_rate(n: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.copy()
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def mlp_flops(sizes, rows) -> float:
    """FLOPs of one epoch: 2P forward + 2P weight gradients + 2P input gradients except layer 1."""
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    P = sum(weights)
    return rows * (6 * P - 2 * weights[0])


# ---- data ------------------------------------------------------------------------------------------
def load_data(rows: int):
    from chainrule.datasets import load_mnist

    d = load_mnist(MNIST, download=False, subset="test", progress=False)
    X = d.X_test.reshape(10000, -1).astype(np.float32) / 255.0
    y = d.y_test.astype(np.int64)
    Xtr, ytr, Xte, yte = X[:8000], y[:8000], X[8000:], y[8000:]
    reps = -(-rows // 8000)
    return np.ascontiguousarray(np.tile(Xtr, (reps, 1))[:rows]), np.tile(ytr, reps)[:rows], Xtr, ytr, Xte, yte


# ---- the systems -------------------------------------------------------------------------------------
class ChainruleMLP:
    name = "chainrule"

    def __init__(self, sizes, lr, batch, seed):
        from chainrule import losses, optim
        from chainrule.models import build_mlp
        from chainrule.training import Trainer

        rng = np.random.default_rng(seed)
        self.model = build_mlp(sizes[0], sizes[1:-1], sizes[-1], "relu", 0.0, False, rng, np.float32)
        self.trainer = Trainer(self.model, losses.SoftmaxLogLikelihood(),
                               optim.SGD(self.model, lr=lr, momentum=0.9), batch_size=batch, epochs=1, rng=rng)

    def epoch(self, X, y):
        self.trainer.epochs = self.trainer.start_epoch + 1
        self.trainer.fit(X, y)

    def predict(self, X):
        return self.trainer.predict_scores(X).argmax(1)


class ChainruleNumpyUpdatesMLP(ChainruleMLP):
    """The same trainer with the optimizer's NumPy updates (CHAINRULE_FUSED=0): the reference path,
    and chainrule's speed without the optional numba extra."""
    name = "chainrule, NumPy updates (no numba)"

    def epoch(self, X, y):
        from chainrule import _compiled as _fused

        was = _fused.enabled()
        _fused.set_enabled(False)
        try:
            super().epoch(X, y)
        finally:
            _fused.set_enabled(was)


class NotesLoopMLP:
    """The loop a user writes from the notes, through chainrule's public API only."""
    name = "chainrule, the notes' loop"

    def __init__(self, sizes, lr, batch, seed):
        from chainrule import losses, nn, optim

        rng = np.random.default_rng(seed)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b, rng=rng, init="he" if i < len(sizes) - 2 else "glorot"))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.loss = losses.SoftmaxLogLikelihood()
        self.opt = optim.SGD(self.net, lr=lr, momentum=0.9)
        self.batch, self.rng = batch, rng

    def epoch(self, X, y):
        net, loss, opt = self.net, self.loss, self.opt
        net.train()
        perm = self.rng.permutation(len(X))
        for s in range(0, len(X), self.batch):
            idx = perm[s:s + self.batch]
            opt.zero_grad()
            scores = net.forward(X[idx])
            loss.forward(scores, y[idx])
            net.backward(loss.backward())
            opt.step()

    def predict(self, X):
        self.net.eval()
        return self.net.forward(X).argmax(1)


class ProductsAloneMLP:
    """Issue 21.1's yardstick: only the matrix products of an epoch at the network's shapes (forward,
    weight gradients, input gradients but the first layer's), into arrays made once; no gather, bias,
    activation, loss or update. Its epoch is timed interleaved with the others (products_alone.py
    also times the update and the gather: the floor of any loop)."""
    name = "matrix products alone"

    def __init__(self, sizes, lr, batch, seed):
        rng = np.random.default_rng(seed)
        self.batch = batch
        self.W = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
        self.x = [rng.standard_normal((batch, a), dtype=np.float32) for a in sizes[:-1]]
        self.g = [rng.standard_normal((batch, b), dtype=np.float32) for b in sizes[1:]]
        self.out = [np.empty((batch, b), np.float32) for b in sizes[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.dx = [np.empty_like(x) for x in self.x]

    def epoch(self, X, y):
        for _ in range(len(X) // self.batch):
            for x, W, o in zip(self.x, self.W, self.out):
                np.matmul(x, W, out=o)
            for i, (x, W, g) in enumerate(zip(self.x, self.W, self.g)):
                np.matmul(x.T, g, out=self.dW[i])
                if i:
                    np.matmul(g, W.T, out=self.dx[i])

    def predict(self, X):
        return np.full(len(X), -1)


class BareNumpyMLP:
    """The straightforward loop with no abstraction at all (a reference, not a product)."""
    name = "bare NumPy loop"

    def __init__(self, sizes, lr, batch, seed):
        rng = np.random.default_rng(seed)
        self.W = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b, np.float32) for b in sizes[1:]]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.lr, self.batch, self.rng = np.float32(lr), batch, rng

    def epoch(self, X, y):
        n = len(X)
        perm = self.rng.permutation(n)
        for s in range(0, n, self.batch):
            idx = perm[s:s + self.batch]
            hs = [X[idx]]
            for i, (W, b) in enumerate(zip(self.W, self.b)):
                h = hs[-1] @ W + b
                if i < len(self.W) - 1:
                    np.maximum(h, 0, out=h)
                hs.append(h)
            s_ = hs[-1]
            s_ -= s_.max(1, keepdims=True)
            np.exp(s_, out=s_)
            s_ /= s_.sum(1, keepdims=True)
            s_[np.arange(len(idx)), y[idx]] -= 1
            g = s_ / np.float32(len(idx))
            for i in range(len(self.W) - 1, -1, -1):
                gW, gb = hs[i].T @ g, g.sum(0)
                if i:
                    g = g @ self.W[i].T
                    g *= hs[i] > 0
                self.vW[i] *= np.float32(0.9)
                self.vW[i] += gW
                self.vb[i] *= np.float32(0.9)
                self.vb[i] += gb
                self.W[i] -= self.lr * self.vW[i]
                self.b[i] -= self.lr * self.vb[i]

    def predict(self, X):
        h = X
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            h = h @ W + b
            if i < len(self.W) - 1:
                h = np.maximum(h, 0)
        return h.argmax(1)


class TorchMLP:
    name = "PyTorch"

    def __init__(self, sizes, lr, batch, seed):
        import torch
        torch.manual_seed(seed)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.torch = torch
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        self.loss = torch.nn.CrossEntropyLoss()
        self.batch = batch
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self, X, y):
        torch = self.torch
        Xt, yt = self._tensors(X, y)
        n = len(Xt)
        perm = torch.randperm(n, generator=self.gen)
        self.model.train()
        for s in range(0, n, self.batch):
            idx = perm[s:s + self.batch]
            out = self.model(Xt[idx])
            loss = self.loss(out, yt[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def _tensors(self, X, y):
        key = (id(X), X.shape)
        if getattr(self, "_key", None) != key:   # converted once per data set, outside the timing
            self._key, self._X, self._y = key, self.torch.from_numpy(X), self.torch.from_numpy(y)
        return self._X, self._y

    def predict(self, X):
        with self.torch.no_grad():
            self.model.eval()
            return self.model(self.torch.from_numpy(X)).argmax(1).numpy()


class SklearnMLP:
    name = "scikit-learn MLP"

    def __init__(self, sizes, lr, batch, seed):
        from sklearn.neural_network import MLPClassifier
        self.model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), solver="sgd", learning_rate_init=lr,
                                   momentum=0.9, nesterovs_momentum=False, batch_size=batch, alpha=0.0,
                                   random_state=seed, shuffle=True)
        self.classes = np.arange(sizes[-1])

    def epoch(self, X, y):
        self.model.partial_fit(X, y, classes=self.classes)

    def predict(self, X):
        return self.model.predict(X)


class ChainruleEstimatorSGD:
    """chainrule's MLPClassifier, one partial_fit per epoch (as SklearnMLP): the estimator's whole path."""
    name = "chainrule MLPClassifier (sgd)"
    solver = "sgd"

    def __init__(self, sizes, lr, batch, seed):
        from chainrule.models import MLPClassifier
        kw = dict(momentum=0.9, nesterovs_momentum=False, learning_rate_init=lr) if self.solver == "sgd" else {}
        self.model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), solver=self.solver, batch_size=batch,
                                   alpha=0.0, tol=0, random_state=seed, **kw)
        self.classes = np.arange(sizes[-1])

    def epoch(self, X, y):
        self.model.partial_fit(X, y, classes=self.classes)

    def predict(self, X):
        return self.model.predict(X)


class ChainruleEstimatorAdam(ChainruleEstimatorSGD):
    name = "chainrule MLPClassifier (adam)"
    solver = "adam"


class SklearnMLPAdam(SklearnMLP):
    name = "scikit-learn MLP (adam)"

    def __init__(self, sizes, lr, batch, seed):
        from sklearn.neural_network import MLPClassifier
        self.model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), solver="adam", batch_size=batch, alpha=0.0,
                                   random_state=seed, shuffle=True)
        self.classes = np.arange(sizes[-1])


# ---- workloads -----------------------------------------------------------------------------------------
def run_mlp(systems, X, y, Xte, yte, sizes, batch, repeats, lr=0.01, warmup=True):
    """Interleaved epochs of each system; returns {name: {min, median, rss, accuracy}}."""
    results = {cls.name: {"times": [], "rss": []} for cls in systems}
    models = {cls.name: cls(sizes, lr, batch, 0) for cls in systems}
    if warmup:
        for cls in systems:
            models[cls.name].epoch(X[: 4 * batch], y[: 4 * batch])
    for r in range(repeats):
        for cls in systems:
            m = cls(sizes, lr, batch, r)
            m.epoch(X[: 2 * batch], y[: 2 * batch])        # first-touch allocations outside the timing
            sec, rss, _ = timed(lambda: m.epoch(X, y))
            results[cls.name]["times"].append(sec)
            results[cls.name]["rss"].append(rss)
            models[cls.name] = m
    flops = mlp_flops(sizes, len(X))
    out = {}
    for cls in systems:
        t = results[cls.name]["times"]
        acc = float(np.mean(models[cls.name].predict(Xte) == yte))
        grow = [v for v in results[cls.name]["rss"] if v is not None]
        out[cls.name] = {"min": min(t), "median": statistics.median(t), "times": t,
                         "rss_growth_mb": max(grow) if grow else None,
                         "rows_per_s": len(X) / min(t), "gflops": flops / min(t) / 1e9, "accuracy": acc}
    return out


def workload_linear(Xtr, ytr, Xte, yte, repeats):
    """(c): linear softmax and hinge; chainrule against scikit-learn on the MNIST split (8,000/2,000)."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from chainrule.models import LinearClassifier

    runs = {
        "chainrule LinearClassifier softmax (10 epochs, batch 128)":
            lambda: LinearClassifier(solver="sgd", learning_rate_init=0.1, lr_schedule="cosine", batch_size=128, max_iter=10, tol=0,
                                     random_state=0),
        "chainrule LinearClassifier hinge (10 epochs, batch 128)":
            lambda: LinearClassifier(loss="hinge", learning_rate_init=0.01, lr_schedule="cosine", batch_size=128, max_iter=10, tol=0,
                                     random_state=0),
        "scikit-learn LogisticRegression (lbfgs)": lambda: LogisticRegression(max_iter=1000),
        "scikit-learn SGDClassifier log_loss": lambda: SGDClassifier(loss="log_loss", random_state=0),
        "scikit-learn SGDClassifier hinge": lambda: SGDClassifier(loss="hinge", random_state=0),
    }
    out = {name: {"times": []} for name in runs}
    import warnings
    for _ in range(repeats):
        for name, make in runs.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make()
                sec = _time(lambda: model.fit(Xtr, ytr))
            out[name]["times"].append(sec)
            out[name]["accuracy"] = float(model.score(Xte, yte))
    for v in out.values():
        v["min"], v["median"] = min(v["times"]), statistics.median(v["times"])
    return out


def workload_predict(X, repeats, sizes, models):
    out = {}
    for _ in range(repeats):
        for name, m in models.items():
            sec = _time(lambda: m.predict(X))
            out.setdefault(name, []).append(sec)
    return {k: {"min": min(v), "median": statistics.median(v), "rows_per_s": len(X) / min(v)} for k, v in out.items()}


def workload_scaling(Xbig, ybig, Xte, yte, repeats):
    """(e): epochs at 15k..120k rows and at three widths, all configurations interleaved per repeat
    (a slow spell of the machine then hits every configuration alike)."""
    configs = [("rows", rows, (784, 512, 256, 10)) for rows in (15000, 30000, 60000, 120000)]
    configs += [("width", 60000, (784, *w, 10)) for w in ((256, 128), (1024, 512))]
    models = {}
    for kind, rows, sizes in configs:
        m = ChainruleMLP(sizes, 0.01, 128, 0)
        m.epoch(Xbig[:1024], ybig[:1024])
        models[(kind, rows, sizes)] = m
    times = {key: [] for key in models}
    for _ in range(repeats):
        for key, m in models.items():
            _, rows, _ = key
            times[key].append(_time(lambda: m.epoch(Xbig[:rows], ybig[:rows])))
    from_rows = {rows: {"seconds": min(times[("rows", rows, sizes)]),
                        "us_per_row": 1e6 * min(times[("rows", rows, sizes)]) / rows}
                 for kind, rows, sizes in configs if kind == "rows"}
    widths = {}
    for key in [("width", 60000, (784, 256, 128, 10)), ("rows", 60000, (784, 512, 256, 10)),
                ("width", 60000, (784, 1024, 512, 10))]:
        sizes = key[2]
        sec = min(times[key])
        widths["-".join(map(str, sizes))] = {"seconds": sec, "gflop": mlp_flops(sizes, 60000) / 1e9,
                                             "gflops": mlp_flops(sizes, 60000) / sec / 1e9}
    return {"rows": from_rows, "width": widths}


def workload_fit(X, y, Xte, yte, repeats):
    """(f): MLPClassifier.fit (checks, history, stopping rule, progress lines) against the bare
    Trainer loop, one epoch, with SGD (momentum 0.9) and with Adam; interleaved."""
    import io as _io
    from contextlib import redirect_stderr, redirect_stdout

    from chainrule import losses, optim
    from chainrule.models import MLPClassifier
    from chainrule.training import Trainer

    def bare(solver, r):
        m = ChainruleMLP((784, 512, 256, 10), 0.01, 128, r)
        if solver == "adam":
            m.trainer = Trainer(m.model, losses.SoftmaxLogLikelihood(), optim.Adam(m.model, lr=1e-3),
                                batch_size=128, epochs=1, rng=np.random.default_rng(r))
        return m

    names = {(s, k): f"{'MLPClassifier.fit' if k == 'est' else 'Trainer.fit (same network)'} ({s}, 1 epoch"
                     f"{', verbose=1' if k == 'est' else ''})" for s in ("sgd", "adam") for k in ("est", "bare")}
    out = {v: [] for v in names.values()}
    sink = _io.StringIO()
    for r in range(repeats + 1):                      # the first round warms up and is not counted
        for solver in ("sgd", "adam"):
            kw = dict(momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.01) if solver == "sgd" else {}
            est = MLPClassifier((512, 256), solver=solver, batch_size=128, max_iter=1, tol=0, alpha=0.0,
                                random_state=r, verbose=1, **kw)
            with redirect_stderr(sink), redirect_stdout(sink), warnings.catch_warnings():
                warnings.simplefilter("ignore")          # max_iter=1: a ConvergenceWarning every time
                sec = _time(lambda: est.fit(X, y))
            loop = bare(solver, r)
            bare_sec = _time(lambda: loop.epoch(X, y))
            if r:
                out[names[(solver, "est")]].append(sec)
                out[names[(solver, "bare")]].append(bare_sec)
    res = {k: {"min": min(v), "median": statistics.median(v), "times": v} for k, v in out.items()}
    for solver in ("sgd", "adam"):
        res[f"overhead_{solver}"] = res[names[(solver, "est")]]["median"] / res[names[(solver, "bare")]]["median"] - 1
    res["overhead"] = res["overhead_sgd"]
    return res


def workload_lbfgs(repeats):
    """(h): solver='lbfgs' on scikit-learn's 8 x 8 digits (1,797 rows x 64, pixels / 16), hidden
    (100,), max_iter=200, random_state=0, float64 as scikit-learn computes: both start from the
    same weights and minimise the same function with SciPy's L-BFGS-B, so the time is the cost of
    a forward and backward pass (and the accuracies agree). Also chainrule on float32 input."""
    import warnings as _w

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkMLP

    from chainrule.models import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = X[:1500], X[1500:], y[:1500], y[1500:]
    runs = {"chainrule MLPClassifier lbfgs (float64)": (lambda: MLPClassifier(solver="lbfgs", random_state=0), Xtr),
            "scikit-learn MLPClassifier lbfgs (float64)": (lambda: SkMLP(solver="lbfgs", random_state=0), Xtr),
            "chainrule MLPClassifier lbfgs (float32 input)": (lambda: MLPClassifier(solver="lbfgs", random_state=0),
                                                              Xtr.astype(np.float32))}
    out = {name: {"times": []} for name in runs}
    for _ in range(repeats):
        for name, (make, data) in runs.items():
            with _w.catch_warnings():
                _w.simplefilter("ignore")
                model = make()
                sec = _time(lambda: model.fit(data, ytr))
            out[name]["times"].append(sec)
            out[name].update(accuracy=float(model.score(Xte.astype(data.dtype), yte)), n_iter=int(model.n_iter_),
                             loss=float(model.loss_))
    for v in out.values():
        v["min"], v["median"] = min(v["times"]), statistics.median(v["times"])
    return out


def targets(report, data_mb):
    """Issue 6's targets, evaluated from this run's numbers."""
    out = []
    rate = report["matmul_gflops"]
    a = report.get("a", {})
    if "chainrule" in a and "PyTorch" in a:
        for name in ("chainrule", "chainrule, the notes' loop", "chainrule, NumPy updates (no numba)"):
            if name not in a:
                continue
            ratio = a[name]["min"] / a["PyTorch"]["min"]
            frac = a[name]["gflops"] / rate
            out.append({"target": f"(a) {name}: epoch <= 0.80 x PyTorch", "met": ratio <= 0.80,
                        "measured": f"{ratio:.3f} x"})
            if "matrix products alone" in a:    # issue 21.1 (it replaces issue 10's 78 % of the matmul rate)
                alone = a["matrix products alone"]
                out.append({"target": f"(a) {name}: epoch <= 1.15 x its matrix products alone",
                            "met": a[name]["min"] <= 1.15 * alone["min"],
                            "measured": f"{a[name]['min'] / alone['min']:.3f} x (min); "
                                        f"{a[name]['median'] / alone['median']:.3f} x (median); "
                                        f"{frac:.1%} of the matmul rate"})
        if "chainrule, the notes' loop" in a:
            gap = a["chainrule, the notes' loop"]["min"] / a["chainrule"]["min"] - 1
            out.append({"target": "(a) the notes' loop within 3% of the trainer's epoch", "met": abs(gap) <= 0.03,
                        "measured": f"{gap:+.1%}"})
        growth = a["chainrule"].get("rss_growth_mb")
        P = sum(x * y for x, y in zip((784, 512, 256), (512, 256, 10))) + 512 + 256 + 10
        limit = 4 * P * 4 / 2**20 + 150
        if growth is not None:
            out.append({"target": f"(a) memory <= data ({data_mb:.0f} MB) + 4 x parameters + 150 MB",
                        "met": growth <= limit, "measured": f"data + {growth:.0f} MB (limit data + {limit:.0f} MB)"})
    b = report.get("b", {})
    if "32" in b and "PyTorch" in b["32"]:
        ratio = b["32"]["chainrule"]["min"] / b["32"]["PyTorch"]["min"]
        out.append({"target": "(b) batch 32 <= 1.0 x PyTorch", "met": ratio <= 1.0, "measured": f"{ratio:.3f} x"})
    c = report.get("c", {})
    ours = c.get("chainrule LinearClassifier softmax (10 epochs, batch 128)")
    lr_ = c.get("scikit-learn LogisticRegression (lbfgs)")
    if ours and lr_:
        ratio = ours["min"] / lr_["min"]
        out.append({"target": "(c) linear softmax reaches LogisticRegression's accuracy in <= 0.2 x its fit time",
                    "met": ours["accuracy"] >= lr_["accuracy"] and ratio <= 0.2,
                    "measured": f"{ours['accuracy']:.4f} vs {lr_['accuracy']:.4f} in {ratio:.3f} x the time"})
    e = report.get("e", {})
    if e:
        per_row = [v["us_per_row"] for v in e["rows"].values()]
        spread = max(per_row) / min(per_row) - 1
        out.append({"target": "(e) time per row within 10% from 15k to 120k rows", "met": spread <= 0.10,
                    "measured": f"{spread:.1%} spread"})
        w = list(e["width"].values())
        growth_ok = all(b_["seconds"] / a_["seconds"] <= b_["gflop"] / a_["gflop"] for a_, b_ in zip(w, w[1:]))
        steps = ", ".join(f"time x{b_['seconds'] / a_['seconds']:.2f} for FLOPs x{b_['gflop'] / a_['gflop']:.2f}"
                          for a_, b_ in zip(w, w[1:]))
        out.append({"target": "(e) time grows no faster than the FLOPs with width", "met": growth_ok, "measured": steps})
    out += targets_g(report)
    f = report.get("f", {})
    for solver in ("sgd", "adam"):
        if f"overhead_{solver}" in f:
            v = f[f"overhead_{solver}"]
            out.append({"target": f"(f) MLPClassifier.fit ({solver}) overhead over the bare loop <= 5%", "met": v <= 0.05,
                        "measured": f"{v:+.1%} (medians)"})
    h = report.get("h", {})
    ours, theirs = h.get("chainrule MLPClassifier lbfgs (float64)"), h.get("scikit-learn MLPClassifier lbfgs (float64)")
    if ours and theirs:
        ratio = ours["median"] / theirs["median"]
        # the same iterations from the same weights through the same SciPy code: parity is the expectation, and a
        # few percent either way is the machine's noise
        out.append({"target": "(h) lbfgs fit <= 1.1 x scikit-learn's, same iterations and loss", "met":
                    ratio <= 1.1 and ours["n_iter"] == theirs["n_iter"] and abs(ours["loss"] - theirs["loss"]) < 1e-6,
                    "measured": f"{ratio:.3f} x (medians); {ours['n_iter']} vs {theirs['n_iter']} iterations"})
    return out


def targets_g(report):
    """Issue 12's targets for workload (g)."""
    from convnets import torch_reference
    out = []
    g = report.get("g", {}).get("lenet", {})
    ref = torch_reference(g)
    if "chainrule" in g and ref:
        ratio = g["chainrule"]["min"] / g[ref]["min"]
        out.append({"target": f"(g) lenet epoch <= 1.0 x PyTorch's faster format ({ref})", "met": ratio <= 1.0,
                    "measured": f"{ratio:.3f} x (min); {g['chainrule']['median'] / g[ref]['median']:.3f} x (median)"})
        loop = g.get("chainrule, user's loop")
        if loop:
            r = loop["min"] / g["chainrule"]["min"]
            out.append({"target": "(g) lenet: the user's loop within 3 % of the trainer", "met": abs(r - 1) <= 0.03,
                        "measured": f"{r:.3f} x (min); {loop['median'] / g['chainrule']['median']:.3f} x (median)"})
        if g["chainrule"].get("predict_s") and g[ref].get("predict_s"):
            r = g["chainrule"]["predict_s"] / g[ref]["predict_s"]
            out.append({"target": "(g) lenet prediction <= 1.0 x PyTorch's", "met": r <= 1.0, "measured": f"{r:.3f} x"})
    for key in ("resnet", "resnet-no-sd"):
        r = report.get("g", {}).get(key, {})
        ref_r = torch_reference(r)
        if "chainrule" in r and ref_r:
            out.append({"target": f"(g) {key} epoch <= 1.0 x PyTorch's faster format ({ref_r})",
                        "met": r["chainrule"]["min"] <= r[ref_r]["min"],
                        "measured": f"{r['chainrule']['min'] / r[ref_r]['min']:.3f} x (min); "
                                    f"{r['chainrule']['median'] / r[ref_r]['median']:.3f} x (median)"})
        loop = r.get("chainrule, user's loop")
        if loop and "chainrule" in r:
            q = loop["min"] / r["chainrule"]["min"]
            out.append({"target": f"(g) {key}: the user's loop within 3 % of the trainer", "met": abs(q - 1) <= 0.03,
                        "measured": f"{q:.3f} x (min)"})
        if r.get("chainrule", {}).get("predict_s") and ref_r and r[ref_r].get("predict_s"):
            q = r["chainrule"]["predict_s"] / r[ref_r]["predict_s"]
            out.append({"target": f"(g) {key} prediction <= 1.0 x PyTorch's", "met": q <= 1.0, "measured": f"{q:.3f} x"})
        held = r.get("chainrule", {}).get("fused_plan_mb")
        if held is not None:        # the plan is allocated at the warm-up, before the timed epoch's RSS is read
            four_p = 4 * r["parameters"] * 4 / 2**20
            out.append({"target": f"(g) {key}: what the fused plan holds (issue 21.6: peak <= data + 4 x parameters "
                                  "+ workers' buffers + 150 MB; benchmarks/fused_memory.py measures the peak)",
                        "met": held["full batch"] <= four_p + 150,
                        "measured": f"{held['full batch']:.0f} MB full batch + {held['per worker']:.0f} MB workers' "
                                    f"buffers held between steps (4 x parameters {four_p:.0f} MB)"})
    growth = g.get("chainrule", {}).get("rss_growth_mb")
    if growth is not None:
        limit = 4 * g["parameters"] * 4 / 2**20 + g["im2col_mb"] + 150
        out.append({"target": "(g) memory <= data + 4 x parameters + the largest im2col buffer + 150 MB",
                    "met": growth <= limit, "measured": f"data + {growth:.0f} MB (limit data + {limit:.0f} MB)"})
    return out


# ---- report ------------------------------------------------------------------------------------------
def table(rows, header):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = " | ".join(f"{str(h):<{w}}" for h, w in zip(header, widths))
    out = [line, "-|-".join("-" * w for w in widths)]
    out += [" | ".join(f"{str(v):<{w}}" for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def workload_g(X60, y60, Xte, yte, args, have_torch, report):
    from convnets import workload
    rows = args.lenet_rows
    report["g"] = workload(X60[:rows], y60[:rows], Xte, yte, args.repeats, timed, have_torch,
                           resnet_rows=args.resnet_rows, numpy_too=not args.no_numpy_cnn)
    return report["g"]


def print_g(r, rate, data_mb):
    lenet_rows = r.get("lenet", {}).get("rows", 60000)
    for key, title in (("lenet", f"(g) lenet CNN, SGD momentum 0.9, batch 128, one epoch of {lenet_rows:,} MNIST rows"),
                       ("resnet", "(g) ResNet-20 with stochastic depth (p_L = 0.5), batch 128, one epoch of "
                                  f"{r.get('resnet', {}).get('rows', 0):,} synthetic 32 x 32 x 3 images"),
                       ("resnet-no-sd", "(g) ResNet-20 without stochastic depth, batch 128, one epoch of "
                                        f"{r.get('resnet', {}).get('rows', 0):,} synthetic 32 x 32 x 3 images")):
        if key not in r:
            continue
        w = r[key]
        rows = [(k, f"{v['min']:.3f}", f"{v['median']:.3f}", f"{v['rows_per_s']:,.0f}", f"{v['gflops']:.0f}",
                 f"{v['gflops'] / rate:.0%}", "-" if v["accuracy"] is None else f"{v['accuracy']:.4f}",
                 f"{v['rss_growth_mb']:.0f}" if v["rss_growth_mb"] is not None else "-",
                 "-" if not v.get("predict_s") else f"{v['predict_s']:.3f}")
                for k, v in w.items() if isinstance(v, dict)]
        print(f"\n{title} ({w['gflop_per_epoch']:.0f} GFLOP; data {data_mb:.0f} MB)")
        print(table(rows, ("system", "epoch s (min)", "median", "rows/s", "GFLOP/s", "of matmul", "test acc",
                           "memory growth MB", "predict 2,000 s")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="a,b,c,d,e,f,g,h", help="workloads to run, e.g. a,b")
    ap.add_argument("--resnet-rows", type=int, default=10000, help="images in the ResNet epoch of (g) (0: no ResNet)")
    ap.add_argument("--lenet-rows", type=int, default=60000, help="MNIST rows in the lenet epoch of (g)")
    ap.add_argument("--no-numpy-cnn", action="store_true", help="(g) without chainrule's NumPy-only (reference) runs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "local" / "last.json"),
                    help="where the JSON goes (the tracked benchmarks/results/latest.json only when named here)")
    args = ap.parse_args(argv)
    if not MNIST.exists():
        print(f"the MNIST test-set files are not in {MNIST}", file=sys.stderr)
        return 1
    from threadpoolctl import threadpool_info, threadpool_limits
    try:
        import torch
        torch.set_num_threads(args.threads)
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed here: run in .venv-bench (make bench)", file=sys.stderr)
    import chainrule
    chainrule.set_num_threads(args.threads)      # the compiled kernels' workers (and BLAS) as the others'
    only = set(args.only.split(","))
    report = {"machine": {"python": platform.python_version(), "numpy": np.__version__, "threads": args.threads,
                          "cpu": platform.processor() or platform.machine(),
                          "blas": [(i["internal_api"], i.get("version"), i["num_threads"]) for i in threadpool_info()]},
              "repeats": args.repeats}
    if have_torch:
        report["machine"]["torch"] = torch.__version__
    import sklearn
    report["machine"]["sklearn"] = sklearn.__version__
    with threadpool_limits(args.threads):
        rate = matmul_rate()
        report["matmul_gflops"] = rate
        print(f"float32 matmul 2048 x 2048: {rate:.1f} GFLOP/s ({args.threads} threads)")
        Xbig, ybig, Xtr, ytr, Xte, yte = load_data(120000)
        X60, y60 = Xbig[:60000], ybig[:60000]
        data_mb = X60.nbytes / 2**20
        mlp_systems = [ChainruleMLP, NotesLoopMLP, ChainruleNumpyUpdatesMLP, ProductsAloneMLP, BareNumpyMLP]
        mlp_systems += ([TorchMLP] if have_torch else []) + [SklearnMLP]
        mlp_systems += [ChainruleEstimatorSGD, ChainruleEstimatorAdam, SklearnMLPAdam]
        sizes = (784, 512, 256, 10)
        if "a" in only or "d" in only:
            r = run_mlp(mlp_systems, X60, y60, Xte, yte, sizes, 128, args.repeats)
            report["a"] = r
            rows = [(k, f"{v['min']:.3f}", f"{v['median']:.3f}", f"{v['rows_per_s']:,.0f}", f"{v['gflops']:.0f}",
                     f"{v['gflops'] / rate:.0%}", "-" if k == ProductsAloneMLP.name else f"{v['accuracy']:.4f}",
                     f"{v['rss_growth_mb']:.0f}" if v["rss_growth_mb"] is not None else "-") for k, v in r.items()]
            print("\n(a) MLP 784-512-256-10, SGD momentum 0.9, batch 128, one epoch of 60,000 rows "
                  f"({mlp_flops(sizes, 60000) / 1e9:.1f} GFLOP; data {data_mb:.0f} MB)")
            print(table(rows, ("system", "epoch s (min)", "median", "rows/s", "GFLOP/s", "of matmul", "test acc",
                               "memory growth MB")))
        if "b" in only:
            report["b"] = {}
            for batch in (32, 512):
                r = run_mlp([ChainruleMLP, NotesLoopMLP] + ([TorchMLP] if have_torch else []), X60, y60, Xte, yte, sizes, batch,
                            args.repeats)
                report["b"][str(batch)] = r
                rows = [(k, f"{v['min']:.3f}", f"{v['median']:.3f}", f"{v['gflops'] / rate:.0%}") for k, v in r.items()]
                print(f"\n(b) the same at batch {batch}")
                print(table(rows, ("system", "epoch s (min)", "median", "of matmul")))
        if "c" in only:
            r = workload_linear(Xtr, ytr, Xte, yte, args.repeats)
            report["c"] = r
            print("\n(c) linear classifiers on the MNIST split (8,000 train / 2,000 test)")
            print(table([(k, f"{v['min']:.3f}", f"{v['median']:.3f}", f"{v['accuracy']:.4f}") for k, v in r.items()],
                        ("model", "fit s (min)", "median", "test acc")))
        if "d" in only:
            models = {"chainrule": ChainruleMLP(sizes, 0.01, 128, 0), "bare NumPy loop": BareNumpyMLP(sizes, 0.01, 128, 0)}
            if have_torch:
                models["PyTorch"] = TorchMLP(sizes, 0.01, 128, 0)
            r = workload_predict(X60, args.repeats, sizes, models)
            report["d"] = r
            print("\n(d) prediction, 60,000 rows")
            print(table([(k, f"{v['min']:.3f}", f"{v['rows_per_s']:,.0f}") for k, v in r.items()],
                        ("system", "seconds (min)", "rows/s")))
        if "e" in only:
            r = workload_scaling(Xbig, ybig, Xte, yte, args.repeats)
            report["e"] = r
            base = r["rows"][60000]["us_per_row"]
            print("\n(e) chainrule scaling: rows (784-512-256-10, batch 128)")
            print(table([(k, f"{v['seconds']:.3f}", f"{v['us_per_row']:.2f}", f"{v['us_per_row'] / base:.2f}")
                         for k, v in r["rows"].items()], ("rows", "epoch s", "us/row", "vs 60k")))
            print("    width (60,000 rows)")
            print(table([(k, f"{v['seconds']:.3f}", f"{v['gflop']:.0f}", f"{v['gflops']:.0f}")
                         for k, v in r["width"].items()], ("network", "epoch s", "GFLOP", "GFLOP/s")))
        if "f" in only:
            r = workload_fit(X60, y60, Xte, yte, args.repeats)
            report["f"] = r
            print("\n(f) estimator fit end to end against the bare training loop (one epoch, 60,000 rows)")
            print(table([(k, f"{v['min']:.3f}", f"{v['median']:.3f}") for k, v in r.items()
                         if not k.startswith("overhead")], ("run", "s (min)", "median")))
            print(f"    overhead of the estimator (medians): sgd {r['overhead_sgd']:+.1%}, adam {r['overhead_adam']:+.1%}")
        if "g" in only:
            print_g(workload_g(X60, y60, Xte, yte, args, have_torch, report), rate, data_mb)
        if "h" in only:
            r = workload_lbfgs(args.repeats)
            report["h"] = r
            print("\n(h) solver='lbfgs', digits (1,500 train / 297 test), hidden (100,), max_iter=200, random_state=0")
            print(table([(k, f"{v['min']:.3f}", f"{v['median']:.3f}", v["n_iter"], f"{v['loss']:.6f}",
                          f"{v['accuracy']:.4f}") for k, v in r.items()],
                        ("model", "fit s (min)", "median", "iterations", "final loss", "test acc")))
    report["targets"] = targets(report, data_mb)
    if report["targets"]:
        print("\nTargets (ratios from this run; min over repeats):")
        for t in report["targets"]:
            print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}")
    report["created"] = time.strftime("%Y-%m-%d %H:%M:%S")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1, default=float))
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
