"""The same sweep on a Dask cluster on 127.0.0.1 (two worker processes, one thread and one BLAS
thread each): bit for bit the serial results, and every fit done exactly once when a worker is
killed in the middle. Skipped when dask[distributed] is not installed."""
import logging
import os
import signal
import threading
import time

import pytest
from sweep_helpers import GRID, comparable, digits, network

from chainrule.sweep import sweep

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as c:
        yield c


@pytest.fixture(scope="module")
def serial():
    return sweep(network(), GRID, *digits(), cv=3, n_jobs=1, progress=False)


@pytest.mark.determinism
def test_local_cluster_gives_the_serial_results_bit_for_bit(cluster, serial, tmp_path):
    with distributed.Client(cluster) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in workers)   # loopback only
        pids = set(client.run(os.getpid).values())
    result = sweep(network(), GRID, *digits(), cv=3, scheduler=cluster.scheduler_address, blas_threads=1,
                   out=tmp_path / "dask", progress=False)
    assert result.where.startswith(f"Dask at {cluster.scheduler_address}")
    assert {int(r["worker"].rsplit(":", 1)[1]) for r in result.rows} <= pids    # the fits ran on the workers
    assert comparable(result.rows) == comparable(serial.rows)                  # every score, bit for bit
    assert result.best_params == serial.best_params and result.best_score == serial.best_score


def test_environment_variable_chooses_the_cluster(cluster, serial, monkeypatch):
    monkeypatch.setenv("CHAINRULE_SCHEDULER", cluster.scheduler_address)
    result = sweep(network(), {"alpha": GRID["alpha"], "learning_rate_init": GRID["learning_rate_init"][:1]}, *digits(), cv=3, progress=False)
    assert result.where.startswith("Dask at")
    assert [r["test_score"] for r in result.rows] == [r["test_score"] for r in serial.rows if r["param_learning_rate_init"] == 3e-3]


def test_killed_worker_every_fit_done_exactly_once(cluster, serial, tmp_path):
    with distributed.Client(cluster) as client:
        victim = next(iter(client.run(os.getpid).values()))
    out = tmp_path / "kill"
    killed = threading.Event()

    def kill_after_two_fits():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list((out / "journal").glob("p*.json"))) >= 2 if (out / "journal").is_dir() else False:
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=kill_after_two_fits, daemon=True)
    thread.start()
    result = sweep(network(40), GRID, *digits(), cv=3, scheduler=cluster.scheduler_address, out=out, progress=False)
    thread.join(5)
    assert killed.is_set()
    records = sorted(p.name for p in (out / "journal").glob("p*.json"))
    assert len(records) == 12 == len(set(records))
    assert sorted((r["candidate"], r["fold"]) for r in result.rows) == [(i, k) for i in range(4) for k in range(3)]
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)                                   # the worker really is dead
    reference = sweep(network(40), GRID, *digits(), cv=3, n_jobs=1, progress=False)
    assert comparable(result.rows) == comparable(reference.rows)
