"""The one place where arguments and inputs are checked (layers, losses, optimizers, estimators).

Messages follow one pattern: "<argument> must be <expected>; got <received>". One rule each for
numbers, integers, dtypes and random generators.
"""
from __future__ import annotations

import numbers

import numpy as np

#: The floating dtypes chainrule computes in (float32 to train, float64 to check gradients).
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe_index(flat_index: int, shape: tuple) -> str:
    """Return the index of a flat position as '3' or '(1, 2)'."""
    idx = np.unravel_index(flat_index, shape)
    return str(int(idx[0])) if len(idx) == 1 else "(" + ", ".join(str(int(i)) for i in idx) + ")"


# ---- numbers ------------------------------------------------------------------------------------
def _is_real(v) -> bool:
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_number(name: str, value, low: float | None = 0.0, high: float | None = None, *,
                 low_inclusive: bool = True, high_inclusive: bool = False) -> float:
    """A finite real number in the given range, as a float (``low=None``: no lower bound)."""
    ok = _is_real(value) and np.isfinite(value)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>=' if low_inclusive else '>'} {low:g}")
        if high is not None:
            bounds.append(f"{'<=' if high_inclusive else '<'} {high:g}")
        raise ValueError(f"{name} must be a finite number{' ' + ' and '.join(bounds) if bounds else ''}; "
                         f"got {value!r}")
    return float(value)


def check_int(name: str, value, low: int = 1, *, allow_none: bool = False) -> int | None:
    """An integer >= ``low`` (``allow_none``: None passes through)."""
    if allow_none and value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what}{' or None' if allow_none else ''}; got {value!r}")
    return int(value)


# ---- dtypes and generators ----------------------------------------------------------------------
def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """float32 or float64, given as a NumPy dtype, a type or a name ('float32')."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dt.name if dt is not None else repr(dtype)}")
    return dt


def resolve_rng(rng, name: str = "rng") -> np.random.Generator:
    """The one rule for randomness: None -> a fresh unseeded Generator; an int (>= 0) or a
    SeedSequence -> seeded; a Generator is used as it is (shared); a legacy RandomState seeds a
    new Generator from one draw."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(rng.randint(2**31 - 1))
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{name} must be a seed >= 0; got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


# ---- arrays -------------------------------------------------------------------------------------
def float_input(x, name: str = "input") -> np.ndarray:
    """``x`` as a floating array: float arrays pass unchanged, integers and booleans become float64."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind != "f":
        if x.dtype.kind not in "iub":
            raise TypeError(f"{name} must be numeric; got dtype {x.dtype}")
        x = x.astype(np.float64)
    return x


def as_float_array(x, name: str, *, ndim=None, allow_int: bool = True) -> np.ndarray:
    """Return ``x`` as a floating NumPy array (float input keeps its dtype, integers become float64).

    ``ndim`` is an int or a tuple of accepted numbers of dimensions.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be an array of numbers; got {type(x).__name__} ({exc})") from None
    if x.dtype.kind == "f":
        pass
    elif x.dtype.kind in "iub" and allow_int:
        x = x.astype(np.float64)
    else:
        raise TypeError(f"{name} must be an array of floating-point numbers; got dtype {x.dtype}")
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in accepted:
            want = " or ".join(f"{d}-D" for d in accepted)
            raise ValueError(f"{name} must be {want}; got shape {x.shape}")
    return x


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first NaN or infinity in ``x``."""
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(
            f"{name} must be finite; got {x.flat[bad].item()} at index {describe_index(bad, x.shape)}"
        )


def check_labels(y, name: str, n_samples: int, n_classes: int) -> np.ndarray:
    """Return integer class labels in [0, n_classes) as an intp array of length ``n_samples``.

    Float labels are accepted when every value is a whole number (1.0 is class 1; 1.5 is refused).
    Negative labels are refused explicitly: NumPy would silently wrap -1 to the last class.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels; got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have one label per sample ({n_samples}); got {y.shape[0]} labels"
        )
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise ValueError(
                f"{name} must hold integer class labels in [0, {n_classes}); "
                f"got {y[bad[0]].item()} at index {bad[0]}"
            )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = np.flatnonzero((y < 0) | (y >= n_classes))
        raise ValueError(
            f"{name} must hold integer class labels in [0, {n_classes}); got {y[bad[0]].item()} at index {bad[0]}"
        )
    return y.astype(np.intp, copy=False)
