"""Issue 20.8: the refactor loses no speed. Benchmarks (a), (f) and (g) of ``compare.py``, run on an
older revision and on this checkout alternately, each measurement in a fresh process, min and median
over the rounds (the machine's load moves both alike).

    git worktree add /tmp/before d833c3e          # the revision to compare with (main before issue 20)
    python benchmarks/before_after.py --before /tmp/before/src --rounds 5

(a) the user's own loop: ``nn.Sequential`` 784-512-256-10, ``SoftmaxLogLikelihood``, SGD momentum 0.9,
    batch 128, one epoch of 60,000 random float32 rows (``compare.py`` uses MNIST rows; the time does not
    depend on the values);
(f) ``MLPClassifier((512, 256)).fit`` for one epoch of the same rows, SGD and Adam;
(g) the lenet of ``chainrule.architectures`` in the user's own loop, one epoch of 12,000 random 28 x 28
    images;
(r) its ResNet-20 (stochastic depth as built: p_last 0.5, per image) in the user's own loop, one epoch of
    2,560 random 32 x 32 x 3 images (``--only r``).

Every measurement uses ``--threads`` BLAS threads (2 by default, as compare.py on this machine).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import json, sys, time, warnings, io, contextlib
import numpy as np
from threadpoolctl import threadpool_limits
workload, threads = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
with threadpool_limits(threads, user_api="blas"), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from chainrule import nn, losses, optim
    def loop(net, X, y, batch=128):
        loss = losses.SoftmaxLogLikelihood()
        opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        t = time.perf_counter()
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss.forward(net.forward(X[i:i + batch]), y[i:i + batch])
            net.backward(loss.backward())
            opt.step()
        return time.perf_counter() - t
    if workload == "a":
        X = rng.random((60000, 784), dtype=np.float32); y = rng.integers(0, 10, 60000)
        net = nn.Sequential(nn.Linear(784, 512, rng=0), nn.ReLU(), nn.Linear(512, 256, rng=1), nn.ReLU(),
                            nn.Linear(256, 10, rng=2))
        sec = loop(net, X, y)
    elif workload.startswith("f"):
        from chainrule.models import MLPClassifier
        X = rng.random((60000, 784), dtype=np.float32); y = rng.integers(0, 10, 60000)
        solver = workload.split("-")[1]
        kw = dict(momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.01) if solver == "sgd" else {}
        est = MLPClassifier((512, 256), solver=solver, batch_size=128, max_iter=1, tol=0, alpha=0.0,
                            random_state=0, **kw)
        with contextlib.redirect_stderr(io.StringIO()):
            t = time.perf_counter(); est.fit(X, y); sec = time.perf_counter() - t
    elif workload == "g":
        from chainrule.architectures import lenet
        X = rng.random((12000, 1, 28, 28), dtype=np.float32); y = rng.integers(0, 10, 12000)
        sec = loop(lenet(rng=0), X, y)
    elif workload == "r":                  # the compiled kernels' workers set as compare.py sets them
        import chainrule
        from chainrule.architectures import resnet
        chainrule.set_num_threads(threads)
        X = rng.standard_normal((2560, 3, 32, 32), dtype=np.float32); y = rng.integers(0, 10, 2560)
        sec = loop(resnet(3, 10, width=16, blocks_per_stage=3, rng=0), X, y)
print(json.dumps(sec))
'''

WORKLOADS = {"a": "(a) user's loop, MLP 784-512-256-10, 60,000 rows", "f-sgd": "(f) MLPClassifier.fit, SGD, 1 epoch",
             "f-adam": "(f) MLPClassifier.fit, Adam, 1 epoch", "g": "(g) lenet, user's loop, 12,000 images",
             "r": "(r) ResNet-20, user's loop, 2,560 images"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the src/ folder of the older revision")
    ap.add_argument("--after", default=str(Path(__file__).resolve().parents[1] / "src"),
                    help="the src/ folder of the newer revision (default: this checkout)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="a,f-sgd,f-adam,g", help="e.g. a,g or r")
    args = ap.parse_args(argv)
    trees = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    times: dict = {}
    for r in range(args.rounds):
        for w in args.only.split(","):
            for which, src in trees.items():
                env = dict(os.environ, PYTHONPATH=src)
                done = subprocess.run([sys.executable, "-c", CHILD, w, str(args.threads)], env=env,
                                      capture_output=True, text=True)
                if done.returncode:
                    print(done.stderr[-2000:], file=sys.stderr)
                    return 1
                times.setdefault(w, {}).setdefault(which, []).append(json.loads(done.stdout))
                print(f"round {r + 1} {w:6s} {which:6s} {times[w][which][-1]:.3f} s", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}; {args.threads} BLAS threads; {args.rounds} rounds")
    print(f"{'workload':45s} {'before min':>10s} {'median':>8s} {'after min':>10s} {'median':>8s} {'after/before':>12s}")
    for w, t in times.items():
        b, a = t["before"], t["after"]
        print(f"{WORKLOADS[w]:45s} {min(b):10.3f} {statistics.median(b):8.3f} {min(a):10.3f} "
              f"{statistics.median(a):8.3f} {min(a) / min(b):11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
