"""Issue 21, step 4: one training epoch of the prototype against PyTorch channels_last and chainrule today.

    .venv-bench/bin/python benchmarks/proto21/bench_epoch.py [--threads 2] [--repeats 3]
        [--lenet-rows 60000] [--resnet-rows 2560] [--only lenet,resnet,resnet-nosd] [--no-today]

Systems, interleaved per repeat (a, b, c, a, b, c, ...), each a fresh model per repeat with one
warm-up epoch of 256 rows outside the timing (compilation is cached on disk, first touches):

- "prototype": ``proto21.net.FusedNet`` on the chainrule network, in the notes' loop (zero_grad,
  forward, loss, backward, SGD momentum 0.9 step), ``--threads`` workers, one BLAS thread each;
- "chainrule today": ``chainrule.training.Trainer`` on the same network (benchmarks/convnets.py);
- "PyTorch channels_last" (and "contiguous" with --contiguous): benchmarks/convnets.py's TorchCNN.

lenet: the 60,000 tiled MNIST rows of compare.py (g), batch 128, lr 0.01; ResNet-20: synthetic
32 x 32 x 3 images (convnets.py), batch 128, lr 0.05, stochastic depth p_L = 0.5 row mode
("resnet") or none ("resnet-nosd"). FLOPs: benchmarks/convnets.py ``network_flops`` (2 MACs
forward, weight gradients and input gradients of every conv and Linear layer except the first's
input gradient; batch norm, activations, pooling, loss and update not counted). Reported: epoch
seconds min and median, GFLOP/s at the min, its fraction of the 2048 x 2048 float32 matmul rate
measured in the same run, peak RSS growth during the epoch, the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import compare  # noqa: E402
import convnets  # noqa: E402
from proto21 import workloads  # noqa: E402


class Threads:
    """A system run on ``n`` threads (BLAS and PyTorch), its name suffixed when several counts run."""

    def __init__(self, inner, n, suffix):
        self.inner, self.n = inner, n
        self.name = inner.name + suffix

    def _run(self, fn):
        import torch
        from threadpoolctl import threadpool_limits
        torch.set_num_threads(self.n)
        with threadpool_limits(self.n, user_api="blas"):
            return fn()

    def epoch(self, X, y):
        return self._run(lambda: self.inner.epoch(X, y))

    def predict(self, X):
        return self._run(lambda: self.inner.predict(X))

    def __getattr__(self, k):
        return getattr(self.inner, k)


class ProtoCNN:
    """The prototype in the notes' loop."""
    name = "prototype"

    def __init__(self, build, lr, batch, seed, image_shape, n_workers):
        from chainrule import losses, optim
        from proto21.net import FusedNet
        rng = np.random.default_rng(seed)
        self.model = build(rng)
        self.fnet = FusedNet(self.model, image_shape, n_workers)
        self.loss = losses.SoftmaxLogLikelihood()
        self.opt = optim.SGD(self.model, lr=lr, momentum=0.9)
        self.batch, self.rng = batch, rng

    def epoch(self, X, y):
        net, loss, opt, fnet = self.model, self.loss, self.opt, self.fnet
        net.train()
        perm = self.rng.permutation(len(X))
        with fnet.threads():
            for s in range(0, len(X), self.batch):
                idx = perm[s:s + self.batch]
                opt.zero_grad()
                scores = fnet.forward(X[idx])
                loss.forward(scores, y[idx])
                fnet.backward(loss.backward())
                opt.step()

    def predict(self, X):
        self.model.eval()
        with self.fnet.threads():
            out = np.concatenate([self.fnet.forward(X[s:s + 1000]) for s in range(0, len(X), 1000)])
        self.model.train()
        return out.argmax(1)


def others_busy(window: float = 2.0) -> float:
    """Cores kept busy by other processes over the next ``window`` seconds (this one sleeps):
    the machine's busy jiffies (/proc/stat) over the interval, times the number of cores."""
    import time

    def busy_total():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v) - idle, sum(v)
    b0, t0 = busy_total()
    time.sleep(window)
    b1, t1 = busy_total()
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


def wait_quiet(limit: float, timeout: float = 1800.0):
    """Wait until other processes use less than ``limit`` cores (measured over 2 s); returns the
    last measurement (the wait gives up after ``timeout`` seconds and says so)."""
    import time
    start = time.time()
    while True:
        busy = others_busy()
        if busy < limit or time.time() - start > timeout:
            if busy >= limit:
                print(f"  (still {busy:.2f} busy cores after {timeout:.0f} s: measuring anyway)", flush=True)
            return busy


QUIET = {"limit": None}


