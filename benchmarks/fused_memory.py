"""Memory of a fused training step (issue 21, criterion 6): peak <= data + 4 x parameters + the
workers' largest buffers + 150 MB.

    .venv/bin/python benchmarks/fused_memory.py [--threads N]      # default: "auto"

For lenet (28 x 28 x 1) and ResNet-20 (32 x 32 x 3), batch 128, float32: the growth of the
process's peak resident set over its size before the network was built (Linux /proc; numba and the
compiled kernels loaded before, by a two-image step of another copy), measured over the network's
build and three training steps, and what the fused plan holds between steps
(``Plan.nbytes``: full-batch activations and gradients, per-worker buffers).
"""
from __future__ import annotations

import gc

import numpy as np


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024


def measure(build, shape):
    from chainrule import losses, optim
    small = build()                      # numba, LLVM and the compiled kernels loaded outside the measure
    L = losses.SoftmaxLogLikelihood()
    L.forward(small.forward(np.zeros((2,) + shape, np.float32)), np.zeros(2, int))
    small.backward(L.backward())
    del small
    X = np.random.default_rng(0).standard_normal((128,) + shape).astype(np.float32)
    y = np.arange(128) % 10
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    start = rss("VmRSS")
    net = build()
    loss, opt = losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.01, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        loss.forward(net.forward(X), y)
        net.backward(loss.backward())
        opt.step()
    P = sum(p.value.nbytes for p in net.parameters())
    chain = net._fused_chain()
    fused = chain is not None and chain.plan is not None
    held = chain.plan.nbytes() if fused else {}
    workers = chain.plan.workers() if fused else 0
    return rss("VmHWM") - start, P / 2**20, {k: round(v / 2**20, 1) for k, v in held.items()}, workers


def main(argv=None) -> int:
    import argparse

    import chainrule
    from chainrule.architectures import lenet, resnet
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="auto", help="chainrule.set_num_threads: the workers (default auto)")
    args = ap.parse_args(argv)
    chainrule.set_num_threads(args.threads if args.threads == "auto" else int(args.threads))
    for name, build, shape in (("lenet", lambda: lenet(1, 10, 28, rng=0), (1, 28, 28)),
                               ("resnet-20", lambda: resnet(3, 10, width=16, blocks_per_stage=3, rng=0), (3, 32, 32))):
        grow, P, held, workers = measure(build, shape)
        limit = 4 * P + held.get("per worker", 0) + 150
        print(f"{name}: peak growth {grow:.0f} MB; parameters {P:.1f} MB; plan holds {held} (MB), "
              f"{workers} worker(s) ran; "
              f"limit 4 x parameters + per-worker buffers + 150 MB = {limit:.0f} MB: "
              f"{'met' if grow <= limit else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
