"""Where the prototype's training step spends its time, per pass (worker 0's view), against wall time.

    .venv-bench/bin/python benchmarks/proto21/profile_proto.py [--threads 2] [--batches 40] [--net lenet|resnet]

Every compiled kernel and product the units call is wrapped with a timer that records on worker 0
(the calling thread) only: its sum per pass is what one worker spent; "barrier wait" is time
worker 0 waited for the others (imbalance, or a busy machine); "rest of worker 0" is its Python
between the calls; the calling thread's own work (loss, weight matrices, gradient sums,
optimizer) is timed around the calls. ms per batch of 128, the best of ``--repeats`` rounds.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from proto21 import k_block, k_conv, k_direct, k_norm, k_pool, net as pnet, steps, units, workloads  # noqa: E402

MAIN = threading.main_thread()


class Prof:
    """Timers around module-level functions, on the calling thread only; ``record(label, s)`` too."""

    def __init__(self, record=None):
        self.acc = collections.defaultdict(float)
        self.phase = "fwd"
        self.saved = []
        self.record = record

    def wrap(self, mod, name, label=None):
        f = getattr(mod, name)
        prof = self

        def timed(*a, **k):
            if threading.current_thread() is not MAIN:
                return f(*a, **k)
            t = time.perf_counter()
            out = f(*a, **k)
            dt = time.perf_counter() - t
            key = f"{prof.phase}: {label or name}"
            prof.acc[key] += dt
            if prof.record is not None:
                prof.record(key, dt)
            return out
        self.saved.append((mod, name, f))
        setattr(mod, name, timed)

    def restore(self):
        for mod, name, f in reversed(self.saved):
            setattr(mod, name, f)


def wrap_prototype(prof, fnet):
    """Timers around every kernel the prototype's steps call (compile them first: a compiled
    caller must not see a wrapper), and around the workers' barrier."""
    for mod, name in [(k_conv, "im2col"), (k_conv, "col2im"), (k_norm, "image_stats"), (k_norm, "bn_apply"),
                      (k_norm, "residual_tail"), (k_norm, "bwd_sums"), (k_norm, "bwd_apply"),
                      (k_norm, "relu_mask"), (k_pool, "pool2_relu_fwd"), (k_pool, "pool2_relu_bwd"),
                      (k_pool, "gap_fwd"), (k_pool, "gap_bwd"), (k_norm, "finish_stats")]:
        prof.wrap(mod, name)
    for name, label in [("conv_forward_stats", "conv fwd (+ BN statistics)"),
                        ("conv_forward_pool", "conv fwd (+ bias, ReLU, max pooling)"),
                        ("conv_forward_bias_relu", "conv fwd (+ bias, ReLU)"),
                        ("weight_grad", "conv dW"), ("input_grad", "conv dX"), ("bias_grad", "conv db"),
                        ("pool_conv_backward", "conv dW + db + dX (+ pooling, ReLU backward)")]:
        prof.wrap(k_direct, name, label)
    prof.wrap(k_block, "tail_backward_sums", "block tail: ReLU mask + BN sums")
    prof.wrap(k_block, "bn_conv_backward", "BN dz + conv dW + dX (+ the previous BN's sums)")
    prof.wrap(k_norm, "batch_norm_values", "batch statistics (merge)")
    prof.wrap(units, "gemm_fwd", "conv GEMM fwd")
    prof.wrap(units, "gemm_dw", "conv GEMM dW")
    prof.wrap(units, "gemm_dx", "conv GEMM dX")
    for cls in (steps.LinearStep, steps.FlattenStep):
        for meth in ("forward", "backward"):
            prof.wrap(cls, meth, f"{cls.__name__} (all)")
    prof.wrap(fnet.ctx, "sync", "barrier wait")


def profile(build, shape, X, y, batches, n_workers, seed=0, method="direct"):
    from chainrule import losses, optim
    warm = pnet.FusedNet(build(np.random.default_rng(seed)), shape, n_workers, method)
    with warm.threads():                   # compile (or load from numba's cache) before any wrapping:
        for _ in range(2):                 # compiled callers must see the real kernels
            warm.forward(X[:128])
            warm.backward(np.ones((128, 10), np.float32))
    warm.close()
    net = build(np.random.default_rng(seed))
    fnet = pnet.FusedNet(net, shape, n_workers, method)
    prof = Prof()
    wrap_prototype(prof, fnet)
    loss = losses.SoftmaxLogLikelihood()
    opt = optim.SGD(net, lr=0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    main_acc = collections.defaultdict(float)
    try:
        with fnet.threads():
            for b in range(-2, batches):
                idx = perm[(b % batches) * 128:((b % batches) + 1) * 128]
                if b == 0:
                    prof.acc.clear()
                    main_acc.clear()
                    t_start = time.perf_counter()
                t0 = time.perf_counter()
                opt.zero_grad()
                prof.phase = "fwd"
                s = fnet.forward(X[idx])
                t1 = time.perf_counter()
                loss.forward(s, y[idx])
                g = loss.backward()
                t2 = time.perf_counter()
                prof.phase = "bwd"
                fnet.backward(g)
                t3 = time.perf_counter()
                opt.step()
                t4 = time.perf_counter()
                main_acc["forward (wall)"] += t1 - t0
                main_acc["loss"] += t2 - t1
                main_acc["backward (wall)"] += t3 - t2
                main_acc["optimizer step"] += t4 - t3
            wall = time.perf_counter() - t_start
    finally:
        prof.restore()
        fnet.close()
    out = {k: v / batches for k, v in prof.acc.items()}
    for ph in ("fwd", "bwd"):
        inside = sum(v for k, v in out.items() if k.startswith(ph + ":"))
        out[f"{ph}: rest (Python, weights, gradient sums)"] = \
            main_acc["forward (wall)" if ph == "fwd" else "backward (wall)"] / batches - inside
    out["loss fwd + bwd"] = main_acc["loss"] / batches
    out["optimizer step"] = main_acc["optimizer step"] / batches
    out["TOTAL (wall)"] = wall / batches
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--net", default="lenet,resnet")
    ap.add_argument("--method", default="direct", choices=["direct", "im2col"])
    args = ap.parse_args(argv)
    print(f"{args.threads} workers; load average {os.getloadavg()}")
    for name in args.net.split(","):
        if name == "lenet":
            build, shape, (X, y) = workloads.lenet_build, (1, 28, 28), workloads.mnist_images()
        else:
            build, shape, (X, y) = workloads.resnet_build, (3, 32, 32), workloads.cifar_like(args.batches * 128)
        best = None
        for r in range(args.repeats):
            res = profile(build, shape, X, y, args.batches, args.threads, seed=r, method=args.method)
            if best is None or res["TOTAL (wall)"] < best["TOTAL (wall)"]:
                best = res
        print(f"\n{name}, batch 128, {args.threads} workers, {args.method} convolutions (ms per batch)")
        for k in sorted(best, key=lambda k: (k.startswith("TOTAL"), k)):
            print(f"  {k:48s} {best[k] * 1e3:9.2f}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
