"""Input checks shared by layers and losses.

Messages follow one pattern: "<argument> must be <expected>; got <received>".
"""
from __future__ import annotations

import numpy as np


def describe_index(flat_index: int, shape: tuple) -> str:
    """Return the index of a flat position as '3' or '(1, 2)'."""
    idx = np.unravel_index(flat_index, shape)
    return str(int(idx[0])) if len(idx) == 1 else "(" + ", ".join(str(int(i)) for i in idx) + ")"


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
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        raise ValueError(
            f"{name} must hold integer class labels in [0, {n_classes}); got {y[bad[0]].item()} at index {bad[0]}"
        )
    return y.astype(np.intp, copy=False)


def resolve_rng(rng) -> np.random.Generator:
    """``None`` -> a fresh unseeded Generator; an int or SeedSequence -> seeded; a Generator is kept."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64; got {dt}")
    return dt
