"""Issue 21, step 2: each convolution of lenet and ResNet-20 on one core, three ways, interleaved.

    .venv-bench/bin/python benchmarks/proto21/bench_kernels.py [--images 64] [--repeats 20] [--no-torch]

For one worker's half of a batch of 128 (``--images`` 64), float32, one thread: the forward, the
weight gradient and the input gradient of every distinct convolution shape of the two networks,

- "direct": ``k_direct`` (register-tiled micro-kernels, no patch matrix);
- "im2col+BLAS": ``k_conv.im2col`` per chunk of about 1 MB of patches, one OpenBLAS product per
  chunk (one BLAS thread), ``k_conv.col2im`` for dx (the prototype's other method);
- "PyTorch": ``torch.nn.functional.conv2d`` and ``torch.ops.aten.convolution_backward``
  channels_last, ``torch.set_num_threads(1)`` (oneDNN), as the hardware reference.

Each number is the minimum over ``--repeats`` runs (a shared machine's load only adds time); the
three ways run interleaved in every repeat. GFLOP/s = 2 MACs per multiply-add of the pass.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proto21 import k_conv, k_direct as kd  # noqa: E402

SHAPES = {  # name: (C, O, H, k, stride, padding, count in the network)
    "lenet conv1 1->32 28x28": (1, 32, 28, 3, 1, 1, 1),
    "lenet conv2 32->64 14x14": (32, 64, 14, 3, 1, 1, 1),
    "resnet stem 3->16 32x32": (3, 16, 32, 3, 1, 1, 1),
    "resnet 16->16 32x32": (16, 16, 32, 3, 1, 1, 6),
    "resnet 16->32 s2": (16, 32, 32, 3, 2, 1, 1),
    "resnet 32->32 16x16": (32, 32, 16, 3, 1, 1, 5),
    "resnet 32->64 s2": (32, 64, 16, 3, 2, 1, 1),
    "resnet 64->64 8x8": (64, 64, 8, 3, 1, 1, 5),
    "resnet proj 16->32 1x1 s2": (16, 32, 32, 1, 2, 0, 1),
    "resnet proj 32->64 1x1 s2": (32, 64, 16, 1, 2, 0, 1),
}


class Direct:
    name = "direct"

    def __init__(self, x, Wt, k, s, p, Ho, Wo):
        N, H, W, C = x.shape
        O = Wt.shape[0]
        L = kd.lanes(x.dtype)
        self.x = kd.alloc(x.shape, x.dtype)
        self.x[...] = x
        self.wp, self.wq = kd.pack_forward(Wt, L), kd.pack_input_grad(Wt, L)
        self.y = kd.alloc((N * Ho * Wo, O), x.dtype)
        self.g = kd.alloc((N * Ho * Wo, O), x.dtype)
        self.g[...] = 0.1
        self.xpad = kd.alloc(((H + 2 * p) * (W + 2 * p) * C,), x.dtype, zero=True)
        self.gpad = kd.alloc(((Ho + 2 * k + 2) * (Wo + 2 * k + 2) * O,), x.dtype, zero=True)
        self.dwp = kd.alloc(self.wp.shape, x.dtype, zero=True)
        self.dx = kd.alloc(x.shape, x.dtype)
        self.geo = (k, k, s, s, p, p, Ho, Wo)
        self.v1 = kd.conv_variant(self.wp.shape[3], L, Wo)
        self.v2 = kd.conv_variant(self.wq.shape[3], L, W)
        self.N = N
        self.tf = kd.no_transform(x.dtype)
        self.wv = kd.wgrad_variant(self.wp.shape[3], L, k * C)

    def fwd(self):
        kd.conv_forward(self.x, 0, self.N, *self.geo, self.wp, self.y, self.xpad, self.v1, self.tf)

    def dw(self):
        kd.weight_grad(self.x, 0, self.N, *self.geo, self.g, self.dwp, self.xpad, self.tf, self.wv)

    def dx_(self):
        kd.input_grad(self.g, 0, self.N, *self.geo, self.wq, self.dx, self.gpad, self.v2, 0)


class Im2col:
    name = "im2col+BLAS"

    def __init__(self, x, Wt, k, s, p, Ho, Wo):
        N, H, W, C = x.shape
        O = Wt.shape[0]
        self.x, self.k, self.s, self.p, self.Ho, self.Wo = np.ascontiguousarray(x), k, s, p, Ho, Wo
        self.K = k * k * C
        self.Wc = k_conv.weight_matrix(Wt, None)
        self.WcT = np.ascontiguousarray(self.Wc.T)
        per = max(1, (1 << 20) // (Ho * Wo * self.K * 4))
        self.chunks = [(a, min(N, a + per)) for a in range(0, N, per)]
        rows = per * Ho * Wo
        self.cols = np.empty((rows, self.K), x.dtype)
        self.dcols = np.empty((rows, self.K), x.dtype)
        self.y = np.empty((N * Ho * Wo, O), x.dtype)
        self.g = np.full((N * Ho * Wo, O), 0.1, x.dtype)
        self.dW = np.empty((self.K, O), x.dtype)
        self.part = np.empty((self.K, O), x.dtype)
        self.dx = np.empty(x.shape, x.dtype)

    def _cols(self, a, b):
        r = (b - a) * self.Ho * self.Wo
        k, s, p = self.k, self.s, self.p
        k_conv.im2col(self.x, a, b, k, k, s, s, p, p, self.Ho, self.Wo, self.cols[:r], False)
        return self.cols[:r], slice(a * self.Ho * self.Wo, b * self.Ho * self.Wo)

    def fwd(self):
        for a, b in self.chunks:
            cols, rs = self._cols(a, b)
            np.matmul(cols, self.Wc, out=self.y[rs])

    def dw(self):
        for i, (a, b) in enumerate(self.chunks):
            cols, rs = self._cols(a, b)
            np.matmul(cols.T, self.g[rs], out=self.dW if i == 0 else self.part)
            if i:
                self.dW += self.part

    def dx_(self):
        k, s, p = self.k, self.s, self.p
        for a, b in self.chunks:
            r = (b - a) * self.Ho * self.Wo
            rs = slice(a * self.Ho * self.Wo, b * self.Ho * self.Wo)
            np.matmul(self.g[rs], self.WcT, out=self.dcols[:r])
            k_conv.col2im(self.dcols[:r], a, b, k, k, s, s, p, p, self.Ho, self.Wo, self.dx, self.dx, False)


class Torch:
    name = "PyTorch"

    def __init__(self, x, Wt, k, s, p, Ho, Wo):
        import torch
        self.torch = torch
        cl = torch.channels_last
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).contiguous(memory_format=cl)
        self.w = torch.from_numpy(Wt).contiguous(memory_format=cl)
        self.g = torch.full((x.shape[0], Wt.shape[0], Ho, Wo), 0.1).contiguous(memory_format=cl)
        self.s, self.p = s, p

    def fwd(self):
        self.torch.nn.functional.conv2d(self.x, self.w, None, self.s, self.p)

    def dw(self):
        self.torch.ops.aten.convolution_backward(self.g, self.x, self.w, None, [self.s] * 2, [self.p] * 2, [1, 1],
                                                 False, [0, 0], 1, [False, True, False])

    def dx_(self):
        self.torch.ops.aten.convolution_backward(self.g, self.x, self.w, None, [self.s] * 2, [self.p] * 2, [1, 1],
                                                 False, [0, 0], 1, [True, False, False])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--only", default=None, help="a substring of the shapes to run")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    kinds = [Direct, Im2col]
    if not args.no_torch:
        import torch
        torch.set_num_threads(1)
        kinds.append(Torch)
    print(f"one thread, {args.images} images, float32, min of {args.repeats}; load average {os.getloadavg()}")
    print(f"{'shape':28s} {'pass':4s} | " + " | ".join(f"{k.name:>20s}" for k in kinds))
    totals = {k.name: 0.0 for k in kinds}
    with threadpool_limits(1):
        for name, (C, O, H, k, s, p, count) in SHAPES.items():
            if args.only and args.only not in name:
                continue
            rng = np.random.default_rng(0)
            Ho = (H + 2 * p - k) // s + 1
            x = rng.standard_normal((args.images, H, H, C)).astype(np.float32)
            Wt = (rng.standard_normal((O, C, k, k)) * 0.1).astype(np.float32)
            objs = [K(x, Wt, k, s, p, Ho, Ho) for K in kinds]
            flops = 2 * args.images * Ho * Ho * O * C * k * k
            for pass_ in ("fwd", "dw", "dx_"):
                if pass_ == "dx_" and "conv1" in name or (pass_ == "dx_" and "stem" in name):
                    continue                                 # the first layer needs no dx
                best = {o.name: 1e9 for o in objs}
                for o in objs:
                    getattr(o, pass_)()
                for _ in range(args.repeats):
                    for o in objs:
                        t = time.perf_counter()
                        getattr(o, pass_)()
                        best[o.name] = min(best[o.name], time.perf_counter() - t)
                for n, t in best.items():
                    totals[n] += t * count
                print(f"{name:28s} {pass_.strip('_'):4s} | " + " | ".join(
                    f"{best[o.name] * 1e3:7.2f} ms {flops / best[o.name] / 1e9:6.1f} GF" for o in objs), flush=True)
    print("per worker and training step, every convolution of both networks (ms, x count): "
          + ", ".join(f"{n} {t * 1e3:.1f}" for n, t in totals.items()))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
