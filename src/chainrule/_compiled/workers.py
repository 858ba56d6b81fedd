"""The worker team that runs a fused network, and the process-wide thread setting.

``Workers(n).run(fn)`` calls ``fn(w)`` on every worker w at once (the calling thread is worker 0,
n - 1 daemon threads the rest) and returns when all are done; the compiled kernels release the
GIL (numba ``nogil=True``), and so does NumPy's matrix product. The batch split is fixed by its
size (whole chunks of images per worker, never by timing), and every sum over images runs in
chunk order, so the bits do not depend on the number of workers.

Threads: ``set_num_threads(n)`` sets the workers of the compiled kernels and BLAS's threads
together; while the workers run, BLAS runs one thread inside each (``one_blas_thread``), so the
cores are never oversubscribed. ``"auto"`` (the default) takes one worker per core, or one
worker while other processes keep a core busy (the 1-minute load average minus our own workers
at least 0.75): measured on a 2-core machine under a load of 6 to 9, two workers were 6 to 31 %
slower than one (docs: guide/compiled). The workers are chosen at every step (their bits do not
depend on it); BLAS's threads, whose bits do, once per run (``using_threads("auto")``: one per
core on a quiet machine, one on a busy one), and a run resumed from a checkpoint takes the count
the checkpoint records (``follow_run``).
"""
from __future__ import annotations

import contextlib
import os
import threading
import time

from .._helpers.validation import check_int

_setting: int | str = "auto"
_blas_limit = None          # the threadpoolctl limit set_num_threads holds (restored by "auto")
_controller = None
_run: dict = {"blas": None, "limits": []}   # BLAS's threads of the current "auto" run, and its limits
_teams: dict[int, "Workers"] = {}
_teams_lock = threading.Lock()


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:              # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _controller_or_none():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:             # pragma: no cover - threadpoolctl is in the same extra as numba
            return None
        _controller = ThreadpoolController()
    return _controller


def set_num_threads(n) -> None:
    """Threads for chainrule's kernels: the workers of the compiled kernels and BLAS's threads.

    Parameters
    ----------
    n : int or "auto"
        At least 1; ``"auto"`` (the default) chooses per step from the cores and the load, and
        leaves BLAS as it found it.

    Raises
    ------
    ValueError
        If ``n`` is neither ``"auto"`` nor an integer >= 1.
    """
    global _setting, _blas_limit
    if n != "auto":
        n = check_int("set_num_threads n", n, 1)
    if _blas_limit is not None:
        _blas_limit.restore_original_limits()
        _blas_limit = None
    if n != "auto" and _controller_or_none() is not None:
        from threadpoolctl import threadpool_limits      # looks again: scipy may have loaded its own BLAS since
        _blas_limit = threadpool_limits(limits=n, user_api="blas")
    _setting = n


def get_num_threads():
    """The setting ``set_num_threads`` made: an int, or ``"auto"``.

    Returns
    -------
    int or str
    """
    return _setting


@contextlib.contextmanager
def using_threads(n):
    """A context manager: ``set_num_threads(n)`` inside, the previous setting restored after
    (None: leave the setting as it is). The estimators' ``n_threads`` and ``--threads`` use it.

    ``"auto"`` here is a run's default: the compiled kernels' workers follow the load at every step
    (the same bits for any number), and BLAS, whose bits depend on its thread count (OpenBLAS gave
    other bits on 1 and 2 threads for 6 to 8 of 20 product shapes of chainrule's networks, on
    either kernel), runs ``run_threads()`` threads for the whole run: one per core when the machine
    is quiet as the run starts (an MLP's epoch 1.4 x faster on 2 cores), one when other processes
    keep a core busy (several times faster then), never more than BLAS has as the run starts (an
    outer limit, a sweep's one thread per fit or ``OPENBLAS_NUM_THREADS=1``, stays).
    ``run_blas_threads()`` says which; a checkpoint records it and a resumed run takes it again
    (``follow_run``), so a resumed run ends with the bits of an uninterrupted one whatever the load
    (guide/command-line, Threads)."""
    if n is None:
        yield
        return
    before, outer = _setting, dict(_run, limits=list(_run["limits"]))
    set_num_threads(n)
    try:
        if n == "auto" and _controller_or_none() is not None:
            # one choice per run: an estimator's fit inside ``chainrule train`` keeps the command's
            _run["blas"], _run["limits"] = outer["blas"] or min(run_threads(), _blas_now()), []
            _limit_run_blas(_run["blas"])
            yield
        else:
            _run["blas"], _run["limits"] = None, []
            yield
    finally:
        for limit in reversed(_run["limits"]):
            limit.restore_original_limits()
        _run.update(outer)
        set_num_threads(before)


