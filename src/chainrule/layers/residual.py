"""Residual blocks with stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth").

    out = shortcut(x) + b * block(x)

with shortcut the identity when none is given. In training, b = z / p with z ~ Bernoulli(p)
(p = ``survival_prob``) drawn once per sample (``mode="row"``) or once per batch
(``mode="batch"``): a dropped block contributes nothing and a kept one is divided by p, so
E[b] = 1 and evaluation mode, out = shortcut(x) + block(x), is the expectation of training mode
(torchvision's ``stochastic_depth(input, 1 - p, mode)`` applied to the block's output).

Derivatives, with g = dL/d(out) and the mask b that was drawn:

    dL/d(shortcut output) = g,    dL/d(block output) = b * g   (b broadcast over each sample),
    dL/dx = shortcut'(x)^T g + block'(x)^T (b g)   (the two paths add up).

In ``"batch"`` mode a dropped block is not run at all for that batch: no forward, no backward,
no update of its batch-norm running statistics (the paper's point: a shorter network per batch).
In ``"row"`` mode the block runs on the whole batch, as in torchvision (batch norm inside it sees
every sample), and the mask zeroes the dropped samples' branch.
"""
from __future__ import annotations

import numpy as np

from .._helpers import array as xp
from .._helpers.validation import check_int, check_number, float_input, resolve_rng
from ..core.module import Module
from ..core.sequential import Sequential
from ._draw import images
from .activations import Tanh
from .batchnorm import BatchNorm2d
from .conv import Conv2d

MODES = ("row", "batch")


# ---- kernels -------------------------------------------------------------------------------------
def stochastic_depth_mask(rng: np.random.Generator, n: int, survival_prob: float, mode: str, dtype):
    """b = z / p with z ~ Bernoulli(p): shape (n,) for ``"row"``, a 0-d array for ``"batch"``.

    z = 1 when a uniform draw on [0, 1) is below p, so P(z = 1) = p exactly."""
    dtype = np.dtype(dtype)
    keep = rng.random(n if mode == "row" else None) < survival_prob
    return np.asarray(keep, dtype=dtype) * dtype.type(1.0 / survival_prob)


def residual_forward(s, f, b):
    """out = s + b f (b None: out = s + f; b of shape (N,) scales each sample's f)."""
    if b is None:
        return s + f, None
    if b.ndim:
        b = b.reshape((-1,) + (1,) * (f.ndim - 1))
    return s + b * f, b


def residual_backward(g, b):
    """(dL/ds, dL/df) = (g, b g)."""
    return g, (g if b is None else g * b)


