"""Where a training step's time goes, per pass, on one core: chainrule today, the prototype, PyTorch.

    .venv-bench/bin/python benchmarks/proto21/profile_min.py [--steps 12] [--net lenet,resnet]

On a shared machine a whole step is rarely left alone long enough to time it, but each pass is: every
call of every pass is timed in every step, in call order, and the table sums, per pass, the
*minimum over the steps* of each call (each call's time without the load the other processes add).
One thread (one worker, BLAS and PyTorch on one thread), batch 128, float32, SGD momentum 0.9, the
networks of benchmarks/convnets.py (ResNet-20 with stochastic depth p_L = 0.5, row mode).

- chainrule today: every module's forward and backward (exclusive of its children), and inside
  the convolution the patch builds, the input-gradient pass and the rest (the products);
- the prototype: every compiled kernel the fused steps call (``FusedNet``, direct convolutions);
- PyTorch channels_last: ``torch.profiler``'s CPU events, each aten op's self time (an op inside
  another op is its parent's), grouped as the passes above.

The sum of the minima is an estimate of a step on a quiet core; "measured step (min)" is the
shortest whole step actually seen.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proto21 import workloads  # noqa: E402
from proto21.profile_proto import Prof, wrap_prototype  # noqa: E402
from proto21.profile_today import ModuleTimer, torch_group  # noqa: E402


class Sequence:
    """Per step, the (label, seconds) of every timed call in order; the minima position by position."""

    def __init__(self):
        self.steps = []
        self.current = None

    def begin(self):
        self.current = []

    def add(self, label, seconds):
        if self.current is not None:
            self.current.append((label, seconds))

    def end(self):
        self.steps.append(self.current)
        self.current = None

    def table(self):
        n = min(len(s) for s in self.steps)
        out = collections.defaultdict(float)
        for i in range(n):
            label = self.steps[0][i][0]
            out[label] += min(s[i][1] for s in self.steps if s[i][0] == label)
        return dict(out)


def run_today(build, X, y, steps):
    from chainrule import losses, optim
    net = build(np.random.default_rng(0))
    loss, opt = losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.01, momentum=0.9)
    seq = Sequence()
    timer = ModuleTimer(net)
    timer.record = seq.add
    walls = []
    for s in range(steps + 2):
        idx = np.arange(s * 128, (s + 1) * 128) % len(X)
        if s >= 2:
            seq.begin()
        t0 = time.perf_counter()
        opt.zero_grad()
        t = time.perf_counter()
        out = net.forward(X[idx])
        loss.forward(out, y[idx])
        t1 = time.perf_counter()
        g = loss.backward()
        seq.add("loss fwd + bwd", time.perf_counter() - t1)
        net.backward(g)
        t = time.perf_counter()
        opt.step()
        seq.add("optimizer step", time.perf_counter() - t)
        walls.append(time.perf_counter() - t0)
        if s >= 2:
            seq.end()
    timer.restore()
    return seq.table(), min(walls[2:])


def run_proto(build, X, y, steps, shape, n_workers=1):
    from chainrule import losses, optim
    from proto21.net import FusedNet
    net = build(np.random.default_rng(0))
    fnet = FusedNet(net, shape, n_workers)
    loss, opt = losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.01, momentum=0.9)
    seq = Sequence()
    walls = []
    prof = None
    with fnet.threads():
        for s in range(steps + 2):
            if s == 2:
                prof = Prof(record=seq.add)
                wrap_prototype(prof, fnet)
            idx = np.arange(s * 128, (s + 1) * 128) % len(X)
            if s >= 2:
                seq.begin()
            t0 = time.perf_counter()
            opt.zero_grad()
            if prof:
                prof.phase = "fwd"
            out = fnet.forward(X[idx])
            t = time.perf_counter()
            loss.forward(out, y[idx])
            g = loss.backward()
            seq.add("loss fwd + bwd", time.perf_counter() - t)
            if prof:
                prof.phase = "bwd"
            fnet.backward(g)
            t = time.perf_counter()
            opt.step()
            seq.add("optimizer step", time.perf_counter() - t)
            walls.append(time.perf_counter() - t0)
            if s >= 2:
                seq.end()
    prof.restore()
    fnet.close()
    return seq.table(), min(walls[2:])


def run_torch(build, X, y, steps):
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function
    from torch_interop import torch_network
    torch.manual_seed(0)
    net = torch_network(build(np.random.default_rng(0)).spec())
    for m in net.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    cl = torch.channels_last
    net = net.to(memory_format=cl).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    Xt, yt = torch.from_numpy(X).contiguous(memory_format=cl), torch.from_numpy(y)
    walls = []

    def step(s, mark):
        idx = torch.arange(s * 128, (s + 1) * 128) % len(Xt)
        t0 = time.perf_counter()
        with record_function(mark):
            out = net(Xt[idx].contiguous(memory_format=cl))
            lossv = torch.nn.functional.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            lossv.backward()
            opt.step()
        walls.append(time.perf_counter() - t0)

    for s in range(2):
        step(s, "warm")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for s in range(steps):
            step(s + 2, f"STEP{s}")
    per_step = collections.defaultdict(list)
    for ev in prof.events():
        anc, top = ev.cpu_parent, None
        chain = []
        while anc is not None:
            chain.append(anc)
            anc = anc.cpu_parent
        marks = [a for a in chain if a.name.startswith("STEP")]
        if not marks or ev.name.startswith("STEP"):
            continue
        # attribute self time to the outermost op below the step marker (its group), or the optimizer
        below = [ev] + [a for a in chain if not a.name.startswith("STEP")]     # innermost first
        named = [a for a in below if not a.name.startswith("autograd::engine")]
        outer = named[-1] if named else ev                                     # the outermost op or node
        label = torch_group(outer.name)
        per_step[marks[0].name].append((label, ev.self_cpu_time_total / 1e6))
    seq = Sequence()
    for k in sorted(per_step, key=lambda n: int(n[4:])):
        seq.steps.append(per_step[k])
    return seq.table(), min(walls[2:])


CANONICAL = [  # (row, system, labels that start with one of these)
    ("conv forward", ("conv fwd", "fwd: conv")),
    ("conv backward (dW, dX)", ("conv bwd", "bwd: conv", "bwd: BN dz + conv")),
    ("batch norm forward", ("BatchNorm2d fwd", "fwd: batch statistics", "fwd: bn_apply", "fwd: image_stats")),
    ("batch norm backward", ("BatchNorm2d bwd", "bwd: block tail", "bwd: bwd_sums", "bwd: bwd_apply")),
    ("ReLU forward + backward", ("ReLU", "fwd: relu", "bwd: relu")),
    ("pooling (max, global average)", ("MaxPool2d", "GlobalAvgPool", "fwd: gap", "bwd: gap", "fwd: pool",
                                       "bwd: pool")),
    ("residual add + stochastic depth", ("residual", "fwd: residual_tail")),
    ("Linear + Flatten", ("Linear", "Flatten", "fwd: LinearStep", "bwd: LinearStep", "fwd: FlattenStep",
                          "bwd: FlattenStep")),
    ("loss + optimizer", ("loss", "optimizer")),
]


def canonical(label):
    for row, prefixes in CANONICAL:
        if label.startswith(prefixes):
            return row
    return "other (framework, Python, barriers)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--net", default="lenet,resnet")
    ap.add_argument("--no-today", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="workers of the prototype, PyTorch's threads "
                    "(chainrule today then uses as many BLAS threads); timers on the calling thread")
    args = ap.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s); load average {os.getloadavg()}")
    with threadpool_limits(args.threads):
        for name in args.net.split(","):
            if name == "lenet":
                build, shape, (X, y) = workloads.lenet_build, (1, 28, 28), workloads.mnist_images(128 * 8)
            else:
                build, shape, (X, y) = workloads.resnet_build, (3, 32, 32), workloads.cifar_like(128 * 8)
            cols = {}
            if not args.no_today:
                cols["chainrule today"] = run_today(build, X, y, args.steps)
            cols["prototype"] = run_proto(build, X, y, args.steps, shape, args.threads)
            cols["PyTorch channels_last"] = run_torch(build, X, y, args.steps)
            print(f"\n{name}, batch 128, {args.threads} thread(s): ms per step, sum over the step's calls of each "
                  f"call's minimum over {args.steps} steps (the calling thread's calls)")
            rows = [r for r, _ in CANONICAL] + ["other (framework, Python, barriers)"]
            summary = {n: collections.defaultdict(float) for n in cols}
            for n, c in cols.items():
                for k, v in c[0].items():
                    summary[n][canonical(k)] += v
            print(f"{'pass':52s} | " + " | ".join(f"{n:>21s}" for n in cols))
            for r in rows:
                print(f"{r:52s} | " + " | ".join(f"{summary[n][r] * 1e3:21.2f}" for n in cols))
            print(f"{'SUM of the minima':52s} | " + " | ".join(f"{sum(c[0].values()) * 1e3:21.2f}"
                                                             for c in cols.values()))
            print(f"{'measured step (min)':52s} | " + " | ".join(f"{c[1] * 1e3:21.2f}" for c in cols.values()))
            print("\n  in detail (the labels each system's timers give):")
            keys = sorted(set().union(*[c[0] for c in cols.values()]), key=lambda k: (canonical(k), k))
            print(f"{'pass':52s} | " + " | ".join(f"{n:>21s}" for n in cols))
            for k in keys:
                print(f"{k:52s} | " + " | ".join(f"{c[0][k] * 1e3:21.2f}" if k in c[0] else f"{'':21s}"
                                                 for c in cols.values()))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
