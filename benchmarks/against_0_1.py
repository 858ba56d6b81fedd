"""Issue 11.6: MLPClassifier (sgd, adam), one epoch on 60,000 float32 rows, chainrule 0.1 (a checkout of
80b69ee, e.g. `git worktree add /tmp/oldmain 80b69ee`) against this checkout, alternating in fresh
processes, min and median of N rounds.  Usage: python benchmarks/against_0_1.py ROUNDS OLD_SRC"""
import subprocess, sys, json, statistics
CODE = r'''
import sys, time, warnings, io, contextlib
import numpy as np
from chainrule.models import MLPClassifier
old = sys.argv[1] == "old"; solver = sys.argv[2]
rng = np.random.default_rng(0)
X = rng.random((60000, 784), dtype=np.float32); y = rng.integers(0, 10, 60000)
if old:
    kw = dict(optimizer=solver, lr=0.01 if solver == "sgd" else 1e-3, momentum=0.9, batch_size=128, epochs=1, tol=0, alpha=0.0, random_state=0)
else:
    kw = dict(solver=solver, learning_rate_init=0.01 if solver == "sgd" else 1e-3, momentum=0.9, nesterovs_momentum=False, batch_size=128, max_iter=1, tol=0, alpha=0.0, random_state=0)
best = 1e9
for r in range(3):
    est = MLPClassifier((512, 256), **kw)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore"); t = time.perf_counter(); est.fit(X, y); best = min(best, time.perf_counter() - t)
print(best)
'''
import os
OLD = sys.argv[2] if len(sys.argv) > 2 else "/tmp/oldmain/src"
NEW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
res = {}
for rnd in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    for which, path in (("old", OLD), ("new", NEW)):
        for solver in ("sgd", "adam"):
            out = subprocess.run([sys.executable, "-c", CODE, which, solver], env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"},
                                 capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-800:]); sys.exit(1)
            res.setdefault(f"{which} {solver}", []).append(float(out.stdout))
            print(which, solver, out.stdout.strip(), flush=True)
for k, v in res.items():
    print(f"{k}: min {min(v):.3f} s, median {statistics.median(v):.3f} s")
