"""Sweeps survive faults: a loky worker that dies, a driver killed with SIGKILL, and Ctrl-C on the
command line all leave a journal from which the same sweep finishes without refitting a done fit."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import GRID, DiesOnce, comparable, digits, network

from chainrule.sweep import SweepInterrupted, sweep

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(SRC), env.get("PYTHONPATH", "")])
    return env


def _wait_for_records(out: Path, n: int, proc, timeout=60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(list((out / "journal").glob("p*.json"))) if (out / "journal").is_dir() else 0
        if done >= n:
            return done
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended (code {proc.returncode}) before {n} fits: {proc.stderr.read()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"fewer than {n} fits after {timeout} s")


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_a_dead_loky_worker_loses_only_its_fits_which_run_again(tmp_path):
    X, y = digits(120)
    est = DiesOnce(die_at=2, marker=str(tmp_path / "died"))
    grid = {"c": [0, 1, 2, 3]}
    with pytest.warns(UserWarning, match="the best model is not written as a model file"):   # not a chainrule model
        result = sweep(est, grid, X, y, cv=2, n_jobs=2, out=tmp_path / "run", progress=False)
    assert (tmp_path / "died").read_text() == "x"           # the worker really died in the middle
    assert sorted((r["candidate"], r["fold"]) for r in result.rows) == [(i, k) for i in range(4) for k in range(2)]
    assert len(list((tmp_path / "run" / "journal").glob("p*.json"))) == 8     # every fit exactly once


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_a_worker_lost_again_and_again_stops_the_sweep_and_resume_finishes_it(tmp_path):
    X, y = digits(120)
    est = DiesOnce(die_at=2, marker=str(tmp_path / "died"), times=7)   # its two folds die more often than retries
    grid = {"c": [0, 1, 2, 3]}
    with pytest.raises(SweepInterrupted, match=r"a worker was lost 3 times .* run the same sweep with resume=True"):
        sweep(est, grid, X, y, cv=2, n_jobs=2, out=tmp_path / "run", progress=False)
    deaths = len((tmp_path / "died").read_text())
    assert 3 <= deaths <= 6                                    # each of 1 + 2 retries lost a worker
    (tmp_path / "died").write_text("x" * 7)                   # no more deaths: the resumed sweep finishes
    before = {p.name for p in (tmp_path / "run" / "journal").glob("p*.json")}
    assert len(before) < 8
    with pytest.warns(UserWarning, match="the best model is not written as a model file"):   # not a chainrule model
        result = sweep(est, grid, X, y, cv=2, n_jobs=2, out=tmp_path / "run", resume=True, progress=False)
    assert result.n_from_journal == len(before) and result.n_fitted == 8 - len(before)
    assert sorted((r["candidate"], r["fold"]) for r in result.rows) == [(i, k) for i in range(4) for k in range(2)]
    assert len(list((tmp_path / "run" / "journal").glob("p*.json"))) == 8     # every fit exactly once


def test_a_cancelled_task_is_run_again_never_recorded_as_a_failed_fit(tmp_path):
    """A fit that raises from a CancelledError (what a Dask task cancelled by a lost worker raises)
    did not fail: it is dispatched again, and no record holds an error."""
    X, y = digits(120)
    est = DiesOnce(die_at=1, marker=str(tmp_path / "cancelled"), how="cancel")
    with pytest.warns(UserWarning, match="the best model is not written as a model file"):   # not a chainrule model
        result = sweep(est, {"c": [0, 1, 2]}, X, y, cv=2, n_jobs=1, out=tmp_path / "run", progress=False)
    assert (tmp_path / "cancelled").read_text() == "x"      # the fit really was cancelled once
    assert [(r["candidate"], r["fold"]) for r in result.rows] == [(i, k) for i in range(3) for k in range(2)]
    assert [r["error"] for r in result.rows] == [None] * 6
    assert all(np.isfinite(r["mean_test_score"]) for r in result.rows) and result.best_index == 0
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "run" / "journal").glob("p*.json"))]
    assert len(records) == 6 and [r["error"] for r in records] == [None] * 6


_DRIVER = """
import sys
from sweep_helpers import GRID, digits, network
from chainrule.sweep import sweep
sweep(network(60), GRID, *digits(), cv=3, n_jobs=1, out=sys.argv[1], progress=False)
"""


@pytest.mark.determinism
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_driver_killed_then_resumed_gives_the_uninterrupted_table(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(out)], env=_env(), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_records(out, 3, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = {p.name: p.read_bytes() for p in (out / "journal").glob("p*.json")}
    assert 3 <= len(done) < 12 and not (out / "results.csv").exists()
    resumed = sweep(network(60), GRID, *digits(), cv=3, n_jobs=1, out=out, resume=True, progress=False)
    assert (resumed.n_from_journal, resumed.n_fitted) == (len(done), 12 - len(done))   # nothing refitted
    assert {n: (out / "journal" / n).read_bytes() for n in done} == done
    whole = sweep(network(60), GRID, *digits(), cv=3, n_jobs=1, out=tmp_path / "whole", progress=False)
    assert comparable(resumed.rows) == comparable(whole.rows)
    assert resumed.best_params == whole.best_params
    assert not [p for p in (out / "journal").iterdir() if p.suffix == ".tmp"]       # no half-written record left


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_ctrl_c_on_the_command_line_then_resume(tmp_path, capsys, ctrl_c_as_in_a_terminal):
    out = tmp_path / "cli"
    args = ["sweep", "--param", "alpha=1e-4,1e-3,1e-2", "--param", "learning_rate_init=0.003,0.03", "--set", "max_iter=60",
            "--set", "hidden_layer_sizes=(16,)", "--set", "batch_size=32", "--cv", "2", "--max-samples", "360",
            "--n-jobs", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", *args], env=_env(), stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        _wait_for_records(out, 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "run the same command with --resume" in err
    done = len(list((out / "journal").glob("p*.json")))
    assert 2 <= done < 12
    from chainrule.cli import main
    assert main([*args, "--resume"]) == 0
    text = capsys.readouterr().out
    assert f"12 fits ({12 - done} run now, {done} from the journal)" in text
    assert "best: alpha=" in text and (out / "model.safetensors").exists() and (out / "config.json").exists()
