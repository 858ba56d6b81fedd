"""Where a sweep's fits run: this machine's cores through joblib's loky backend (the default), one
process (``n_jobs=1``), or a Dask cluster through joblib's dask backend.

The scheduler's address comes from the ``scheduler`` argument (``--scheduler tcp://HOST:PORT``)
or else the ``CHAINRULE_SCHEDULER`` environment variable; ``dask[distributed]`` is then needed
(``pip install 'chainrule[dask]'``). No scheduler is written here: joblib dispatches the fits and
Dask (or loky) runs them; a Dask worker that dies has its fits run again elsewhere by Dask.

BLAS threads: every fit runs under ``threadpoolctl.threadpool_limits(blas_threads)`` in the
process that runs it, so two workers on two cores do not start four BLAS threads each and fight
over the cores (and one thread per fit makes every fit's bits the same wherever it runs).
"""
from __future__ import annotations

import contextlib
import os

ENV = "CHAINRULE_SCHEDULER"


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


def scheduler_address(scheduler=None):
    """The Dask scheduler's address to use: the argument, else ``$CHAINRULE_SCHEDULER``, else None
    (run on this machine). An object with a ``submit`` method (a ``distributed.Client``) is used as is."""
    if scheduler is None:
        scheduler = os.environ.get(ENV) or None
    if scheduler is None or hasattr(scheduler, "submit"):
        return scheduler
    if not isinstance(scheduler, str) or "://" not in scheduler or scheduler.rsplit(":", 1)[-1] == "":
        source = "scheduler" if scheduler != os.environ.get(ENV) else ENV
        raise ValueError(f"{source} must be a Dask scheduler address like tcp://HOST:PORT; got {scheduler!r}")
    return scheduler


def _client(address, timeout: float):
    try:
        from dask.distributed import Client
    except ImportError:
        raise SchedulerError("running a sweep on a Dask cluster needs dask[distributed]: "
                             "pip install 'chainrule[dask]'") from None
    if hasattr(address, "submit"):
        return address, False
    try:
        return Client(address, timeout=timeout, set_as_default=False), True
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}. Start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS` (user guide: Scaling out, "
                             "docs/source/guide/scaling.rst)") from None


@contextlib.contextmanager
def backend(scheduler=None, n_jobs=None, blas_threads: int = 1, data=(), timeout: float = 10.0):
    """A joblib configuration for the sweep's ``Parallel``; yields a short description of it.

    ``data``: the large arguments (X, y, the folds' indices) that every Dask worker receives once,
    up front (joblib's ``scatter``, broadcast), instead of once per fit. Broadcast matters for
    faults: data scattered to one worker only is lost with it, and Dask then cancels every fit
    that needed it; replicated, it survives any worker but the last.
    """
    import joblib

    address = scheduler_address(scheduler)
    if address is None:
        n = -1 if n_jobs is None else n_jobs
        if n == 1:
            with joblib.parallel_config(backend="sequential"):
                yield "one process"
            return
        with joblib.parallel_config(backend="loky", n_jobs=n, inner_max_num_threads=blas_threads):
            yield f"loky, {joblib.cpu_count() if n == -1 else n} processes on this machine"
        return
    client, owned = _client(address, timeout)
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        with joblib.parallel_config(backend="dask", n_jobs=-1 if n_jobs is None else n_jobs,
                                    scatter=[d for d in data if d is not None] or None, client=client):
            yield f"Dask at {client.scheduler.address}, {n_workers} workers"
    finally:
        if owned:
            client.close()
