"""The same sweep on a Dask cluster on 127.0.0.1 (two worker processes, one thread and one BLAS
thread each): bit for bit the serial results, and every fit done exactly once when a worker is
killed in the middle. Skipped when dask[distributed] is not installed."""
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sweep_helpers import GRID, NestedBackend, comparable, digits, network

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
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
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


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_environment_variable_chooses_the_cluster(cluster, serial, monkeypatch):
    monkeypatch.setenv("CHAINRULE_SCHEDULER", cluster.scheduler_address)
    result = sweep(network(), {"alpha": GRID["alpha"], "learning_rate_init": GRID["learning_rate_init"][:1]}, *digits(), cv=3, progress=False)
    assert result.where.startswith("Dask at")
    assert [r["test_score"] for r in result.rows] == [r["test_score"] for r in serial.rows if r["param_learning_rate_init"] == 3e-3]


def test_nested_joblib_calls_of_a_fit_stay_in_its_worker(cluster):
    """joblib's Dask backend would send a fit's own joblib calls (cross_validate's, an estimator's
    n_jobs) back to the cluster, where a killed worker cancels them under a healthy fit."""
    X, y = digits(60)
    result = sweep(NestedBackend(), {"c": [0, 1]}, X, y, cv=2, scheduler=cluster.scheduler_address, progress=False)
    assert [r["test_score"] for r in result.rows] == [1.0] * 4


def _dead(pid) -> bool:
    """True once ``pid`` is gone, or is a zombie its nanny has not reaped yet (Linux /proc)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return Path("/proc").is_dir()                       # gone between the two looks


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_killed_worker_every_fit_done_exactly_once(cluster, tmp_path):
    with distributed.Client(cluster) as client:
        victim = next(iter(client.run(os.getpid).values()))
    out = tmp_path / "kill"
    done_at_kill = []

    def kill_after_two_fits():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = len(list((out / "journal").glob("p*.json"))) if (out / "journal").is_dir() else 0
            if done >= 2:
                os.kill(victim, signal.SIGKILL)
                done_at_kill.append(done)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=kill_after_two_fits, daemon=True)
    thread.start()
    result = sweep(network(40), GRID, *digits(), cv=3, scheduler=cluster.scheduler_address, out=out, progress=False)
    thread.join(5)
    assert done_at_kill and done_at_kill[0] < 12              # killed in the middle of the sweep
    deadline = time.monotonic() + 10
    while not _dead(victim) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(victim)                                       # the worker really is dead

    every = [(i, k) for i in range(4) for k in range(3)]
    journal = {p.name: json.loads(p.read_text()) for p in sorted((out / "journal").glob("p*.json"))}
    assert list(journal) == [f"p{i:05d}-f{k:02d}.json" for i, k in every]   # every fit exactly once
    assert [(r["candidate"], r["fold"]) for r in journal.values()] == every
    assert [r["error"] for r in journal.values()] == [None] * 12             # no fit recorded as failed
    assert result.n_fitted == 12 and [(r["candidate"], r["fold"]) for r in result.rows] == every
    assert [(r["test_score"], r["train_score"], r["error"]) for r in result.rows] == \
        [(j["test_score"], j["train_score"], j["error"]) for j in journal.values()]   # the table is the journal

    reference = sweep(network(40), GRID, *digits(), cv=3, n_jobs=1, progress=False)
    mine, theirs = comparable(result.rows), comparable(reference.rows)
    assert len(mine) == len(theirs) == 12
    assert [(a, b) for a, b in zip(mine, theirs) if a != b] == []            # every row, bit for bit
    assert result.best_params == reference.best_params and result.best_score == reference.best_score
