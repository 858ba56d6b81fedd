"""Which ``n_threads`` fits an MLP fastest on this machine, now: 1, 2 or "auto" (the default).

    .venv/bin/python benchmarks/threads_estimators.py [--repeats 5]

Issue 22.4 asks for one threads default, the fastest on a 2-core machine quiet and busy.
``benchmarks/threads.py`` measures the convolutional networks (the compiled workers); this script
measures the MLPs, where only BLAS's threads matter ("auto" runs BLAS on one thread per core when
the machine is quiet as the fit starts, on one when it is busy: its bits depend on its thread
count, so it decides once per run). Three fits, interleaved in turn (1, 2, auto, then 2, auto, 1, then auto, 1, 2, ...), minimum and
median over the repeats, with the 1-minute load average before and after:

- ``MLPClassifier((128,), max_iter=20)`` on 8,000 MNIST-shaped rows (784 float32 features;
  random values: the time does not depend on them), batch 200;
- ``MLPClassifier((512, 256), max_iter=2)``, batch 128, on 20,000 such rows (benchmark (a)'s network);
- ``MLPClassifier((256, 128), max_iter=30)`` on scikit-learn's 8 x 8 digits (the default network
  of ``chainrule train`` and ``make demo``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np


def main(argv=None) -> int:
    from sklearn.datasets import load_digits

    from chainrule.models import MLPClassifier
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--settings", default="1,2,auto")
    args = ap.parse_args(argv)
    settings = [s if s == "auto" else int(s) for s in args.settings.split(",")]
    rng = np.random.default_rng(0)
    digits = load_digits()
    work = {
        "MLPClassifier((128,), max_iter=20), 8,000 x 784": (
            dict(hidden_layer_sizes=(128,), max_iter=20, tol=0.0, random_state=0),
            rng.random((8000, 784), dtype=np.float32), rng.integers(0, 10, 8000)),
        "MLPClassifier((512, 256), max_iter=2, batch 128), 20,000 x 784": (
            dict(hidden_layer_sizes=(512, 256), max_iter=2, batch_size=128, tol=0.0, random_state=0),
            rng.random((20000, 784), dtype=np.float32), rng.integers(0, 10, 20000)),
        "MLPClassifier((256, 128), max_iter=30), digits 1,797 x 64": (
            dict(hidden_layer_sizes=(256, 128), max_iter=30, tol=0.0, random_state=0),
            digits.data / 16.0, digits.target),
    }
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores {len(os.sched_getaffinity(0))}")
    for name, (kwargs, X, y) in work.items():
        times = {s: [] for s in settings}
        loads = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")              # max_iter reached: a ConvergenceWarning each fit
            MLPClassifier(**{**kwargs, "max_iter": 1}).fit(X, y)          # first touch outside the timing
            for r in range(args.repeats):
                # each setting first, second and third in turn: the one after a two-thread fit meets
                # OpenBLAS's threads still spinning for a while, which alone cost 15 % on the digits
                for s in settings[r % len(settings):] + settings[:r % len(settings)]:
                    t = time.perf_counter()
                    MLPClassifier(n_threads=s, **kwargs).fit(X, y)
                    times[s].append(time.perf_counter() - t)
                    loads.append(os.getloadavg()[0])
        print(f"\n{name}: fit time, seconds (load {min(loads):.1f} to {max(loads):.1f})")
        print(f"{'n_threads':<10} {'min':>8} {'median':>8}")
        for s in settings:
            print(f"{str(s):<10} {min(times[s]):8.3f} {statistics.median(times[s]):8.3f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