# ---- the decay rule ------------------------------------------------------------------------------
def linear_decay(n_blocks: int, p_last: float = 0.5, *, count_input: bool = True) -> list[float]:
    """Survival probabilities of ``n_blocks`` residual blocks under the paper's linear decay rule.

    ``count_input=True`` (the paper's eq. 4): p_l = 1 - (l / L)(1 - p_L) for blocks l = 1..L,
    falling from p_0 = 1 (the input) to p_L at the last block, so the first block has
    1 - (1 - p_L)/L. ``count_input=False``: from exactly 1 at the first block to p_L at the last,
    p_l = 1 - ((l - 1)/(L - 1))(1 - p_L) (one block: [p_L]).

    Parameters
    ----------
    n_blocks : int
        L, the number of residual blocks (at least 1).
    p_last : float, default 0.5
        p_L, the last block's survival probability, in (0, 1] (the paper's 0.5).
    count_input : bool, default True
        Count the input as layer 0 with p_0 = 1 (the paper's rule); False starts at 1 on the first block.

    Returns
    -------
    list of float
        p_1, ..., p_L, one per block, for ``Residual(survival_prob=...)``.
    """
    L = check_int("n_blocks", n_blocks)
    p_last = check_number("p_last", p_last, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
    if count_input:
        return [1.0 - (l / L) * (1.0 - p_last) for l in range(1, L + 1)]
    if L == 1:
        return [p_last]
    return [1.0 - ((l - 1) / (L - 1)) * (1.0 - p_last) for l in range(1, L + 1)]


# ---- module --------------------------------------------------------------------------------------
def _case(train, mode="row", shortcut=False):
    """A gradient-check case: Residual(conv - batch norm - tanh - conv, [1 x 1 conv with stride 2])
    with stochastic depth, in training or (after three batches) evaluation mode."""
    def make(d, rng):
        stride, f64 = (2 if shortcut else 1), np.float64
        block = Sequential(Conv2d(d, 3, 3, stride, 1, bias=False, rng=rng, dtype=f64), BatchNorm2d(3, dtype=f64),
                           Tanh(), Conv2d(3, 3, 3, 1, 1, rng=rng, dtype=f64))
        sc = Conv2d(d, 3, 1, stride, rng=rng, dtype=f64) if shortcut or d != 3 else None
        res = Residual(block, sc, survival_prob=0.6, mode=mode, rng=rng)
        if not train:
            for _ in range(3):
                res.forward(rng.standard_normal((4, d, 5, 5)))
            res.eval()
        return res
    return make


class Residual(Module):
    """out = shortcut(x) + b * block(x), stochastic depth in training (see the module docstring).

    Its children's state is named ``block.0.weight``, ``shortcut.0.weight``..., so a PyTorch
    module with attributes ``block`` and ``shortcut`` loads the same state_dict.

    Parameters
    ----------
    block : Module
        The residual branch f, e.g. ``Sequential(Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d)``.
    shortcut : Module or None, default None
        The shortcut s; None is the identity (input and block output must then have one shape),
        a module (e.g. a 1 x 1 ``Conv2d`` with stride 2) when the block changes the shape.
    survival_prob : float, default 1.0
        p in (0, 1], the probability that the block is kept in training; a kept block is divided
        by p. p = 1 never drops (and draws nothing); ``linear_decay`` gives the paper's p per block.
    mode : {"row", "batch"}, default "row"
        ``"row"``: a draw per sample (torchvision's default); ``"batch"``: one draw per batch, and a
        dropped block is not run at all.
    rng : int, numpy.random.Generator or None, default None
        Draws the masks. It is this module's generator (``generators()``), so checkpoints save it
        and gradient checks replay it; estimators pass the run's generator, so one
        ``random_state`` fixes every mask.
    """

    def __init__(self, block: Module, shortcut: Module | None = None, survival_prob: float = 1.0,
                 mode: str = "row", rng=None):
        super().__init__()
        if not isinstance(block, Module):
            raise TypeError(f"Residual block must be a Module; got {type(block).__name__}")
        if shortcut is not None and not isinstance(shortcut, Module):
            raise TypeError(f"Residual shortcut must be a Module or None (the identity); got {type(shortcut).__name__}")
        self.survival_prob = check_number("Residual survival_prob", survival_prob, 0.0, 1.0,
                                          low_inclusive=False, high_inclusive=True)
        if mode not in MODES:
            raise ValueError(f"Residual mode must be one of {MODES}; got {mode!r}")
        self.mode = mode
        self.rng = resolve_rng(rng)
        self.block = block
        self.shortcut = shortcut

    def generators(self):
        return [self.rng]

    def forward(self, x):
        x = float_input(x, "Residual input")
        s = x if self.shortcut is None else self.shortcut.forward(x)
        b = None
        if self.training and self.survival_prob < 1.0:
            b = stochastic_depth_mask(self.rng, x.shape[0], self.survival_prob, self.mode, s.dtype)
            if self.mode == "batch":
                if not b:                       # dropped: the block computes nothing for this batch
                    self._cache = ("dropped", s.shape, s.dtype)
                    return s
        f = self.block.forward(x)
        if f.shape != s.shape:
            where = "the input" if self.shortcut is None else "the shortcut's output"
            raise ValueError(f"Residual: the block's output has shape {f.shape} but {where} has shape {s.shape}; "
                             "they must match to be added (give a shortcut that maps x to the block's shape)")
        out, b = residual_forward(s, f, b)
        self._cache = ("kept", out.shape, out.dtype, b)
        return out

    @property
    def last_mask(self):
        """The b of the last training forward: an (N,) array (``"row"``), a scalar (``"batch"``;
        0 when the block was dropped), or None (no drop possible: evaluation or p = 1)."""
        cache = self._cached()
        if cache[0] == "dropped":
            return xp.zeros((), cache[2])
        b = cache[3]
        return None if b is None else b.reshape(-1) if b.ndim else b

    def backward(self, grad_output, *, need_input_grad: bool = True):
        cache = self._cached()
        g = xp.as_grad(grad_output, cache[1], cache[2])
        dx_f = None
        if cache[0] == "kept":
            g_s, g_f = residual_backward(g, cache[3])
            dx_f = self.block.backward(g_f, need_input_grad=need_input_grad)
        else:
            g_s = g
        dx_s = g_s if self.shortcut is None else self.shortcut.backward(g_s, need_input_grad=need_input_grad)
        if not need_input_grad:
            return None
        return dx_s if dx_f is None else dx_s + dx_f

    def output_shape(self, input_shape):
        f = tuple(self.block.output_shape(input_shape))
        s = tuple(input_shape) if self.shortcut is None else tuple(self.shortcut.output_shape(input_shape))
        if f != s:
            raise ValueError(f"Residual: the block maps {tuple(input_shape)} to {f} but the shortcut to {s}")
        return f

    def _fused_spec(self):
        # For the compiled engine: the block's and the shortcut's own specs (containers of plain
        # modules only), and the mask drawn from this layer's generator as forward draws it.
        def specs(m):
            return [c._fused_spec() for c in m] if isinstance(m, Sequential) else None
        return {"op": "residual", "block": specs(self.block),
                "shortcut": None if self.shortcut is None else specs(self.shortcut),
                "has_shortcut": self.shortcut is not None, "survival_prob": self.survival_prob, "mode": self.mode,
                "draw": lambda n, dtype: stochastic_depth_mask(self.rng, n, self.survival_prob, self.mode, dtype)}

    def get_config(self):
        return {"block": self.block.spec(), "shortcut": None if self.shortcut is None else self.shortcut.spec(),
                "survival_prob": self.survival_prob, "mode": self.mode}

    @classmethod
    def from_config(cls, config, build=None):
        """Rebuild from ``get_config()``, building the block and the shortcut with ``build``.

        Parameters
        ----------
        config : dict
            ``{"block": spec, "shortcut": spec or None, "survival_prob": p, "mode": mode}``.
        build : callable
            ``build(spec) -> Module`` (``chainrule.registry.build_module``).

        Returns
        -------
        Residual

        Raises
        ------
        TypeError
            If ``build`` is not given.
        """
        if build is None:
            raise TypeError("Residual.from_config needs build (chainrule.registry.build_module)")
        shortcut = config.get("shortcut")
        return cls(build(config["block"]), None if shortcut is None else build(shortcut),
                   survival_prob=config.get("survival_prob", 1.0), mode=config.get("mode", "row"))

    @staticmethod
    def state_shapes(config, shapes_of=None):
        if shapes_of is None:
            raise TypeError("Residual.state_shapes needs shapes_of (one child's shapes, from chainrule.registry)")
        out = {f"block.{k}": v for k, v in shapes_of(config["block"]).items()}
        if config.get("shortcut") is not None:
            out.update({f"shortcut.{k}": v for k, v in shapes_of(config["shortcut"]).items()})
        return out

    def __repr__(self) -> str:
        lines = [f"Residual(survival_prob={self.survival_prob:g}, mode={self.mode!r},"]
        for name, child in self._modules.items():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        if self.shortcut is None:
            lines.append("  (shortcut): identity")
        return "\n".join(lines + [")"])

    grad_cases = (("Residual(train)", _case(True), images(size=5)),                 # row mode
                  ("Residual(train, batch)", _case(True, "batch"), images(size=5)),
                  ("Residual(train, projection)", _case(True, shortcut=True), images(size=5)),
                  ("Residual(eval)", _case(False, shortcut=True), images(size=5)))

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        # evaluation form of stochastic depth, shortcut(x) + block(x) (the mask's expectation is 1):
        # the two branches (no shortcut: the identity) and an Add
        f = g.emit(config["block"], state, x, f"{prefix}block.")
        s = x if config.get("shortcut") is None else g.emit(config["shortcut"], state, x, f"{prefix}shortcut.")
        return g.node("Add", [s, f], f"{prefix}residual")
