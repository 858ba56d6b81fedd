"""Compiled SGD updates (numba): ``optim.SGD`` takes ``sgd_step`` when it is built with the compiled
kernels enabled (``_compiled.enabled()``).

NumPy runs an update such as SGD with momentum as four passes over the weights (v *= mu, v += g,
t = lr v, w -= t); one compiled loop does the same arithmetic in one pass. The loops compute
exactly what the NumPy updates compute, in the same order and dtype, with no fused multiply-add
(numba's default ``fastmath=False`` forbids contracting a * b + c), so both paths give the same
bits; the test suite runs both and compares them. NumPy stays the reference.
"""
from __future__ import annotations

_loops = None


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

        _loops = {"sgd_momentum": sgd_momentum, "sgd_plain": sgd_plain}
    return _loops


def sgd_step(w, g, state, lr, momentum, nesterov, weight_decay) -> bool:
    """One SGD step as one compiled loop, when the arrays allow it; True if done, False to leave the
    step to the NumPy update (the first momentum step, arrays of different layouts)."""
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
