"""Which chains of layers the fused engine runs, recognised from the layers' own declarations.

Each layer says what it is for the engine in its own file (``_fused_spec()``: plain data and its
Parameters, or None for "not fused"). ``fuse(specs)`` reads the list a ``Sequential`` hands it and
returns a ``FusedChain`` when the whole chain is one the engine knows, else None (the reference
modules run, as always). Known today (the lenet chain):

    [Conv2d [+ ReLU [+ MaxPool2d(2)]]] ... [Flatten [Linear [+ ReLU]] ...]        (lenet)
    Conv2d + BatchNorm2d + ReLU, [Residual + ReLU] ..., GlobalAvgPool2d, Linear     (ResNet)
    Linear [+ ReLU], Linear [+ ReLU], ...   with at least one ReLU                  (an MLP: ``dense``)

(in any mix), at least one convolution first (or only Linear layers), images of any size and
channels, float32 or float64. A residual block is Residual(Sequential(Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d),
shortcut None or Sequential(Conv2d, BatchNorm2d)), convolutions before a batch norm without a bias. Nothing
here imports numba: the kernels are compiled (or read from numba's cache) at the first forward,
when ``FusedChain`` builds its ``plan.Plan`` for the input's shape and dtype.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp

#: images per forward in evaluation mode before any training plan exists
EVAL_PIECE = 128


def _op(spec):
    return None if spec is None else spec.get("op")


def _conv_bn(specs) -> bool:
    """Conv2d without a bias, then BatchNorm2d with as many channels."""
    return (len(specs) == 2 and _op(specs[0]) == "conv2d" and specs[0]["bias"] is None
            and _op(specs[1]) == "batchnorm2d"
            and specs[1]["weight"].value.shape[0] == specs[0]["weight"].value.shape[0])


def _block(spec) -> bool:
    """Residual(Sequential(conv, BN, ReLU, conv, BN), shortcut None or Sequential(conv, BN))."""
    blk, sc = spec.get("block"), spec.get("shortcut")
    if blk is None or len(blk) != 5 or _op(blk[2]) != "relu":
        return False
    if not (_conv_bn(blk[:2]) and _conv_bn(blk[3:])):
        return False
    return (sc is None and not spec["has_shortcut"]) or (sc is not None and _conv_bn(sc))


def _group(specs):
    """[(kind, first index, last index, data)] for a recognised chain, or None."""
    groups, i, n = [], 0, len(specs)
    kind_at = [_op(s) for s in specs]
    flat = False
    while i < n:
        s, op = specs[i], kind_at[i]
        nxt = kind_at[i + 1] if i + 1 < n else None
        if op == "conv2d" and not flat and nxt == "batchnorm2d":
            if not (_conv_bn(specs[i:i + 2]) and i + 2 < n and kind_at[i + 2] == "relu"):
                return None
            groups.append(("stem", i, i + 2, {"conv": s, "bn": specs[i + 1]}))
            i += 3
        elif op == "conv2d" and not flat:
            relu = nxt == "relu"
            j = i + 1 + relu
            pool = (relu and j < n and kind_at[j] == "maxpool2d" and tuple(specs[j]["kernel_size"]) == (2, 2)
                    and tuple(specs[j]["stride"]) == (2, 2))
            j += pool
            groups.append(("conv", i, j - 1, {"conv": s, "relu": relu, "pool": pool}))
            i = j
        elif op == "residual" and not flat and groups and nxt == "relu" and _block(s):
            groups.append(("block", i, i + 1, {"res": s}))
            i += 2
        elif op in ("flatten", "gap") and groups and not flat:
            groups.append((op, i, i, {}))
            flat = True
            i += 1
        elif op == "linear" and (flat or not groups):
            flat = True                            # an MLP's chain starts here (``dense``)
            relu = nxt == "relu"
            groups.append(("linear", i, i + relu, {"linear": s, "relu": relu}))
            i += 1 + relu
        else:
            return None
    if not groups or groups[0][0] not in ("conv", "stem", "linear"):
        return None
    if groups[0][0] == "linear" and not any(d["relu"] for _, _, _, d in groups):
        return None                                # nothing to fuse: the modules' products as they are
    return groups


def _parameters(groups):
    """Every Parameter the chain reads."""
    out = []

    def add(spec):
        for key in ("weight", "bias"):
            if spec.get(key) is not None:
                out.append(spec[key])
    for kind, _, _, d in groups:
        if kind == "block":
            for spec in d["res"]["block"] + (d["res"]["shortcut"] or []):
                add(spec)
        for key in ("conv", "bn", "linear"):
            if key in d:
                add(d[key])
    return out


def fuse(specs):
    """A ``FusedChain`` for the modules whose ``_fused_spec()`` are ``specs``, or None.

    Parameters
    ----------
    specs : list of dict or None
        One per module, in order.

    Returns
    -------
    FusedChain, dense.DenseChain or None
    """
    groups = _group(list(specs))
    if groups is None:
        return None
    params = _parameters(groups)
    if len({p.value.dtype for p in params}) != 1 or params[0].value.dtype.kind != "f":
        return None
    if groups[0][0] == "linear":
        shapes = [d["linear"]["weight"].value.shape for _, _, _, d in groups]
        if any(a[0] != b[1] for a, b in zip(shapes, shapes[1:])):
            return None                            # the modules' own errors name the mismatch
        from .dense import DenseChain              # numba is imported with it: only for an MLP's chain

        return DenseChain(groups, params)
    return FusedChain(groups, params)


class FusedChain:
    """A recognised chain: the plan for the current input (rebuilt when its shape, dtype or mode
    changes) and the forward and backward passes through it."""

    def __init__(self, groups, params):
        self.groups = groups
        self.params = params
        self.has_batch_norm = any(k in ("stem", "block") for k, _, _, _ in groups)
        conv = groups[0][3]["conv"]
        self.in_channels = int(conv["weight"].value.shape[1])
        self.plan = None
        self.key = None
        self.in_pieces = False

    def fused_indices(self) -> set:
        """Indices of the modules that run fused."""
        return {i for _, a, b, _ in self.groups for i in range(a, b + 1)}

    def describe(self) -> list[str]:
        """One line per fused step: which modules it runs."""
        names = {"conv": lambda d: "Conv2d" + (" + ReLU" if d["relu"] else "") + (" + MaxPool2d" if d["pool"] else ""),
                 "stem": lambda d: "Conv2d + BatchNorm2d + ReLU", "block": lambda d: "Residual block + ReLU",
                 "gap": lambda d: "GlobalAvgPool2d",
                 "flatten": lambda d: "Flatten", "linear": lambda d: "Linear" + (" + ReLU" if d["relu"] else "")}
        return [f"{a}-{b}: {names[k](d)}" if a != b else f"{a}: {names[k](d)}" for k, a, b, d in self.groups]

    def dtype(self):
        return self.params[0].value.dtype

    def accepts(self, x, training: bool = True) -> bool:
        """True when ``x`` is a batch the plan can run: a float (or narrower) array of (N, C, H, W)
        images with the first convolution's channels, large enough for every step (anything else
        goes to the reference modules, whose checks name the problem)."""
        if not xp.is_array(x) or x.ndim != 4 or x.shape[0] < 1 or x.shape[1] != self.in_channels:
            return False
        dt = self.dtype()
        if x.dtype != dt and not (x.dtype.kind in "iub" or (x.dtype.kind == "f" and x.dtype.itemsize < dt.itemsize)):
            return False
        if any(p.value.dtype != dt for p in self.params):
            return False
        if training and self.has_batch_norm and x.shape[0] * x.shape[2] * x.shape[3] < 2:
            return False                  # a batch norm needs 2 values per channel: the layer says so
        return _shapes_fit(self.groups, x.shape[2], x.shape[3])

    def forward(self, x, training: bool):
        """The chain's output for ``x`` (checked by ``accepts``), in the layers' layout.

        In evaluation mode every image is computed on its own, so a large batch (a prediction's
        4096 rows) runs in pieces of the plan's batch (``EVAL_PIECE`` before any), the last one
        padded with zeros: a plan's buffers grow with its batch."""
        dt = self.dtype()
        x = x if x.dtype == dt else x.astype(dt)
        N = x.shape[0]
        piece = self.plan.N if self.plan is not None and self.key[0][1:] == x.shape[1:] else EVAL_PIECE
        self.in_pieces = False
        if training or N <= piece:
            return self._run(x, training)
        outs = []
        for s in range(0, N, piece):
            part = x[s:s + piece]
            n = part.shape[0]
            if n < piece:
                part = np.concatenate([part, np.zeros((piece - n,) + part.shape[1:], dt)])
            outs.append(self._run(part, False)[:n])
        self.in_pieces = True
        return np.concatenate(outs)

    def _run(self, x, training: bool):
        from . import plan as _plan
        dt = self.dtype()
        key = (x.shape, dt)
        if self.plan is None or self.key != key:
            self.plan = None                       # the old buffers go before the new ones come
            self.plan = _plan.Plan(self.groups, x.shape, dt)
            self.key = key
        return self.plan.forward(x, training)

    def backward(self, grad_output, need_input_grad: bool):
        """dL/dx (or None) from dL/d(output); parameter gradients accumulated into ``.grad``."""
        return self.plan.backward(grad_output, need_input_grad)


