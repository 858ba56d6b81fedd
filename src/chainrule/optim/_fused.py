"""The optional compiled update loops (``pip install chainrule[fast]``, numba).

NumPy runs an update such as SGD with momentum as four passes over the weights (v *= mu, v += g,
t = lr v, w -= t), and Adam as about a dozen; one compiled loop does the same arithmetic in one pass. The loops compute
exactly what the NumPy updates compute, in the same order and dtype, with no fused multiply-add
(numba's default ``fastmath=False`` forbids contracting a * b + c), so both paths give the same
bits; the test suite runs both and compares them. NumPy stays the reference: this module is used
only when numba is installed, and ``CHAINRULE_FUSED=0`` (or ``set_enabled(False)``) turns it off.
"""
from __future__ import annotations

import importlib.util
import os

_HAVE_NUMBA = importlib.util.find_spec("numba") is not None   # numba itself is imported at first use
_enabled = _HAVE_NUMBA and os.environ.get("CHAINRULE_FUSED", "1") != "0"
_loops = None


def available() -> bool:
    """True when numba is installed (the ``fast`` extra)."""
    return _HAVE_NUMBA


def enabled() -> bool:
    """True when the optimizers use the compiled loops."""
    return _enabled


def set_enabled(flag: bool) -> None:
    """Use the compiled loops (True, needs numba) or the NumPy updates (False)."""
    global _enabled
    if flag and not _HAVE_NUMBA:
        raise RuntimeError("the fused updates need numba: pip install 'chainrule[fast]'")
    _enabled = bool(flag)


def _flat(*arrays):
    """1-D views in memory order of arrays that share one contiguous layout; None otherwise."""
    first = arrays[0]
    for a in arrays:
        if a.dtype != first.dtype or a.shape != first.shape or a.strides != first.strides:
            return None
        if not (a.flags.c_contiguous or a.flags.f_contiguous):
            return None
    return [a.reshape(-1, order="F" if (a.flags.f_contiguous and not a.flags.c_contiguous) else "C")
            for a in arrays]


def _compiled():
    """The compiled loops, built (or read from numba's cache) at their first use."""
    global _loops
    if _loops is None:
        import numba
        import numpy as np

        @numba.njit(cache=True, nogil=True)
        def sgd_momentum(w, g, v, lr, mu, wd, nesterov):  # pragma: no cover - compiled
            for i in range(w.size):
                gi = g[i]
                if wd != 0:
                    gi = gi + wd * w[i]
                vi = v[i] * mu
                vi = vi + gi
                v[i] = vi
                if nesterov:
                    w[i] = w[i] - lr * (gi + mu * vi)
                else:
                    w[i] = w[i] - lr * vi

        @numba.njit(cache=True, nogil=True)
        def sgd_plain(w, g, lr, wd):  # pragma: no cover - compiled
            for i in range(w.size):
                gi = g[i]
                if wd != 0:
                    gi = gi + wd * w[i]
                w[i] = w[i] - lr * gi

        @numba.njit(cache=True, nogil=True)
        def adam(w, g, m, v, b1, one_minus_b1, b2, one_minus_b2, c2, eps, c1, wd):  # pragma: no cover
            # the NumPy update's operations, one element at a time, in its order and dtype; True
            # if a value overflowed where the NumPy update raises (its errstate over='raise')
            overflow = False
            for i in range(w.size):
                gi = g[i]
                if wd != 0:
                    gi = gi + wd * w[i]
                mi = m[i] * b1
                mi = mi + one_minus_b1 * gi
                gg = gi * gi
                vi = v[i] * b2
                vi = vi + one_minus_b2 * gg
                m[i] = mi
                v[i] = vi
                d = np.sqrt(vi) / c2
                d = d + eps
                step = mi / d
                step = step * c1
                w[i] = w[i] - step
                if np.isfinite(gi) and not (np.isfinite(mi) and np.isfinite(gg) and np.isfinite(vi)
                                            and np.isfinite(step) and np.isfinite(w[i])):
                    overflow = True
            return overflow

        _loops = {"sgd_momentum": sgd_momentum, "sgd_plain": sgd_plain, "adam": adam}
    return _loops


def adam_step(w, g, m, v, b1, b2, c2, eps, c1) -> bool:
    """One Adam step (no AMSGrad; ``g`` with any weight decay already added) as one compiled loop,
    when enabled and the arrays allow it; True if done. ``c2`` = sqrt(1 - b2^t) and ``c1`` = lr / (1 - b1^t), as the NumPy update computes them.
    Raises FloatingPointError where the NumPy update's arithmetic overflows."""
    if not _enabled:
        return False
    flat = _flat(w, g, m, v)
    if flat is None:
        return False
    dt = w.dtype.type
    if _compiled()["adam"](flat[0], flat[1], flat[2], flat[3], dt(b1), dt(1 - b1), dt(b2), dt(1 - b2), dt(c2),
                           dt(eps), dt(c1), dt(0)):
        raise FloatingPointError("overflow encountered in the Adam update")
    return True


def sgd_step(w, g, state, lr, momentum, nesterov, weight_decay) -> bool:
    """One SGD step as one compiled loop, when enabled and the arrays allow it; True if done."""
    if not _enabled:
        return False
    dt = w.dtype.type
    if momentum:
        v = state.get("momentum_buffer")
        if v is None:                     # the first step copies g: the NumPy path does it in one pass
            return False
        flat = _flat(w, g, v)
        if flat is None:
            return False
        _compiled()["sgd_momentum"](flat[0], flat[1], flat[2], dt(lr), dt(momentum), dt(weight_decay),
                                    bool(nesterov))
        return True
    flat = _flat(w, g)
    if flat is None:
        return False
    _compiled()["sgd_plain"](flat[0], flat[1], dt(lr), dt(weight_decay))
    return True
