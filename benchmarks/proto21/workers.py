"""A fixed team of workers that split the batch: the calling thread is worker 0, n - 1 threads the rest.

``run(fn)`` calls ``fn(w)`` on every worker w at once and returns when all are done; inside, a
worker may call ``sync()`` (a barrier) where it needs what every worker computed (batch-norm
statistics). The split of a batch is fixed by its size and the number of workers (``split``),
never by timing, and every reduction over workers is done in worker order, so a run gives the
same bits every time at a fixed number of workers.

The compiled kernels release the GIL (numba ``nogil=True``), and so does NumPy's matrix product;
BLAS must run one thread inside each worker (``blas_threads``), or the workers' products would
each start BLAS threads of their own and oversubscribe the cores.
"""
from __future__ import annotations

import threading


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
    """``n`` workers; ``run(fn)`` runs fn(0) here and fn(1..n-1) on the team's threads."""

    def __init__(self, n: int = 2):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"Workers needs a number of workers >= 1; got {n!r}")
        self.n = n
        self._barrier = threading.Barrier(n) if n > 1 else None
        self._go = [threading.Semaphore(0) for _ in range(n - 1)]
        self._done = threading.Semaphore(0)
        self._fn = None
        self._errors: list[BaseException] = []
        self._closed = False
        self._threads = [threading.Thread(target=self._loop, args=(w,), daemon=True, name=f"proto21-worker-{w}")
                         for w in range(1, n)]
        for t in self._threads:
            t.start()

    def _loop(self, w: int) -> None:
        while True:
            self._go[w - 1].acquire()
            if self._closed:
                return
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
        if self._closed:
            raise RuntimeError("Workers.run after close()")
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
        if self._errors:
            first = next((e for e in self._errors if not isinstance(e, threading.BrokenBarrierError)),
                         self._errors[0])
            raise first

    def sync(self) -> None:
        """Wait until every worker reaches this point (inside ``run``)."""
        if self._barrier is not None:
            self._barrier.wait()

    def close(self) -> None:
        """Stop the threads (they are daemons, so a forgotten close does not hold the process)."""
        if self._closed:
            return
        self._closed = True
        for s in self._go:
            s.release()
        for t in self._threads:
            t.join()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


_controller = None


def blas_threads(n: int):
    """A context manager that runs BLAS on ``n`` threads, for the workers' products. threadpoolctl's
    ``threadpool_limits`` looks for the libraries on every call (measured 200 us); a controller
    made once sets and restores the limit in 9 us, so it can wrap every step."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller.limit(limits=n, user_api="blas")
