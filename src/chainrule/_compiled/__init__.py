"""The same kernels, compiled (numba, the optional ``fast`` extra): one package, below the layers and
the optimizers, that nothing in the NumPy reference kernels reads.

The reference kernels (``layers/``, ``optim/``) are plain NumPy and are what runs without numba. A
module or optimizer asks ``enabled()`` once, when it is built, and keeps the compiled variant it was
given; every compiled kernel is tested against its reference (``tests/compiled/``). The switch:
numba installed, and ``CHAINRULE_COMPILED=0`` (or the 0.1 name ``CHAINRULE_FUSED=0``) in the
environment, or ``set_enabled(False)`` before the modules are built, turns it off.

- ``sgd.py``: one-pass SGD updates (the same bits as ``optim.sgd_update``);
- ``images.py``: max pooling forward and backward and the convolution's col2im gather;
- the fused engine for whole chains of layers: ``chain.py`` (which chains, from the layers'
  ``_fused_spec()``; what ``Sequential`` asks when it is built), ``plan.py`` (one input shape's
  steps and buffers), ``steps.py`` (the fused steps), ``direct.py`` and ``simd.py`` (the direct
  channels-last convolution on register-tiled micro-kernels), ``pool.py`` (2 x 2 max pooling
  fused with the ReLU), ``workers.py`` (the team of workers and the thread setting);
- ``config.py``: what ``chainrule.show_config()`` and ``chainrule info`` print.
"""
from __future__ import annotations

import importlib.util
import os

from .chain import fuse
from .workers import get_num_threads, set_num_threads

_HAVE_NUMBA = importlib.util.find_spec("numba") is not None   # numba itself is imported at first use


def _from_environment() -> bool:
    off = "0" in (os.environ.get("CHAINRULE_COMPILED", "1"), os.environ.get("CHAINRULE_FUSED", "1"))
    return _HAVE_NUMBA and not off


_enabled = _from_environment()


def why() -> str:
    """Why the compiled kernels are on or off (what ``chainrule.show_config()`` says).

    Returns
    -------
    str
    """
    if not _HAVE_NUMBA:
        return "numba is not installed: pip install 'chainrule[all]'"
    if not _from_environment():
        return "CHAINRULE_COMPILED=0 in the environment"
    return "numba installed" if _enabled else "turned off by set_enabled(False)"


def available() -> bool:
    """True when numba is installed (the ``fast`` extra).

    Returns
    -------
    bool
    """
    return _HAVE_NUMBA


def enabled() -> bool:
    """True when modules and optimizers built from now on take the compiled kernels.

    Returns
    -------
    bool
    """
    return _enabled


def set_enabled(flag: bool) -> None:
    """Give modules and optimizers built from now on the compiled kernels (True) or the NumPy ones.

    Modules and optimizers built before keep what they were given.

    Parameters
    ----------
    flag : bool
        True to use the compiled kernels (needs numba).

    Raises
    ------
    RuntimeError
        If ``flag`` is True and numba is not installed.
    """
    global _enabled
    if flag and not _HAVE_NUMBA:
        raise RuntimeError("the compiled kernels need numba: pip install 'chainrule[fast]'")
    _enabled = bool(flag)


def __dir__():
    """Only the public names (what tab completion shows)."""
    return ["available", "enabled", "fuse", "get_num_threads", "set_enabled", "set_num_threads", "why"]