def _blas_now() -> int:
    """BLAS's thread count as the process has it now (``OPENBLAS_NUM_THREADS``, an outer
    ``threadpool_limits``, a sweep's one thread per fit): "auto" never raises it."""
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(1, min(counts)) if counts else cores()


def _limit_run_blas(k: int) -> None:
    from threadpoolctl import threadpool_limits      # looks again: scipy may have loaded its own BLAS since

    _run["limits"].append(threadpool_limits(limits=k, user_api="blas"))


def run_blas_threads():
    """BLAS's threads of the current ``using_threads("auto")`` run (what a checkpoint records), or
    None outside one (the thread count is then the user's: ``set_num_threads`` or BLAS's own).

    Returns
    -------
    int or None
    """
    return _run["blas"]


def follow_run(blas_threads) -> None:
    """In an ``"auto"`` run resumed from a checkpoint: BLAS's threads as the checkpoint's run chose
    them (``blas_threads``, None or the same count: nothing to do), for the same bits."""
    if _run["blas"] is None or blas_threads is None:
        return
    k = check_int("a checkpoint's blas_threads", blas_threads, 1)
    if k != _run["blas"]:
        _run["blas"] = k
        _limit_run_blas(k)


def auto_threads(active: int = 0) -> int:
    """One per core, or 1 while other processes keep a core busy (the 1-minute load average minus
    the ``active`` workers of our own at least 0.75)."""
    n = cores()
    if n == 1:
        return 1
    try:
        other = os.getloadavg()[0] - active
    except OSError:                     # pragma: no cover - no load average on this system
        return n
    return 1 if other >= 0.75 else n


def _running_now():
    """(runnable threads on the machine, runnable threads of this process) at this instant (Linux's
    /proc), or None where there is no /proc."""
    try:
        with open("/proc/loadavg") as f:
            total = int(f.read().split()[3].split("/")[0])
        ours = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    ours += f.read().rpartition(")")[2].split()[0] == "R"
            except (OSError, IndexError):          # a thread that ended meanwhile
                continue
        return total, ours
    except (OSError, ValueError, IndexError):
        return None


