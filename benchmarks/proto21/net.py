"""A chainrule image network compiled into fused channels-last steps run by a team of workers.

    fnet = FusedNet(net, (C, H, W), n_workers=2)     # net: the chainrule Sequential (lenet, resnet)
    with fnet.threads():                               # BLAS on one thread inside each worker
        opt.zero_grad()
        scores = fnet.forward(X_batch)                 # (N, classes), as net.forward
        loss.forward(scores, y_batch)
        fnet.backward(loss.backward())                 # adds to every Parameter's .grad, as net.backward
        opt.step()                                     # any chainrule optimizer: the Parameters are net's

What is fused (``describe()`` lists it): Conv2d + bias + ReLU + MaxPool2d(2) as one pass over each
image's convolution output (lenet); Conv2d + BatchNorm2d (+ ReLU) with the statistics taken on each
image's output while it is in cache; a residual block as the passes of ``block.py`` (BN1 + ReLU
applied while conv2 reads its input, the tail: shortcut, its batch norm, the stochastic-depth
factor, the add and the ReLU, as one pass). The images stay channels-last from the first
convolution to the flatten or the global pooling. The batch is cut into fixed chunks of
``chunk_images`` images, whole chunks per worker (``workers.split``); weight gradients are summed
per chunk, so the bits do not depend on ``n_workers`` (an int, or ``"auto"``: ``_auto_workers``).
``method="im2col"`` runs the convolutions as patches + BLAS products instead (the measured
alternative; its bits depend on the number of workers).

The network's modules keep their Parameters and buffers (running statistics, stochastic-depth
generators, drawn in the same order as ``net.forward`` draws them), so ``net`` and ``fnet`` can
be used in turn and a model file holds the same state.
"""
from __future__ import annotations

import os

import numpy as np

from . import workers as wk
from .k_direct import alloc
from .block import FusedBlockStep, FusedStemStep
from .steps import BlockStep, ConvBNStep, ConvStep, FlattenStep, GapStep, LinearStep
from .units import ConvUnit, Scratch


class _Context:
    def __init__(self, team, n_workers):
        self.team = team
        self.scratch = [Scratch() for _ in range(n_workers)]
        self.sync = None if team is None else team.sync
        self.training = True
        self.chunks = None                       # per worker: its fixed chunks (k, first, end) of images
        self.masks = {}
        self.input_of = {}


class BufferPool:
    """Full-batch gradient buffers shared by the steps that never need them at the same time."""

    def __init__(self, dtype):
        self.dtype, self.bufs = dtype, {}

    def get(self, shape, slot):
        key = (tuple(shape), slot)
        if key not in self.bufs:
            self.bufs[key] = alloc(shape, self.dtype)
        return self.bufs[key]


def build_steps(net, image_shape, method="direct"):
    """The list of fused steps for a chainrule Sequential (raises NotImplementedError otherwise)."""
    from chainrule import nn
    mods = list(net)
    C, H, W = image_shape
    steps, i = [], 0
    shape = (H, W, C)
    while i < len(mods):
        m = mods[i]
        nxt = [type(x).__name__ for x in mods[i + 1:i + 4]]
        if isinstance(m, nn.Conv2d):
            bn = mods[i + 1] if nxt[:1] == ["BatchNorm2d"] else None
            j = i + 1 + (bn is not None)
            relu = j < len(mods) and isinstance(mods[j], nn.ReLU)
            j += relu
            pool = (j < len(mods) and isinstance(mods[j], nn.MaxPool2d) and mods[j].kernel_size == (2, 2)
                    and mods[j].stride == (2, 2) and relu and bn is None)
            j += pool
            unit = ConvUnit(m, shape[:2], bn=bn, relu=relu, pool=pool, first=not steps, method=method)
            if bn is not None:
                if not relu:
                    raise NotImplementedError("Conv2d + BatchNorm2d without a ReLU is not fused in this prototype")
                steps.append(FusedStemStep(unit) if method == "direct" else ConvBNStep(unit))
            else:
                steps.append(ConvStep(unit))
            shape = unit.out_hw() + (unit.O,)
            i = j
        elif isinstance(m, nn.Residual):
            if not (i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)):
                raise NotImplementedError("a Residual is fused only with the ReLU after it")
            step = (FusedBlockStep(m, shape[:2], shape[2]) if method == "direct"
                    else BlockStep(m, shape[:2], shape[2], method=method))
            step.index = sum(isinstance(s, (FusedBlockStep, BlockStep)) for s in steps)
            steps.append(step)
            shape = (step.u2.Ho, step.u2.Wo, step.u2.O)
            i += 2
        elif isinstance(m, nn.Flatten):
            steps.append(FlattenStep(shape))
            shape = (shape[0] * shape[1] * shape[2],)
            i += 1
        elif isinstance(m, nn.GlobalAvgPool2d):
            steps.append(GapStep(shape))
            shape = (shape[2],)
            i += 1
        elif isinstance(m, nn.Linear):
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            steps.append(LinearStep(m, relu))
            shape = (m.weight.value.shape[0],)
            i += 1 + relu
        else:
            raise NotImplementedError(f"{type(m).__name__} is not fused in this prototype")
    return steps


