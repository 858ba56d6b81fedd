"""What a bug report needs about how chainrule computes: ``chainrule.show_config()`` and ``chainrule info``.

The version, the compiled backend on or off and why, the numba, NumPy and BLAS versions, and the
thread settings (chainrule's, BLAS's, the cores and the load the ``"auto"`` setting reads).
"""
from __future__ import annotations

import os
import platform
import sys

from .. import __version__
from . import workers


def config() -> dict:
    """The settings ``show_config`` prints, as a dict of strings.

    Returns
    -------
    dict
    """
    from . import available, enabled, why
    import numpy
    out = {"chainrule": __version__, "python": f"{platform.python_version()} ({sys.platform}, {platform.machine()})",
           "numpy": numpy.__version__}
    if available():
        import numba
        out["numba"] = numba.__version__
    else:
        out["numba"] = "not installed"
    out["compiled backend"] = ("on" if enabled() else "off") + f" ({why()})"
    out["threads (set_num_threads)"] = str(workers.get_num_threads())
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):                  # pragma: no cover - no load average here
        load = "unknown"
    out["cores"] = f"{workers.cores()} (1-minute load {load}; workers now: {workers.workers_for_step()})"
    blas = workers.run_blas_threads()
    out["blas threads of a run"] = (f"{blas} (this run's, chosen at its start)" if blas is not None else
                                    f"{min(workers.run_threads(), workers._blas_now())} if an auto run started now")
    for i, lib in enumerate(_blas()):
        out[f"blas{'' if i == 0 else ' ' + str(i + 1)}"] = lib
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_CACHE_DIR"):
        if os.environ.get(name):
            out[name] = os.environ[name]
    return out


def _blas() -> list[str]:
    """One line per BLAS library NumPy loaded (threadpoolctl), or what NumPy says it was built with."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        import numpy
        deps = numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return [f"{deps.get('name', '?')} {deps.get('version', '')} (threadpoolctl not installed: threads unknown)"]
    libs = [d for d in threadpool_info() if d.get("user_api") == "blas"]
    return [f"{d.get('internal_api')} {d.get('version')}, {d.get('num_threads')} threads"
            + (f", {d['architecture']}" if d.get("architecture") else "") for d in libs] or ["none found"]


def show_config(file=None) -> None:
    """Print the version, the compiled backend on or off (and why), numba, NumPy and BLAS versions
    and the thread settings: what a bug report needs (``chainrule info`` prints the same).

    Parameters
    ----------
    file : file-like, optional
        Where to print (default: standard output).
    """
    cfg = config()
    width = max(len(k) for k in cfg)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in cfg.items()), file=file or sys.stdout)