def others_running(looks: int = 5, gap: float = 0.002):
    """How many threads of other processes are runnable now (the median of ``looks`` looks, ``gap``
    seconds apart), or None where the system does not say."""
    seen = []
    for i in range(looks):
        now = _running_now()
        if now is None:
            return None
        seen.append(max(0, now[0] - now[1]))
        if i < looks - 1:
            time.sleep(gap)
    return sorted(seen)[len(seen) // 2]


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system            # every thread of this process


_own = {"wall": time.monotonic(), "cpu": _cpu_seconds(), "since": (time.monotonic(), _cpu_seconds())}


def _own_load() -> float:
    """The cores this process kept busy lately: since the last call when that was 1 to 60 s ago,
    else since chainrule was imported."""
    wall, cpu = time.monotonic(), _cpu_seconds()
    w0, c0 = (_own["wall"], _own["cpu"]) if 1.0 <= wall - _own["wall"] <= 60.0 else _own["since"]
    _own.update(wall=wall, cpu=cpu)
    return (cpu - c0) / (wall - w0) if wall - w0 >= 1.0 else 0.0


def run_threads() -> int:
    """BLAS's threads for an "auto" run that starts now: the cores no other process keeps busy
    (at least 1). Busy means a thread of another process runnable now (the median of a few looks),
    or a 1-minute load average that this process's own recent use does not explain (at least 0.75
    more): the first alone missed a second test runner between its tests (two BLAS threads in each
    of two pytest workers: the suite took 2 x as long), the load average alone counted this
    process's own last minute (a second fit right after a first took 1 thread on a quiet machine)."""
    n = cores()
    if n == 1:
        return 1
    others = others_running()
    if others is None:                  # pragma: no cover - no /proc: the load average's rule
        return auto_threads()
    try:
        unexplained = os.getloadavg()[0] - _own_load()
    except OSError:                     # pragma: no cover
        unexplained = 0.0
    return 1 if others >= 1 or unexplained >= 0.75 else n


def workers_for_step(active: int = 0) -> int:
    """How many workers the next step runs with (``"auto"``: ``auto_threads``)."""
    if _setting != "auto":
        return int(_setting)
    return auto_threads(active)


def one_blas_thread():
    """A context manager: BLAS on one thread (inside each worker) while the team runs (9 us with a
    cached controller, against 200 us for ``threadpool_limits``)."""
    ctl = _controller_or_none()
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


def team(n: int) -> "Workers":
    """The process's team of ``n`` workers (made at its first use, shared by every fused network)."""
    with _teams_lock:
        t = _teams.get(n)
        if t is None:
            t = _teams[n] = Workers(n)
        return t


def _forget_teams_in_a_child() -> None:
    """A forked process has the parent's teams but not their threads: it makes its own."""
    global _teams_lock
    _teams.clear()
    _teams_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_teams_in_a_child)


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """(first, end) of ``parts`` contiguous slices of range(n), the first n % parts one longer."""
    q, r = divmod(n, parts)
    out, s = [], 0
    for w in range(parts):
        e = s + q + (1 if w < r else 0)
        out.append((s, e))
        s = e
    return out


class Workers:
    """``n`` workers; ``run(fn)`` runs fn(0) here and fn(1..n-1) on the team's threads, one run at a time."""

    def __init__(self, n: int = 2):
        self.n = check_int("Workers n", n, 1)
        self._barrier = threading.Barrier(n) if n > 1 else None
        self._go = [threading.Semaphore(0) for _ in range(n - 1)]
        self._done = threading.Semaphore(0)
        self._busy = threading.Lock()
        self._fn = None
        self._errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._loop, args=(w,), daemon=True, name=f"chainrule-worker-{w}")
                         for w in range(1, n)]
        for t in self._threads:
            t.start()

    def _loop(self, w: int) -> None:
        while True:
            self._go[w - 1].acquire()
            try:
                self._fn(w)
            except BaseException as exc:          # handed to the caller of run()
                self._errors.append(exc)
                if self._barrier is not None:
                    self._barrier.abort()
            finally:
                self._done.release()

    def run(self, fn) -> None:
        """fn(w) on every worker w = 0..n-1 at once; re-raises the first error any of them raised."""
        with self._busy:
            self._fn, self._errors = fn, []
            for s in self._go:
                s.release()
            try:
                fn(0)
            except BaseException as exc:
                self._errors.insert(0, exc)
                if self._barrier is not None:
                    self._barrier.abort()
            for _ in self._go:
                self._done.acquire()
            if self._barrier is not None and self._barrier.broken:
                self._barrier.reset()
            self._fn = None
            if self._errors:
                first = next((e for e in self._errors if not isinstance(e, threading.BrokenBarrierError)),
                             self._errors[0])
                raise first

    def sync(self) -> None:
        """Wait until every worker reaches this point (inside ``run``)."""
        if self._barrier is not None:
            self._barrier.wait()