def _conv_out(c, H, W, C):
    """(H, W, O) after convolution spec ``c`` on (H, W, C), or None when it leaves no output."""
    O, Cin, kh, kw = c["weight"].value.shape
    (sh, sw), (ph, pw) = c["stride"], c["padding"]
    if (C is not None and Cin != C) or H + 2 * ph < kh or W + 2 * pw < kw:
        return None
    return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1, O


def _shapes_fit(groups, H, W) -> bool:
    """Every convolution leaves an output of at least 1 x 1, every pooling a window, a residual
    block's two paths agree, and every Linear gets the features it expects (else the reference
    modules raise their errors)."""
    C = None
    for kind, _, _, d in groups:
        if kind in ("conv", "stem"):
            out = _conv_out(d["conv"], H, W, C)
            if out is None:
                return False
            H, W, C = out
            if d.get("pool"):
                if H < 2 or W < 2:
                    return False
                H, W = H // 2, W // 2
        elif kind == "block":
            res = d["res"]
            a = _conv_out(res["block"][0], H, W, C)
            b = None if a is None else _conv_out(res["block"][3], *a)
            s = (H, W, C) if res["shortcut"] is None else _conv_out(res["shortcut"][0], H, W, C)
            if b is None or s != b:
                return False
            H, W, C = b
        elif kind == "flatten":
            C, H, W = C * H * W, 1, 1
        elif kind == "gap":
            H, W = 1, 1
        else:
            out_f, in_f = d["linear"]["weight"].value.shape
            if in_f != C:
                return False
            C = out_f
    return True
