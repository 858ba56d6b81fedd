"""The ResNet with and without stochastic depth on the MNIST split padded to 32 x 32 (issue 12.5).

The network is ``chainrule.architectures.resnet`` (three stages of basic blocks with BatchNorm2d),
small enough to run in minutes on 2 cores. Two runs with the same seed, the same initial weights,
the same batches and the same settings, differing only in ``p_last``: 0.5 (stochastic depth, the
paper's linear decay rule from survival 1 at the first block to 0.5 at the last, a draw per
image) and 1.0 (every block always kept, a plain ResNet). Data: the first 8,000 images of
the MNIST test files to train, the last 2,000 to test, /255, zero-padded from 28 x 28 to 32 x 32.

Reported per run: train accuracy (evaluation mode, after the last epoch, over the 8,000 training
images), test accuracy, seconds per epoch (the training loop only, as ``Trainer`` records it),
and the load average of the machine before and after (other processes compete for the cores).
No claim is made that either wins; these are the numbers of one seed.

    PYTHONPATH=src python benchmarks/resnet_depth.py [--epochs 4] [--width 8] [--blocks 2]

Prints a markdown table and writes JSON to benchmarks/results/local/resnet_depth.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def mnist_split_32(data_dir):
    """(Xtr, ytr, Xte, yte): images (N, 1, 32, 32) float32 in [0, 1], first 8,000 / last 2,000."""
    from chainrule.datasets import load_mnist
    d = load_mnist(data_dir, download=False, subset="test", progress=False)
    X = d.X_test.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    X = np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2)))
    y = np.asarray(d.y_test, dtype=np.int64)
    return X[:8000], y[:8000], X[8000:], y[8000:]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:
        return None


def run(p_last, args, data):
    from chainrule import losses, optim
    from chainrule.architectures import resnet
    from chainrule.training import Callback, Trainer

    Xtr, ytr, Xte, yte = data
    net = resnet(1, 10, width=args.width, blocks_per_stage=args.blocks, p_last=p_last, mode="row", rng=args.seed)

    class TestAccuracy(Callback):
        """Test accuracy after each epoch (evaluation mode), outside the epoch's timing."""

        def __init__(self):
            self.values = []

        def on_epoch_end(self, trainer, epoch, record):
            self.values.append(float((trainer.predict_scores(Xte).argmax(1) == yte).mean()))
            print(f"  p_L {p_last}: epoch {epoch + 1} {record['seconds']:.1f} s, running train accuracy "
                  f"{record['accuracy']:.4f}, test accuracy {self.values[-1]:.4f}, load {os.getloadavg()[0]:.1f}",
                  file=sys.stderr, flush=True)

    test_curve = TestAccuracy()
    trainer = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=args.lr, momentum=0.9),
                      batch_size=args.batch, epochs=args.epochs, rng=args.seed, callbacks=[test_curve])
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    history = trainer.fit(Xtr, ytr)
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    seconds = [float(v) for v in history["seconds"]]
    train_acc = float((trainer.predict_scores(Xtr).argmax(1) == ytr).mean())
    test_acc = float((trainer.predict_scores(Xte).argmax(1) == yte).mean())
    return {"p_last": p_last, "train_accuracy_eval_mode": train_acc, "test_accuracy": test_acc,
            "seconds_per_epoch": seconds, "mean_seconds_per_epoch": float(np.mean(seconds)),
            "test_accuracy_per_epoch": test_curve.values, "wall_seconds": wall,
            "loadavg_before": load_before, "loadavg_after": load_after,
            "parameters": int(sum(p.value.size for p in net.parameters()))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=2, help="basic blocks per stage (depth 6 blocks + 2)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "local" / "resnet_depth.json"))
    args = ap.parse_args(argv)
    data = mnist_split_32(args.data_dir)
    rows = [run(p, args, data) for p in (1.0, 0.5)]
    settings = {"network": f"architectures.resnet(1, 10, width={args.width}, blocks_per_stage={args.blocks}, "
                           f"mode='row'), depth {6 * args.blocks + 2}",
                "data": "MNIST test files: first 8,000 train, last 2,000 test, /255, zero-padded to 32 x 32",
                "optimizer": f"SGD lr {args.lr} momentum 0.9, batch {args.batch}, {args.epochs} epochs, seed {args.seed}",
                "dtype": "float32"}
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
               "numpy": np.__version__, "blas_threads": blas_threads(), "platform": platform.platform()}
    print(f"ResNet, {settings['network']}; {settings['data']}; {settings['optimizer']}; float32")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; load average (1 min) "
          + ", ".join(f"{r['loadavg_before'][0]:.2f} -> {r['loadavg_after'][0]:.2f}" for r in rows))
    print()
    print("| stochastic depth | p_L | train accuracy (eval mode) | test accuracy | seconds per epoch |")
    print("|---|---|---|---|---|")
    for r in rows:
        label = "no (every block kept)" if r["p_last"] == 1.0 else "yes (linear decay, row mode)"
        print(f"| {label} | {r['p_last']:.1f} | {r['train_accuracy_eval_mode']:.4f} | {r['test_accuracy']:.4f} | "
              f"{r['mean_seconds_per_epoch']:.1f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"settings": settings, "machine": machine, "runs": rows}, indent=1))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
