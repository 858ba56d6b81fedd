"""A fused network's plan for one input shape and dtype: its steps, their buffers, and the team run.

    plan = Plan(groups, (N, C, H, W), float32)      # groups: chain.fuse's recognised chain
    scores = plan.forward(X, training)              # as Sequential.forward: (N, classes) or images
    dx = plan.backward(G, need_input_grad)          # adds to every Parameter's .grad, as backward

The images are copied channels-last once (the first step's input) and stay channels-last until
the flatten, which writes chainrule's (c, h, w) order so the Linear weights stay PyTorch's. The
batch is cut into fixed chunks of ``CHUNK`` images, whole chunks per worker (``workers.split``);
the parameter gradients are summed per chunk and the chunks in order, so the bits do not depend
on the number of workers (``workers.workers_for_step``). BLAS runs one thread inside each worker.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from . import direct as kd
from . import workers as wk
from .block import BlockStep, GapStep, StemStep
from .steps import ConvStep, FlattenStep, LinearStep

#: images per chunk: the unit of work of a worker and of every sum over images (fixed by the batch
#: size alone: determinism); at least ``CHUNK``, and at most ``MAX_CHUNKS`` chunks (each holds a
#: partial sum of every convolution's weight gradient)
CHUNK = 8
MAX_CHUNKS = 32


def chunk_size(N: int) -> int:
    """Images per chunk for a batch of N (8 up to 256 images, then N / 32 rounded up to 8)."""
    return max(CHUNK, -(-(-(-N // MAX_CHUNKS)) // CHUNK) * CHUNK)


class _Context:
    """What the steps share during a pass: the chunks of each worker, the inputs of each step."""

    def __init__(self, first):
        self.first = first
        self.chunks = None
        self.input_of = {}
        self.need_input_grad = False
        self.training = True
        self.sync = None

    def need_dx(self, step) -> bool:
        return step is not self.first or self.need_input_grad


class Plan:
    """The steps of a recognised chain for inputs of ``shape`` (N, C, H, W) and ``dtype``."""

    def __init__(self, groups, shape, dtype):
        N, C, H, W = (int(d) for d in shape)
        self.N, self.dtype = N, np.dtype(dtype)
        self.steps = []
        cur = (H, W, C)
        for kind, _, _, d in groups:
            if kind == "conv":
                s = ConvStep(d["conv"], d["relu"], d["pool"], cur, first=not self.steps)
            elif kind == "stem":
                s = StemStep(d["conv"], d["bn"], cur, first=not self.steps)
            elif kind == "block":
                s = BlockStep(d["res"], cur, index=sum(isinstance(t, BlockStep) for t in self.steps))
            elif kind == "gap":
                s = GapStep(cur)
            elif kind == "flatten":
                s = FlattenStep(cur)
            else:
                s = LinearStep(d["linear"], d["relu"], cur[0], first=not self.steps)
            if isinstance(s, BlockStep) and isinstance(self.steps[-1], StemStep):
                s.read_through(self.steps[-1])      # the stem's output is never stored
            self.steps.append(s)
            cur = s.out_shape()
        self.images_out = len(cur) == 3
        self.out_shape = (N, cur[2], cur[0], cur[1]) if self.images_out else (N, cur[0])
        c = chunk_size(N)
        self.bounds = [(k, s, min(N, s + c)) for k, s in enumerate(range(0, N, c))]
        self.ctx = _Context(self.steps[0])
        self.n_prepared = 0
        self.active = 0
        self.team = None

    def _prepare(self, n_workers):
        """Buffers for ``n_workers`` workers (the full-batch arrays once, per-worker ones per worker).

        The residual steps' gradient buffers come from a pool keyed by (shape, slot) (``BlockStep``
        says which of its buffers are the same). Steps are prepared last to first, so a key's first
        request comes from the step whose backward writes it first; from then to the end of the
        backward only earlier steps run, and a later block's arena (what it held for its backward)
        is dead: the buffer is placed there when one is large enough (each arena holds one)."""
        if n_workers <= self.n_prepared:
            return
        n = max(n_workers, wk.cores())
        pool, donors = {}, []

        def shared(shape, slot):
            key = (tuple(shape), slot)
            if key not in pool:
                size = int(np.prod(shape))
                fit = [i for i, a in enumerate(donors) if a.size >= size]
                if fit:
                    arena = donors.pop(min(fit, key=lambda i: donors[i].size))
                    pool[key] = arena[:size].reshape(shape)
                else:
                    pool[key] = kd.alloc(shape, self.dtype)
            return pool[key]
        for s in reversed(self.steps):
            if isinstance(s, (BlockStep, GapStep)):
                s.prepare(self.N, self.dtype, n, len(self.bounds), shared)
            else:
                s.prepare(self.N, self.dtype, n, len(self.bounds))
            if isinstance(s, BlockStep):
                donors.append(s.arena)
        self.x0 = kd.alloc((self.N,) + (self.steps[0].H, self.steps[0].W, self.steps[0].C), self.dtype)
        self.n_prepared = n

    def _assign(self, n):
        """Team of n workers; whole chunks per worker."""
        n = max(1, min(n, len(self.bounds)))
        self._prepare(n)
        per = wk.split(len(self.bounds), n)
        self.ctx.chunks = [self.bounds[a:b] for a, b in per]
        self.parts = [(self.bounds[a][1], self.bounds[b - 1][2]) if b > a else (0, 0) for a, b in per]
        self.team = wk.team(n)
        self.ctx.sync = self.team.sync
        self.active = n

    def nbytes(self) -> dict:
        """Bytes the plan holds between steps: {"full batch": activations and gradients, "per worker":
        padded images, one-image outputs, weight-gradient partial sums}."""
        seen, out = set(), {"full batch": 0, "per worker": 0}
        objs = [self] + self.steps + [u for s in self.steps for u in (s.units() if hasattr(s, "units") else [])]
        for o in objs:
            for v in vars(o).values():
                many = isinstance(v, list)
                for a in (v if many else [v]):
                    if isinstance(a, np.ndarray):
                        base = a if a.base is None else a.base
                        if id(base) not in seen:
                            seen.add(id(base))
                            out["per worker" if many else "full batch"] += base.nbytes
        return out

    def workers(self) -> int:
        """How many workers ran the last pass."""
        return self.active

    def forward(self, x, training: bool):
        self._assign(wk.workers_for_step(self.active))
        for s in self.steps:
            s.load()
            if isinstance(s, BlockStep):          # the stochastic-depth masks, in forward order
                s.draw(self.N, training, self.dtype)
        ctx, parts, x0 = self.ctx, self.parts, self.x0
        ctx.training = bool(training)
        out = {}

        def run(w):
            n0, n1 = parts[w]
            if n1 <= n0:
                return
            x0[n0:n1] = x[n0:n1].transpose(0, 2, 3, 1)
            h = x0
            for s in self.steps:
                ctx.input_of[s] = h
                h = s.forward(w, h, n0, n1, ctx)
            out["y"] = h

        with wk.one_blas_thread():
            self.team.run(run)
        if training:                              # the running statistics, as the layers update them
            for s in self.steps:
                for unit, values in (s.seen() if hasattr(s, "seen") else []):
                    unit.track(values)
        y = out["y"]
        if self.images_out:
            return y.copy().transpose(0, 3, 1, 2)           # the (N, C, H, W) view, as the layers return
        return y.copy()

    def backward(self, grad_output, need_input_grad: bool):
        g = xp.as_grad(grad_output, self.out_shape, self.dtype)
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1) if self.images_out else g)
        ctx, parts = self.ctx, self.parts
        ctx.need_input_grad = bool(need_input_grad)
        if need_input_grad:
            self.steps[0].ensure_dx(self.N)
        out = {}

        def run(w):
            n0, n1 = parts[w]
            if n1 <= n0:
                return
            h = g
            for s in reversed(self.steps):
                h = s.backward(w, h, n0, n1, ctx)
            out["dx"] = h

        with wk.one_blas_thread():
            self.team.run(run)
            for s in self.steps:                   # the Linear weight gradients: one BLAS thread too
                for p, grad in s.grads():
                    p.accumulate(grad)
        if not need_input_grad:
            return None
        return np.ascontiguousarray(out["dx"].transpose(0, 3, 1, 2))
