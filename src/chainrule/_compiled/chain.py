"""Which chains of layers the fused engine runs, recognised from the layers' own declarations.

Each layer says what it is for the engine in its own file (``fused_spec()``: plain data and its
Parameters, or None for "not fused"). ``fuse(specs)`` reads the list a ``Sequential`` hands it and
returns a ``FusedChain`` when the whole chain is one the engine knows, else None (the reference
modules run, as always). Known today (the lenet chain):

    [Conv2d [+ ReLU [+ MaxPool2d(2)]]] ... [Flatten [Linear [+ ReLU]] ...]

at least one convolution first, images of any size and channels, float32 or float64. Nothing
here imports numba: the kernels are compiled (or read from numba's cache) at the first forward,
when ``FusedChain`` builds its ``plan.Plan`` for the input's shape and dtype.
"""
from __future__ import annotations

from .._helpers import array as xp


def _group(specs):
    """[(kind, first index, last index, data)] for a recognised chain, or None."""
    groups, i, n = [], 0, len(specs)
    kind_at = [None if s is None else s.get("op") for s in specs]
    flat = False
    while i < n:
        s, op = specs[i], kind_at[i]
        if op == "conv2d" and not flat:
            relu = i + 1 < n and kind_at[i + 1] == "relu"
            j = i + 1 + relu
            pool = (relu and j < n and kind_at[j] == "maxpool2d" and tuple(specs[j]["kernel_size"]) == (2, 2)
                    and tuple(specs[j]["stride"]) == (2, 2))
            j += pool
            groups.append(("conv", i, j - 1, {"conv": s, "relu": relu, "pool": pool}))
            i = j
        elif op == "flatten" and groups and not flat:
            groups.append(("flatten", i, i, {}))
            flat = True
            i += 1
        elif op == "linear" and flat:
            relu = i + 1 < n and kind_at[i + 1] == "relu"
            groups.append(("linear", i, i + relu, {"linear": s, "relu": relu}))
            i += 1 + relu
        else:
            return None
    if not groups or groups[0][0] != "conv":
        return None
    return groups


def fuse(specs):
    """A ``FusedChain`` for the modules whose ``fused_spec()`` are ``specs``, or None.

    Parameters
    ----------
    specs : list of dict or None
        One per module, in order.

    Returns
    -------
    FusedChain or None
    """
    groups = _group(list(specs))
    if groups is None:
        return None
    params = [p for _, _, _, d in groups for key in ("conv", "linear") if key in d
              for p in (d[key]["weight"], d[key]["bias"]) if p is not None]
    if len({p.value.dtype for p in params}) != 1 or params[0].value.dtype.kind != "f":
        return None
    return FusedChain(groups, params)


class FusedChain:
    """A recognised chain: the plan for the current input (rebuilt when its shape, dtype or mode
    changes) and the forward and backward passes through it."""

    def __init__(self, groups, params):
        self.groups = groups
        self.params = params
        conv = groups[0][3]["conv"]
        self.in_channels = int(conv["weight"].value.shape[1])
        self.plan = None
        self.key = None

    def fused_indices(self) -> set:
        """Indices of the modules that run fused."""
        return {i for _, a, b, _ in self.groups for i in range(a, b + 1)}

    def describe(self) -> list[str]:
        """One line per fused step: which modules it runs."""
        names = {"conv": lambda d: "Conv2d" + (" + ReLU" if d["relu"] else "") + (" + MaxPool2d" if d["pool"] else ""),
                 "flatten": lambda d: "Flatten", "linear": lambda d: "Linear" + (" + ReLU" if d["relu"] else "")}
        return [f"{a}-{b}: {names[k](d)}" if a != b else f"{a}: {names[k](d)}" for k, a, b, d in self.groups]

    def dtype(self):
        return self.params[0].value.dtype

    def accepts(self, x) -> bool:
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
        return _shapes_fit(self.groups, x.shape[2], x.shape[3])

    def forward(self, x, training: bool):
        """The chain's output for ``x`` (checked by ``accepts``), in the layers' layout."""
        from . import plan as _plan
        dt = self.dtype()
        key = (x.shape, dt)
        if self.plan is None or self.key != key:
            self.plan = _plan.Plan(self.groups, x.shape, dt)
            self.key = key
        return self.plan.forward(x if x.dtype == dt else x.astype(dt), training)

    def backward(self, grad_output, need_input_grad: bool):
        """dL/dx (or None) from dL/d(output); parameter gradients accumulated into ``.grad``."""
        return self.plan.backward(grad_output, need_input_grad)


def _shapes_fit(groups, H, W) -> bool:
    """Every convolution leaves an output of at least 1 x 1, every pooling a window, and every
    Linear gets the features it expects (else the reference modules raise their errors)."""
    C = None
    for kind, _, _, d in groups:
        if kind == "conv":
            c = d["conv"]
            O, Cin, kh, kw = c["weight"].value.shape
            (sh, sw), (ph, pw) = c["stride"], c["padding"]
            if (C is not None and Cin != C) or H + 2 * ph < kh or W + 2 * pw < kw:
                return False
            H, W, C = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1, O
            if d["pool"]:
                if H < 2 or W < 2:
                    return False
                H, W = H // 2, W // 2
        elif kind == "flatten":
            C, H, W = C * H * W, 1, 1
        else:
            out_f, in_f = d["linear"]["weight"].value.shape
            if in_f != C:
                return False
            C = out_f
    return True
