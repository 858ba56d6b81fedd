"""Workload (g) of benchmarks/compare.py: convolutional networks, chainrule against PyTorch.

- lenet (``chainrule.architectures.lenet``: two 3 x 3 convolutions with ReLU and 2 x 2 max
  pooling, then 3136-128-10), batch 128, float32, SGD momentum 0.9, one epoch over the 60,000
  tiled MNIST rows, as workload (a); PyTorch in both memory formats (contiguous and
  channels_last), the faster one being the reference.
- the same chainrule network through the user's own loop (``ChainruleLoopCNN``), and with the
  compiled kernels off (NumPy only, the reference), when numba is installed.
- a ResNet (``architectures.resnet``: ResNet-20, width 16, stochastic depth with the linear decay
  to p_L = 0.5, row mode) on synthetic 32 x 32 x 3 images, against the same network in PyTorch
  (built from chainrule's description by ``torch_interop.torch_network``, with torchvision's
  stochastic-depth semantics).

FLOPs of an epoch (``network_flops``): per image, 2 MACs forward, 2 MACs for the weight
gradients and 2 MACs for the input gradients of every convolution and Linear layer but the first
(nobody needs dL/dx of the data), where MACs = H_out W_out C_out C_in kh kw for a convolution and
in x out for a Linear layer. Biases, activations, pooling, batch norm, the loss and the update
are not counted (they are memory-bound passes, not FLOPs that a matrix multiply could run).
"""
from __future__ import annotations

import statistics

import numpy as np