def run(systems, X, y, Xte, yte, repeats, image_shape, build):
    flops, _ = convnets.network_flops(build(np.random.default_rng(0)), image_shape)
    flops *= len(X)
    names = [s(0).name for s in systems]
    times = {n: [] for n in names}
    grow = {n: [] for n in names}
    last = {}
    for r in range(repeats):
        for make, n in zip(systems, names):
            m = make(r)
            m.epoch(X[:256], y[:256])
            busy = wait_quiet(QUIET["limit"]) if QUIET["limit"] is not None else None
            sec, g, _ = compare.timed(lambda: m.epoch(X, y))
            after = others_busy(1.0) if QUIET["limit"] is not None else None
            times[n].append(sec)
            grow[n].append(g)
            last[n] = m
            q = "" if busy is None else f", other processes {busy:.2f} cores before, {after:.2f} after"
            print(f"  {n}: {sec:.3f} s (load {os.getloadavg()[0]:.2f}{q})", flush=True)
    out = {}
    for n in names:
        acc = float(np.mean(last[n].predict(Xte) == yte)) if Xte is not None else None
        gr = [v for v in grow[n] if v is not None]
        out[n] = {"min": min(times[n]), "median": statistics.median(times[n]), "times": times[n],
                  "gflops": flops / min(times[n]) / 1e9, "rss_growth_mb": max(gr) if gr else None, "accuracy": acc}
        if hasattr(last[n], "fnet") or hasattr(getattr(last[n], "inner", None), "fnet"):
            getattr(last[n], "inner", last[n]).fnet.close()
    return out, flops


def show(title, res, flops, rate):
    print(f"\n{title} ({flops / 1e9:.0f} GFLOP per epoch)")
    print(f"{'system':24s} | epoch s min | median | GFLOP/s | of matmul | test acc | RSS growth MB")
    refs = [k for k in res if k.startswith("PyTorch channels_last")]
    ref = res[refs[-1]] if refs else None
    for n, r in res.items():
        acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.4f}"
        ratio = f" ({r['min'] / ref['min']:.2f} x / {r['median'] / ref['median']:.2f} x PyTorch)" if ref else ""
        print(f"{n:24s} | {r['min']:11.3f} | {r['median']:6.3f} | {r['gflops']:7.1f} | {r['gflops'] / rate:8.1%} "
              f"| {acc:8s} | {r['rss_growth_mb']}{ratio}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="2", help="thread counts, e.g. 2 or 1,2 (each system at each count)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lenet-rows", type=int, default=60000)
    ap.add_argument("--resnet-rows", type=int, default=2560)
    ap.add_argument("--only", default="lenet,resnet")
    ap.add_argument("--no-today", action="store_true", help="leave chainrule today out (it is slow on the ResNet)")
    ap.add_argument("--contiguous", action="store_true", help="PyTorch's contiguous format too")
    ap.add_argument("--quiet-gate", type=float, default=None,
                    help="before each timed epoch, wait until other processes use fewer cores than this")
    args = ap.parse_args(argv)
    QUIET["limit"] = args.quiet_gate
    import torch
    from threadpoolctl import threadpool_limits
    counts = [int(t) for t in args.threads.split(",")]
    top = max(counts)
    torch.set_num_threads(top)
    print(f"threads {args.threads}; load average at start {os.getloadavg()}")
    with threadpool_limits(top, user_api="blas"):
        rate = compare.matmul_rate()
        print(f"float32 matmul 2048 x 2048: {rate:.1f} GFLOP/s ({top} threads)")
        jobs = {"lenet": (workloads.lenet_build, (1, 28, 28), 0.01),
                "resnet": (workloads.resnet_build, (3, 32, 32), 0.05),
                "resnet-nosd": (workloads.resnet_build_no_sd, (3, 32, 32), 0.05)}
        for name in args.only.split(","):
            build, shape, lr = jobs[name]
            if name == "lenet":
                X, y = workloads.mnist_images(args.lenet_rows)
                Xte, yte = workloads.mnist_test()
            else:
                X, y = workloads.cifar_like(args.resnet_rows)
                Xte = yte = None
            systems = []
            for t in counts:
                sfx = f" ({t} thread{'s' if t > 1 else ''})" if len(counts) > 1 else ""
                systems.append(lambda seed, t=t, sfx=sfx: Threads(ProtoCNN(build, lr, 128, seed, shape, t), t, sfx))
                if not args.no_today:
                    systems.append(lambda seed, t=t, sfx=sfx: Threads(convnets.ChainruleCNN(build, lr, 128, seed), t,
                                                                      sfx))
                if args.contiguous:
                    systems.append(lambda seed, t=t, sfx=sfx: Threads(
                        convnets.TorchCNN(build, lr, 128, seed, channels_last=False), t, sfx))
                systems.append(lambda seed, t=t, sfx=sfx: Threads(
                    convnets.TorchCNN(build, lr, 128, seed, channels_last=True), t, sfx))
            res, flops = run(systems, X, y, Xte, yte, args.repeats, shape, build)
            show(f"{name}, {len(X)} rows, batch 128, threads {args.threads}", res, flops, rate)
    print(f"\nload average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
