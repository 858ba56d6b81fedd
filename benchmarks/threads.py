"""Which thread setting trains a convolutional network fastest on this machine, now: 1, 2 or "auto".

    .venv/bin/python benchmarks/threads.py [--repeats 5] [--lenet-rows 6400] [--resnet-rows 512]

One epoch (batch 128, SGD momentum 0.9, float32, synthetic images: the speed does not depend on
the pixels) of lenet (28 x 28 x 1) and ResNet-20 with stochastic depth (32 x 32 x 3), with
``chainrule.set_num_threads(n)`` for each n, interleaved (1, 2, auto, 1, 2, auto, ...), the
minimum and median over the repeats, and the 1-minute load average before and after: a loaded
machine (other processes keeping a core busy) and a quiet one give different winners, which is
why "auto" decides per step (``_compiled/workers.py``). The results do not depend on the setting
(the same bits: tests/compiled, marked determinism). Results: a table on stdout (docs: guide/compiled).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def epoch_fn(build, shape, rows, seed=0):
    from chainrule import losses, optim
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows,) + shape).astype(np.float32)
    y = rng.integers(0, 10, rows)
    net = build()
    loss, opt = losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.01, momentum=0.9)

    def epoch():
        for s in range(0, rows, 128):
            opt.zero_grad()
            loss.forward(net.forward(X[s:s + 128]), y[s:s + 128])
            net.backward(loss.backward())
            opt.step()
    return epoch


def main(argv=None) -> int:
    import chainrule
    from chainrule.architectures import lenet, resnet
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lenet-rows", type=int, default=6400)
    ap.add_argument("--resnet-rows", type=int, default=512)
    ap.add_argument("--settings", default="1,2,auto")
    args = ap.parse_args(argv)
    settings = [s if s == "auto" else int(s) for s in args.settings.split(",")]
    load0 = os.getloadavg()[0]
    print(f"load average before: {load0:.2f}; cores {len(os.sched_getaffinity(0))}")
    nets = {"lenet": (lambda: lenet(1, 10, 28, rng=0), (1, 28, 28), args.lenet_rows),
            "resnet-20": (lambda: resnet(3, 10, width=16, blocks_per_stage=3, p_last=0.5, rng=0), (3, 32, 32),
                          args.resnet_rows)}
    for name, (build, shape, rows) in nets.items():
        if rows <= 0:
            continue
        times = {s: [] for s in settings}
        workers = {s: [] for s in settings}
        epoch = epoch_fn(build, shape, rows)
        chainrule.set_num_threads(1)
        epoch()                                          # compile / first touch outside the timing
        for _ in range(args.repeats):
            for s in settings:
                chainrule.set_num_threads(s)
                t = time.perf_counter()
                epoch()
                times[s].append(time.perf_counter() - t)
                workers[s].append(os.getloadavg()[0])
        chainrule.set_num_threads("auto")
        print(f"\n{name}, one epoch of {rows:,} rows (seconds)")
        print(f"{'threads':<8} {'min':>8} {'median':>8}  load during")
        for s in settings:
            print(f"{str(s):<8} {min(times[s]):8.3f} {statistics.median(times[s]):8.3f}  "
                  f"{min(workers[s]):.1f} to {max(workers[s]):.1f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
