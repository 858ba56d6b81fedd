"""Numerical derivatives (the notes' definition of the derivative, made symmetric) and the
gradient check that compares them with every hand-derived backward.

- ``numerical_gradient(f, x, eps)``: central differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps.
- ``jacobian(f, x)``: the matrix of first partial derivatives of a vector function.
- ``hessian(f, x)``: the matrix of second partial derivatives of a scalar function.
- ``check_gradients(obj, ...)``: analytic against numerical gradients for a module (its input
  and every parameter), a loss (its input) or a regulariser (its weight).

The relative error of an analytic gradient a against the numerical one n is
``max_i |a_i - n_i| / max(max_i |a_i|, max_i |n_i|)`` (the infinity-norm relative error of the
whole array). It does not blow up on entries that are zero up to rounding, which an
element-wise ratio would. A gradient that is identically zero (a bias in front of a batch norm in
training mode, for instance) is compared absolutely: when both arrays are below ``ZERO_TOL``
(1e-8) everywhere the error is 0, since central differences cannot resolve anything smaller.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core.module import Module
from .losses.base import Loss
from .regularizers.penalties import Penalty

__all__ = ["EPS", "ZERO_TOL", "numerical_gradient", "derivative", "jacobian", "hessian", "relative_error",
           "GradCheckReport", "check_gradients"]

#: Default step of the central differences (float64).
EPS = 1e-6
#: Gradients below this everywhere (analytic and numerical) count as zero; see the module docstring.
ZERO_TOL = 1e-8


def _as_float64(x) -> np.ndarray:
    # a C-ordered copy: the caller's array is never perturbed, and reshape(-1) is a view of it
    return np.array(x, dtype=np.float64, order="C")


def _scalar(value, what="f") -> float:
    v = np.asarray(value)
    if v.size != 1:
        raise ValueError(f"{what} must return a scalar; got shape {v.shape} (use jacobian for vector functions)")
    return float(v.reshape(()))


def numerical_gradient(f, x, eps: float = EPS) -> np.ndarray:
    r"""Gradient of the scalar function ``f`` at ``x`` by central differences.

    Each entry costs two evaluations of ``f``; the truncation error is O(eps^2).

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, a scalar function.
    x : float or array_like
        The point; a number or an array of any shape (not modified).
    eps : float, default ``EPS`` (1e-6)
        The step h.

    Returns
    -------
    ndarray of float64
        The gradient, ``x``'s shape.

    Notes
    -----
    The notes' definition of the derivative, made symmetric:

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}.
    """
    x = _as_float64(x)
    return np.array(_central_differences(lambda z: _scalar(f(z)), x, eps), dtype=np.float64).reshape(x.shape)


def _central_differences(f, x: np.ndarray, eps: float) -> list:
    """(f(x + h e_j) - f(x - h e_j)) / 2h for each entry j of ``x`` in turn (x, a float64 array of
    the caller's own, is perturbed in place and restored after each entry)."""
    if not eps > 0:
        raise ValueError(f"eps must be positive; got {eps!r}")
    flat, out = x.reshape(-1), []
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        fp = f(x)
        flat[j] = old - eps
        fm = f(x)
        flat[j] = old
        out.append((fp - fm) / (2 * eps))
    return out


def derivative(f, x: float, eps: float = EPS) -> float:
    r"""f'(x) of a scalar function of one variable, by central differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : float
        The point.
    eps : float, default ``EPS`` (1e-6)
        The step h.

    Returns
    -------
    float

    Notes
    -----
    .. math:: f'(x) \approx \frac{f(x + h) - f(x - h)}{2h}.
    """
    return float(numerical_gradient(f, float(x), eps))


def jacobian(f, x, eps: float = EPS) -> np.ndarray:
    r"""Jacobian J_ij = d f_i / d x_j of ``f`` at ``x`` by central differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> array``, a vector (or array) function.
    x : array_like
        The point (not modified).
    eps : float, default ``EPS`` (1e-6)
        The step h.

    Returns
    -------
    ndarray of float64
        For x of shape (d,) and f(x) of shape (m,), shape (m, d); in general
        ``f(x).shape + x.shape``.

    Notes
    -----
    .. math:: J_{ij} = \frac{\partial f_i}{\partial x_j} \approx \frac{f_i(x + h e_j) - f_i(x - h e_j)}{2h}.
    """
    x = _as_float64(x)
    out_shape = np.shape(f(x))
    columns = _central_differences(lambda z: np.asarray(f(z), dtype=np.float64).reshape(-1), x, eps)
    return np.array(columns).T.reshape(out_shape + x.shape) if columns else np.empty(out_shape + x.shape)


def hessian(f, x, eps: float = 1e-4, grad=None) -> np.ndarray:
    r"""Hessian H_ij = d^2 f / dx_i dx_j of the scalar ``f`` at the vector ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, a scalar function.
    x : array_like of shape (d,)
        The point.
    eps : float, default 1e-4
        The step h (larger than for first derivatives: the error of second differences grows as
        rounding / h^2).
    grad : callable, optional
        A function returning the analytic gradient; the Hessian is then its Jacobian.

    Returns
    -------
    ndarray of float64, shape (d, d)
        Symmetric.

    Raises
    ------
    ValueError
        If ``x`` is not a vector or ``eps`` is not positive.

    Notes
    -----
    Without ``grad``, second central differences:

    .. math:: H_{ij} \approx \frac{f(x + h e_i + h e_j) - f(x + h e_i - h e_j)
       - f(x - h e_i + h e_j) + f(x - h e_i - h e_j)}{4 h^2}.
    """
    x = _as_float64(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a vector; got shape {x.shape}")
    if grad is not None:
        return jacobian(grad, x, eps)
    if not eps > 0:
        raise ValueError(f"eps must be positive; got {eps!r}")
    d = x.size
    H = np.empty((d, d))

    def at(i, si, j, sj):
        y = x.copy()
        y[i] += si * eps
        y[j] += sj * eps
        return _scalar(f(y))

    for i in range(d):
        for j in range(i, d):
            h = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * eps * eps)
            H[i, j] = H[j, i] = h
    return H


def relative_error(analytic, numeric, zero_tol: float = ZERO_TOL) -> float:
    r"""The relative error of an analytic gradient against a numerical one, over the whole array.

    Parameters
    ----------
    analytic : array_like
        a, the hand-derived gradient.
    numeric : array_like
        n, the numerical gradient, the same shape.
    zero_tol : float, default ``ZERO_TOL`` (1e-8)
        When both arrays are below this everywhere the error is 0 (central differences cannot
        resolve anything smaller).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ.

    Notes
    -----
    .. math:: \frac{\max_i \lvert a_i - n_i \rvert}{\max(\max_i \lvert a_i \rvert, \max_i \lvert n_i \rvert)}.

    Unlike an element-wise ratio it does not blow up on entries that are zero up to rounding.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"analytic gradient has shape {a.shape}, numerical {n.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(n).max())
    if scale <= zero_tol:
        return 0.0
    return float(np.abs(a - n).max() / scale)


@dataclass
class GradCheckReport:
    """Result of ``check_gradients``: the relative error of every checked gradient.

    True in a boolean context when the check passed; ``str()`` gives a table.

    Parameters
    ----------
    name : str
        What was checked (the module, loss or penalty).
    errors : dict, optional
        ``{"input": error, "0.weight": error, ...}``: the relative error of each gradient.
    tol : float, default 1e-6
        The largest error that passes.
    """

    name: str
    errors: dict = field(default_factory=dict)   # "input", "0.weight", ... -> relative error
    tol: float = 1e-6

    @property
    def max_error(self) -> float:
        """The largest relative error (0 when nothing was checked)."""
        return max(self.errors.values(), default=0.0)

    @property
    def worst(self) -> str | None:
        """The name of the gradient with the largest error (None when nothing was checked)."""
        return max(self.errors, key=self.errors.get) if self.errors else None

    @property
    def passed(self) -> bool:
        """Whether every error is below ``tol``."""
        return self.max_error < self.tol

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        rows = [f"{self.name}: largest relative error {self.max_error:.2e} "
                f"({'ok' if self.passed else 'FAILED'}, tol {self.tol:g})"]
        rows += [f"  {k:<24s} {v:.2e}" for k, v in self.errors.items()]
        return "\n".join(rows)


def _refuse_float32(arr, what):
    dt = np.asarray(arr).dtype
    if dt == np.float32 or dt == np.float16:
        raise TypeError(
            f"check_gradients works in float64 only; {what} is {dt}. Central differences in "
            f"{dt} are too coarse to check anything: convert it (module.astype(np.float64), "
            f"x.astype(np.float64))."
        )


def _rng_states(module: Module):
    """Every generator the module draws from (``Module.all_generators``) with its current state."""
    return [(g, g.bit_generator.state) for g in module.all_generators()]


def _restore(gens):
    for g, state in gens:
        g.bit_generator.state = state


def check_gradients(obj, x, target=None, *, eps: float = EPS, tol: float = 1e-6, seed: int = 0,
                    name: str | None = None) -> GradCheckReport:
    """Compare the analytic gradients of a module, a loss or a penalty with numerical ones.

    - ``Module``: f(x) = sum(G * module(x)) with a fixed random upstream gradient G; checks
      dL/dx and every parameter. The module's random generators (dropout masks) are rewound
      before every evaluation so the same mask is used throughout; parameters, buffers and
      generators are restored afterwards.
    - ``Loss``: f(x) = loss(x, target) (for ``reduction='none'``, sum(G * L)); checks dL/dx.
    - ``Penalty``: f(W) = penalty(W); checks gradient(W).

    Parameters
    ----------
    obj : Module, Loss or Penalty
        What to check.
    x : array_like of float64
        The input (for a penalty: the weight W).
    target : array_like, optional
        The loss's targets (losses only).
    eps : float, default ``EPS`` (1e-6)
        The step of the central differences.
    tol : float, default 1e-6
        The largest relative error that passes.
    seed : int, default 0
        Seeds the upstream gradient G.
    name : str, optional
        The report's name (default: the object's class).

    Returns
    -------
    GradCheckReport

    Raises
    ------
    TypeError
        If anything is float32 (its rounding would swamp the comparison), or ``obj`` is of
        another kind.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import nn
    >>> from chainrule.grad import check_gradients
    >>> layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    >>> check_gradients(layer, np.random.default_rng(0).normal(size=(4, 3))).passed
    True
    """
    label = name or type(obj).__name__
    report = GradCheckReport(label, tol=tol)
    # G comes from its own stream: default_rng(seed) would reproduce data drawn by the caller with the
    # same seed, and G = x makes some gradients vanish (batch norm's input gradient, for instance).
    rng = np.random.default_rng([seed, 0x6752AD])
    if isinstance(obj, Penalty):
        _refuse_float32(x, "W")
        W = _as_float64(x)
        report.errors["W"] = relative_error(obj.gradient(W), numerical_gradient(obj.penalty, W, eps))
        return report
    if isinstance(obj, Loss):
        _refuse_float32(x, "the input")
        x = _as_float64(x)
        value = obj.forward(x, target)
        G = rng.standard_normal(np.shape(value)) if obj.reduction == "none" else None
        analytic = obj.backward(G)

        def f(z):
            v = obj.forward(z, target)
            return float(np.sum(G * v)) if G is not None else v

        report.errors["input"] = relative_error(analytic, numerical_gradient(f, x, eps))
        return report
    if isinstance(obj, Module):
        _refuse_float32(x, "the input")
        for pname, p in obj.named_parameters():
            _refuse_float32(p.value, f"parameter {pname!r}")
        x = _as_float64(x)
        saved_state = obj.state_dict()
        gens = _rng_states(obj)
        try:
            out = obj.forward(x)
            G = rng.standard_normal(np.shape(out))
            obj.zero_grad()
            dx = obj.backward(G, need_input_grad=True)
            analytic = {"input": np.array(dx)}
            for pname, p in obj.named_parameters():
                analytic[pname] = np.zeros_like(p.value) if p.grad is None else p.grad.copy()

            def f_of_x(z):
                _restore(gens)
                return float(np.sum(G * obj.forward(z)))

            report.errors["input"] = relative_error(analytic["input"], numerical_gradient(f_of_x, x, eps))
            for pname, p in obj.named_parameters():
                original = p.value

                def f_of_p(v, p=p):
                    p.value = v
                    _restore(gens)
                    return float(np.sum(G * obj.forward(x)))

                num = numerical_gradient(f_of_p, original, eps)
                p.value = original
                report.errors[pname] = relative_error(analytic[pname], num)
        finally:
            _restore(gens)
            obj.load_state_dict(saved_state)
            obj.zero_grad()
        return report
    raise TypeError(
        f"check_gradients takes a Module, a Loss or a Penalty; got {type(obj).__name__}"
    )


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