def network_flops(net, image_shape) -> tuple[float, list]:
    """(FLOPs per image of one training step, [(layer, MACs)]) counted as the module docstring says,
    from the shapes of a one-image forward pass (every residual block computed)."""
    from chainrule import nn
    layers = []

    def watch(m):
        f = m.forward

        def forward(x):
            y = f(x)
            macs = (y.shape[2] * y.shape[3] * m.out_channels * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                    if isinstance(m, nn.Conv2d) else m.in_features * m.out_features)
            layers.append((type(m).__name__, macs))
            return y
        m.forward = forward
        return f

    saved = [(m, watch(m)) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    chains = [(m, m.__dict__.get("_compile")) for m in net.modules() if isinstance(m, nn.Sequential)]
    was_training = net.training
    net.eval()
    try:
        for m, _ in chains:               # module by module, so that every layer's forward is seen
            m._compile = False
        net.forward(np.zeros((1,) + tuple(image_shape), dtype=np.float32))
    finally:
        for m, f in saved:
            m.forward = f
        for m, flag in chains:
            m._compile = flag
        net.train(was_training)
    total = sum(m for _, m in layers)
    return 6.0 * total - 2.0 * layers[0][1], layers


class ChainruleCNN:
    """The network trained by ``chainrule.training.Trainer`` (the loop the estimators run)."""
    name = "chainrule"

    def __init__(self, build, lr, batch, seed):
        from chainrule import losses, optim
        from chainrule.training import Trainer
        rng = np.random.default_rng(seed)
        self.model = build(rng)
        self.trainer = Trainer(self.model, losses.SoftmaxLogLikelihood(),
                               optim.SGD(self.model, lr=lr, momentum=0.9), batch_size=batch, epochs=1, rng=rng)

    def epoch(self, X, y):
        self.trainer.epochs = self.trainer.start_epoch + 1
        self.trainer.fit(X, y)

    def predict(self, X):
        return self.trainer.predict_scores(X).argmax(1)


class ChainruleLoopCNN(ChainruleCNN):
    """The same network through the notes' loop a user writes (zero_grad, forward, loss, backward,
    step over shuffled batches): the public API, no Trainer."""
    name = "chainrule, user's loop"

    def __init__(self, build, lr, batch, seed):
        from chainrule import losses, optim
        self.rng = np.random.default_rng(seed)
        self.model = build(self.rng)
        self.loss = losses.SoftmaxLogLikelihood()
        self.opt = optim.SGD(self.model, lr=lr, momentum=0.9)
        self.batch = batch

    def epoch(self, X, y):
        model, loss, opt = self.model, self.loss, self.opt
        model.train()
        perm = self.rng.permutation(len(X))
        for s in range(0, len(X), self.batch):
            idx = perm[s:s + self.batch]
            opt.zero_grad()
            loss.forward(model.forward(X[idx]), y[idx])
            model.backward(loss.backward())
            opt.step()

    def predict(self, X):
        self.model.eval()
        return np.concatenate([self.model.forward(X[s:s + 1000]).argmax(1) for s in range(0, len(X), 1000)])


class ChainruleNumpyCNN(ChainruleCNN):
    """The same, with the compiled kernels (numba) off when it is built: NumPy only, the reference."""
    name = "chainrule, NumPy only"

    def __init__(self, build, lr, batch, seed):
        self._numpy(lambda: ChainruleCNN.__init__(self, build, lr, batch, seed))

    def _numpy(self, fn):
        from chainrule import _compiled as _fused
        before = _fused.enabled()
        _fused.set_enabled(False)
        try:
            return fn()
        finally:
            _fused.set_enabled(before)

    def epoch(self, X, y):
        self._numpy(lambda: ChainruleCNN.epoch(self, X, y))

    def predict(self, X):
        return self._numpy(lambda: ChainruleCNN.predict(self, X))


class TorchCNN:
    """The same network in PyTorch (``torch_network`` of chainrule's description), its own init."""

    def __init__(self, build, lr, batch, seed, channels_last: bool):
        import torch
        from torch_interop import torch_network
        torch.manual_seed(seed)
        self.torch, self.batch = torch, batch
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.name = "PyTorch channels_last" if channels_last else "PyTorch contiguous"
        net = torch_network(build(np.random.default_rng(seed)).spec())
        for m in net.modules():                       # PyTorch's default initialisation
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        self.model = net.to(memory_format=self.fmt)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        self.loss = torch.nn.CrossEntropyLoss()
        self.gen = torch.Generator().manual_seed(seed)

    def _tensors(self, X, y):
        key = (id(X), X.shape)
        if getattr(self, "_key", None) != key:        # converted once per data set, outside the timing
            self._key = key
            self._X = self.torch.from_numpy(X).contiguous(memory_format=self.fmt)
            self._y = self.torch.from_numpy(y)
        return self._X, self._y

    def epoch(self, X, y):
        torch = self.torch
        Xt, yt = self._tensors(X, y)
        perm = torch.randperm(len(Xt), generator=self.gen)
        self.model.train()
        for s in range(0, len(Xt), self.batch):
            idx = perm[s:s + self.batch]
            out = self.model(Xt[idx].contiguous(memory_format=self.fmt))
            loss = self.loss(out, yt[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def predict(self, X):
        with self.torch.no_grad():
            self.model.eval()
            out = [self.model(self.torch.from_numpy(X[s:s + 1000]).contiguous(memory_format=self.fmt))
                   for s in range(0, len(X), 1000)]
            return self.torch.cat(out).argmax(1).numpy()


#: held-out synthetic ResNet images whose prediction is timed
PREDICT_ROWS = 2000


def run(systems, X, y, Xte, yte, repeats, timed, image_shape, build):
    """Interleaved epochs (a, b, c, a, b, c, ...): {name: {min, median, times, rss_growth_mb, accuracy, gflops}}."""
    flops, _ = network_flops(build(np.random.default_rng(0)), image_shape)
    flops *= len(X)
    names = [s(0).name for s in systems]
    times = {n: [] for n in names}
    rss = {n: [] for n in names}
    models = {}
    for r in range(repeats):
        for make, n in zip(systems, names):
            m = make(r)
            m.epoch(X[:256], y[:256])                 # first-touch allocations outside the timing
            sec, grow, _ = timed(lambda: m.epoch(X, y))
            times[n].append(sec)
            rss[n].append(grow)
            models[n] = m
    out = {}
    for n in names:
        t = times[n]
        grow = [v for v in rss[n] if v is not None]
        acc = float(np.mean(models[n].predict(Xte) == yte)) if Xte is not None else None
        pred = [timed(lambda: models[n].predict(Xte))[0] for _ in range(3)] if Xte is not None else None
        chain = getattr(getattr(models[n], "model", None), "_fused_chain", lambda: None)()
        held = None if chain is None or chain.plan is None else {k: v / 2**20 for k, v in chain.plan.nbytes().items()}
        out[n] = {"min": min(t), "median": statistics.median(t), "times": t, "fused_plan_mb": held,
                  "rss_growth_mb": max(grow) if grow else None, "rows_per_s": len(X) / min(t),
                  "gflops": flops / min(t) / 1e9, "accuracy": acc,
                  "predict_s": None if pred is None else min(pred), "predict_rows": None if Xte is None else len(Xte)}
    out["gflop_per_epoch"] = flops / 1e9
    return out


def _compiled_loops() -> bool:
    from chainrule import _compiled as _fused
    return _fused.enabled()


def workload(X60, y60, Xte, yte, repeats, timed, have_torch, resnet_rows=10000, numpy_too=True):
    """(g): lenet on MNIST and ResNet-20 on synthetic 32 x 32 x 3 images."""
    from chainrule.architectures import lenet, resnet
    report = {}
    X = X60.reshape(-1, 1, 28, 28)
    Xt = Xte.reshape(-1, 1, 28, 28)

    def lenet_build(rng):
        return lenet(1, 10, 28, rng=rng)

    systems = [lambda seed: ChainruleCNN(lenet_build, 0.01, 128, seed),
               lambda seed: ChainruleLoopCNN(lenet_build, 0.01, 128, seed)]
    if _compiled_loops() and numpy_too:
        systems.append(lambda seed: ChainruleNumpyCNN(lenet_build, 0.01, 128, seed))
    if have_torch:
        systems += [lambda seed: TorchCNN(lenet_build, 0.01, 128, seed, channels_last=False),
                    lambda seed: TorchCNN(lenet_build, 0.01, 128, seed, channels_last=True)]
    report["lenet"] = run(systems, X, y60, Xt, yte, repeats, timed, (1, 28, 28), lenet_build)
    P = sum(p.size for p in lenet_build(np.random.default_rng(0)).parameters())
    report["lenet"]["parameters"] = P
    report["lenet"]["rows"] = len(X)
    report["lenet"]["im2col_mb"] = 128 * 14 * 14 * 32 * 9 * 4 / 2**20    # the second convolution's X_col, one batch

    if resnet_rows <= 0:
        return report

    rng = np.random.default_rng(0)
    yr = rng.integers(0, 10, resnet_rows + PREDICT_ROWS)
    Xr = (rng.standard_normal((len(yr), 3, 32, 32)) * 0.5 + yr[:, None, None, None] / 10).astype(np.float32)
    # the last PREDICT_ROWS images are held out: prediction time (issue 21.1) and accuracy
    Xr, yr, Xr_te, yr_te = Xr[:resnet_rows], yr[:resnet_rows], Xr[resnet_rows:], yr[resnet_rows:]
    for key, p_last in (("resnet", 0.5), ("resnet-no-sd", 1.0)):
        def resnet_build(rng, p_last=p_last):
            return resnet(3, 10, width=16, blocks_per_stage=3, p_last=p_last, rng=rng)
        systems = [lambda seed, b=resnet_build: ChainruleCNN(b, 0.05, 128, seed),
                   lambda seed, b=resnet_build: ChainruleLoopCNN(b, 0.05, 128, seed)]
        if have_torch:
            systems += [lambda seed, b=resnet_build: TorchCNN(b, 0.05, 128, seed, channels_last=False),
                        lambda seed, b=resnet_build: TorchCNN(b, 0.05, 128, seed, channels_last=True)]
        report[key] = run(systems, Xr, yr, Xr_te, yr_te, max(1, repeats - 2), timed, (3, 32, 32), resnet_build)
        report[key]["rows"] = resnet_rows
        report[key]["parameters"] = sum(p.size for p in resnet_build(np.random.default_rng(0)).parameters())
    return report


def torch_reference(r):
    """The faster PyTorch entry of a workload report, or None."""
    entries = [(r[k]["min"], k) for k in ("PyTorch contiguous", "PyTorch channels_last") if k in r]
    return min(entries)[1] if entries else None
