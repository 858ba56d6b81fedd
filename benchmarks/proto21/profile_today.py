"""Issue 21, step 1: where a training step's time goes today, per pass, chainrule against PyTorch.

    .venv-bench/bin/python benchmarks/proto21/profile_today.py [--threads 2] [--lenet-batches 60]
                                                              [--resnet-batches 12] [--repeats 3]

chainrule (the code on this branch, the notes' loop: zero_grad, forward, loss, backward, SGD
momentum step) is timed by wrapping every module's forward and backward (exclusive time: a
container's own time excludes its children's) and, inside the convolution, the patch builds
(im2col), the input-gradient pass (col2im or the per-offset products) and the rest (the GEMMs).
PyTorch (channels_last, the same networks through ``torch_interop.torch_network``) is timed with
``torch.profiler`` (self CPU time per aten op, grouped into the same passes). Each system runs
``--repeats`` rounds, interleaved (chainrule, PyTorch, chainrule, ...); the table shows the
round with the smallest total (ms per batch of 128). Batch 128, float32, SGD momentum 0.9.
The ResNet is ResNet-20 (16/32/64, BatchNorm2d, projection shortcuts, stochastic depth p_L = 0.5,
row mode), as benchmarks/convnets.py.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))           # benchmarks/ (torch_interop, compare)

from proto21 import workloads  # noqa: E402


# ---- chainrule ------------------------------------------------------------------------------------
class ModuleTimer:
    """Exclusive time per (pass name) of every module of a network, plus the convolution's parts."""

    def __init__(self, net):
        from chainrule.layers import _image_loops, conv
        self.acc = collections.defaultdict(float)
        self.record = None                         # record(label, seconds) of every call, if set
        self.stack = []
        self.phase = "fwd"
        for m in net.modules():
            self._wrap(m)
        timer = self
        build = conv.ic.Patches.build

        def timed_build(patches, s, e):
            return timer.part(f"conv {timer.phase}: im2col", build, patches, s, e)
        conv.ic.Patches.build = timed_build
        col2im = _image_loops.col2im
        conv.loops.col2im = lambda *a: timer.part("conv bwd: col2im / dx scatter", col2im, *a)
        ig = conv.conv2d_input_grad
        conv.conv2d_input_grad = lambda *a: timer.part("conv bwd: col2im / dx scatter", ig, *a)
        self._restore = [(conv.ic.Patches, "build", build), (conv.loops, "col2im", col2im),
                         (conv, "conv2d_input_grad", ig)]

    def restore(self):
        for obj, name, f in self._restore:
            setattr(obj, name, f)

    def category(self, m, phase):
        name = type(m).__name__
        if name == "Conv2d":
            return f"conv {phase}: GEMM + rest"
        if name in ("Sequential",):
            return "containers (Python)"
        if name == "Residual":
            return f"residual add + mask {phase}"
        return f"{name} {phase}"

    def part(self, key, fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        dt = time.perf_counter() - t0
        self.acc[key] += dt
        if self.record is not None:
            self.record(key, dt)
        if self.stack:
            self.stack[-1][1] += dt                # the enclosing module's children time
        return out

    def _wrap(self, m):
        timer = self
        fwd, bwd = m.forward, m.backward

        def run(phase, fn, *a, **k):
            timer.phase = phase
            timer.stack.append([m, 0.0])
            t0 = time.perf_counter()
            out = fn(*a, **k)
            total = time.perf_counter() - t0
            _, child = timer.stack.pop()
            timer.acc[timer.category(m, phase)] += total - child
            if timer.record is not None:
                timer.record(timer.category(m, phase), total - child)
            if timer.stack:
                timer.stack[-1][1] += total
            timer.phase = phase
            return out
        m.forward = lambda x: run("fwd", fwd, x)
        m.backward = lambda g, **k: run("bwd", bwd, g, **k)


def chainrule_profile(build, X, y, batches, seed=0):
    """{pass: seconds per batch} of the notes' loop over ``batches`` batches of 128."""
    from chainrule import losses, optim
    net = build(np.random.default_rng(seed))
    loss = losses.SoftmaxLogLikelihood()
    opt = optim.SGD(net, lr=0.01, momentum=0.9)
    rng = np.random.default_rng(seed)

    def step(idx, timer=None):
        t = time.perf_counter()
        opt.zero_grad()
        xb, yb = X[idx], y[idx]
        if timer:
            timer.acc["data gather, zero_grad"] += time.perf_counter() - t
        s = net.forward(xb)
        t = time.perf_counter()
        loss.forward(s, yb)
        g = loss.backward()
        if timer:
            timer.acc["loss fwd + bwd"] += time.perf_counter() - t
        net.backward(g)
        t = time.perf_counter()
        opt.step()
        if timer:
            timer.acc["optimizer step"] += time.perf_counter() - t

    for _ in range(2):                             # warm-up (numba compile, first touch)
        step(rng.integers(0, len(X), 128))
    timer = ModuleTimer(net)
    perm = rng.permutation(len(X))
    t0 = time.perf_counter()
    for b in range(batches):
        step(perm[b * 128:(b + 1) * 128], timer)
    wall = time.perf_counter() - t0
    timer.restore()
    out = {k: v / batches for k, v in timer.acc.items()}
    out["TOTAL (wall)"] = wall / batches
    return out


# ---- PyTorch ----------------------------------------------------------------------------------------
TORCH_GROUPS = [   # (group, substrings of aten ops or autograd nodes), the first match wins
    ("conv bwd", ("convolution_backward", "slow_conv2d_backward", "ConvolutionBackward")),
    ("conv fwd", ("mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv2d",
                  "_nnpack", "thnn_conv", "_slow_conv2d_forward")),
    ("BatchNorm2d bwd", ("native_batch_norm_backward", "batch_norm_backward", "NativeBatchNormBackward")),
    ("BatchNorm2d fwd", ("native_batch_norm", "aten::batch_norm", "_batch_norm_impl_index",
                         "_native_batch_norm_legit")),
    ("ReLU bwd", ("threshold_backward", "ReluBackward")),
    ("ReLU fwd", ("aten::relu", "aten::clamp_min")),
    ("MaxPool2d bwd", ("max_pool2d_with_indices_backward", "MaxPool2DWithIndicesBackward")),
    ("MaxPool2d fwd", ("max_pool2d",)),
    ("GlobalAvgPool fwd + bwd", ("adaptive_avg_pool2d", "aten::mean", "_adaptive_avg_pool2d", "MeanBackward",
                                 "AdaptiveAvgPool")),
    ("Linear fwd + bwd", ("aten::addmm", "aten::mm", "aten::linear", "aten::t", "aten::matmul", "AddmmBackward",
                          "MmBackward", "TBackward", "aten::flatten", "UnsafeViewBackward", "ViewBackward")),
    ("loss fwd + bwd", ("cross_entropy", "log_softmax", "nll_loss", "_log_softmax", "LogSoftmaxBackward",
                        "NllLossBackward")),
    ("optimizer step", ("_foreach", "Optimizer.step", "Optimizer.zero_grad", "AccumulateGrad")),
    ("residual add + mask", ("aten::add", "aten::mul", "aten::div", "bernoulli", "aten::empty", "aten::add_",
                             "AddBackward", "MulBackward", "DivBackward")),
]


def torch_group(op: str) -> str:
    for group, keys in TORCH_GROUPS:
        if any(k in op for k in keys):
            return group
    return "other: " + op


def torch_profile(build, X, y, batches, seed=0):
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch_interop import torch_network
    torch.manual_seed(seed)
    net = torch_network(build(np.random.default_rng(seed)).spec())
    for m in net.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    fmt = torch.channels_last
    net = net.to(memory_format=fmt).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X).contiguous(memory_format=fmt), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)

    def step(idx):
        out = net(Xt[idx].contiguous(memory_format=fmt))
        loss = lossf(out, yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step(torch.randint(0, len(Xt), (128,), generator=gen))
    perm = torch.randperm(len(Xt), generator=gen)
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for b in range(batches):
            step(perm[b * 128:(b + 1) * 128])
    wall = time.perf_counter() - t0
    acc = collections.defaultdict(float)
    for ev in prof.key_averages():
        if ev.key.startswith("Optimizer.step"):
            acc["optimizer step"] += ev.cpu_time_total / 1e6
            continue
        if ev.key.startswith("Optimizer.zero_grad") or ev.key.startswith("ProfilerStep"):
            continue
        acc[torch_group(ev.key)] += ev.self_cpu_time_total / 1e6
    # ops inside the optimizer's step were counted twice (self time and the step's total)
    inner = sum(ev.self_cpu_time_total for ev in prof.key_averages()
                if ev.key.startswith("aten::_foreach")) / 1e6
    acc["optimizer step"] -= 0.0
    acc["optimizer step (of which _foreach ops)"] = inner
    acc["optimizer step"] -= inner
    out = {k: v / batches for k, v in acc.items()}
    out["TOTAL (wall, with the profiler)"] = wall / batches
    t0 = time.perf_counter()
    for b in range(batches):
        step(perm[b * 128:(b + 1) * 128])
    out["TOTAL (wall, no profiler)"] = (time.perf_counter() - t0) / batches
    return out


def show(title, rows):
    print(f"\n{title}  (ms per batch of 128)")
    keys = sorted(set().union(*[r.keys() for r in rows.values()]),
                  key=lambda k: (k.startswith("TOTAL"), k))
    names = list(rows)
    print(f"{'pass':44s} | " + " | ".join(f"{n:>22s}" for n in names))
    print("-" * 45 + "|" + "|".join("-" * 24 for _ in names))
    for k in keys:
        print(f"{k:44s} | " + " | ".join(f"{rows[n][k] * 1e3:22.2f}" if k in rows[n] else f"{'':>22s}"
                                         for n in names))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lenet-batches", type=int, default=60)
    ap.add_argument("--resnet-batches", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}; load average before: {os.getloadavg()}")
    with threadpool_limits(args.threads, user_api="blas"):
        for name, build, (X, y), batches in [
                ("lenet", workloads.lenet_build, workloads.mnist_images(), args.lenet_batches),
                ("ResNet-20", workloads.resnet_build, workloads.cifar_like(max(args.resnet_batches, 1) * 128),
                 args.resnet_batches)]:
            best = {}
            for r in range(args.repeats):
                for sysname, fn in [("chainrule today", chainrule_profile), ("PyTorch channels_last", torch_profile)]:
                    res = fn(build, X, y, batches, seed=r)
                    tot = res.get("TOTAL (wall)", res.get("TOTAL (wall, no profiler)"))
                    if sysname not in best or tot < best[sysname][0]:
                        best[sysname] = (tot, res)
            show(f"{name}, batch 128, {args.threads} threads", {k: v[1] for k, v in best.items()})
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