class FusedNet:
    """``net`` (a chainrule Sequential) run as fused channels-last steps by ``n_workers`` workers."""

    def __init__(self, net, image_shape, n_workers=2, method: str = "direct", chunk_images: int = 8):
        self.net = net
        self.image_shape = tuple(image_shape)
        self.auto = n_workers == "auto"
        if self.auto and method != "direct":
            raise ValueError("n_workers='auto' needs the direct method (results independent of the workers)")
        self.n_workers = (os.cpu_count() or 1) if self.auto else n_workers     # per-worker buffers for this many
        self.method = method
        self.chunk_images = chunk_images
        self.steps = build_steps(net, self.image_shape, method)
        self.teams = {}
        self.active = None
        self.N = None
        self.ctx = _Context(None, self.n_workers)
        self._use(self.n_workers)

    def _use(self, n):
        """Run the next steps with a team of n workers (a team per count, made once)."""
        if n == self.active:
            return
        if n not in self.teams:
            self.teams[n] = wk.Workers(n)
        self.team = self.ctx.team = self.teams[n]
        self.ctx.sync = self.team.sync
        self.active = n
        if self.N is not None:
            self._assign(self.N)

    def _auto_workers(self):
        """1 worker when other processes keep a core busy (the 1-minute load average minus our own
        workers is at least 0.75), else one per core: measured on this 2-core machine, 2 workers were
        6 to 31 % slower than 1 under a load of 6 to 9."""
        other = os.getloadavg()[0] - (self.active or 0)
        return 1 if other >= 0.75 else self.n_workers

    def _assign(self, N):
        """Fixed chunks of images, whole chunks per active worker (``ctx.chunks``, ``self.parts``)."""
        ci = self.chunk_images
        bounds = [(k, s, min(N, s + ci)) for k, s in enumerate(range(0, N, ci))]
        per = wk.split(len(bounds), self.active)
        self.ctx.chunks = [bounds[a:b] for a, b in per] if self.method == "direct" else None
        self.parts = [(bounds[a][1], bounds[b - 1][2]) if b > a else (0, 0) for a, b in per] \
            if self.method == "direct" else wk.split(N, self.active)
        return bounds

    def nbytes(self) -> dict:
        """Bytes of the arrays the compiled network holds between steps: {"activations and gradients"
        (full-batch arrays), "per-worker buffers" (padded images, one-image outputs, weight-gradient
        partials)}."""
        seen, full, worker = set(), 0, 0
        objs = [self]
        for s in self.steps:
            objs.append(s)
            objs += list(getattr(s, "bn_units", []))
            if hasattr(s, "unit"):
                objs.append(s.unit)
        for o in objs:
            for k, v in vars(o).items():
                arrs = v if isinstance(v, list) else [v]
                for a in arrs:
                    if isinstance(a, np.ndarray):
                        base = a if a.base is None else a.base
                        if id(base) in seen:
                            continue
                        seen.add(id(base))
                        if isinstance(v, list):
                            worker += base.nbytes
                        else:
                            full += base.nbytes
        return {"activations and gradients": full, "per-worker buffers": worker}

    def threads(self):
        """BLAS on one thread while the workers run (a context manager)."""
        return wk.blas_threads(1)

    def close(self):
        for t in self.teams.values():
            t.close()

    def describe(self) -> list[str]:
        """One line per fused step: which chainrule modules it runs."""
        out = []
        for s in self.steps:
            name = type(s).__name__
            if isinstance(s, (ConvStep,)):
                u = s.unit
                parts = ["Conv2d"] + (["BatchNorm2d"] if u.bn is not None else []) + (["ReLU"] if u.relu else []) \
                    + (["MaxPool2d"] if u.pool else [])
                out.append(" + ".join(parts) + f" ({u.C}->{u.O}, {u.k[0]}x{u.k[1]}, stride {u.s[0]})")
            elif isinstance(s, (BlockStep, FusedBlockStep)):
                out.append(f"Residual block + ReLU ({s.u1.C}->{s.u2.O}, "
                           f"{'projection' if s.us else 'identity'} shortcut), fused")
            elif isinstance(s, FusedStemStep):
                u = s.unit
                out.append(f"Conv2d + BatchNorm2d + ReLU ({u.C}->{u.O}, {u.k[0]}x{u.k[1]}, stride {u.s[0]})")
            else:
                out.append(name.replace("Step", ""))
        return out

    # -- running -----------------------------------------------------------------------------------
    def _prepare(self, N, dtype):
        if self.N != N or self.dtype != dtype:
            # fixed chunks of images, whole chunks per worker: the weight gradients are summed per
            # chunk and the chunks in order, so the bits do not depend on the number of workers
            bounds = self._assign(N)
            pool = BufferPool(dtype)
            for s in self.steps:
                s.prepare(N, dtype, self.n_workers, pool, len(bounds) if self.method == "direct" else None)
            self.N, self.dtype = N, dtype
            C, H, W = self.image_shape
            self.x0 = alloc((N, H, W, C), dtype)

    def forward(self, X):
        """Scores (N, classes) of images X (N, C, H, W), in the network's mode (train or eval)."""
        from chainrule.layers.residual import stochastic_depth_mask
        dtype = next(iter(self.net.parameters())).value.dtype
        X = np.asarray(X)
        N = X.shape[0]
        if self.auto:
            self._use(self._auto_workers())
        self._prepare(N, dtype)
        ctx = self.ctx
        ctx.training = self.net.training
        for s in self.steps:
            for u in self._conv_units(s):
                u.load_weights()
            if isinstance(s, (BlockStep, FusedBlockStep)):
                res = s.res
                b, dropped = s.ones, False
                if ctx.training and res.survival_prob < 1.0:
                    m = stochastic_depth_mask(res.rng, N, res.survival_prob, res.mode, dtype)
                    if res.mode == "batch":
                        dropped = not bool(m)
                        b = np.full(N, m, dtype)
                    else:
                        b = m
                ctx.masks[s] = (b, dropped)
                s._last_mask = (b, dropped)
        parts = self.parts

        def run(w):
            n0, n1 = parts[w]
            x = self.x0
            x[n0:n1] = X[n0:n1].transpose(0, 2, 3, 1)
            for s in self.steps:
                ctx.input_of[s] = x
                x = s.forward(w, x, n0, n1, ctx)
            self.out = x
        self.team.run(run)
        if ctx.training:
            self._update_running_stats()
        return self.out.copy()

    @staticmethod
    def _conv_units(s):
        if isinstance(s, ConvStep):
            return [s.unit]
        if isinstance(s, (BlockStep, FusedBlockStep)):
            return s.bn_units
        if isinstance(s, FusedStemStep):
            return [s.unit]
        return []

    def _update_running_stats(self):
        """As ``BatchNorm2d.forward`` in training: running = (1 - f) running + f batch (unbiased var)."""
        for s in self.steps:
            for u, stats in (s.batch_stats() if hasattr(s, "batch_stats") else []):
                bn = u.bn
                dt = bn.running_mean.dtype.type
                m = self.N * u.hw
                bn.num_batches_tracked = bn.num_batches_tracked + 1
                f = dt((1.0 / float(bn.num_batches_tracked)) if bn.momentum is None else bn.momentum)
                bn.running_mean *= 1 - f
                bn.running_mean += f * stats.mean
                bn.running_var *= 1 - f
                bn.running_var += (f * dt(m / (m - 1))) * stats.var

    def backward(self, g):
        """Adds dL/dparameter to every Parameter's grad, from g = dL/dscores (N, classes)."""
        g = np.ascontiguousarray(g, dtype=self.dtype)
        parts = self.parts
        ctx = self.ctx

        def run(w):
            n0, n1 = parts[w]
            gg = g
            for s in reversed(self.steps):
                gg = s.backward(w, gg, n0, n1, ctx)
                if gg is None:
                    break
        self.team.run(run)
        for s in self.steps:
            for p, grad in s.grads(self.n_workers):
                p.accumulate(grad)
