"""Atomic writes survive SIGKILL without leaving temporary files; one live run per checkpoint path
or output folder (chainrule.io.atomic, chainrule.io.lock, the Checkpoint callback, chainrule train)."""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from chainrule import nn
from chainrule.io import atomic as _atomic
from chainrule.io.atomic import atomic_write_bytes, temp_prefix
from chainrule.io.lock import PathLock, PathLocked, hostname, lock_path_for, process_start_ticks

posix_only = pytest.mark.skipif(os.name != "posix" or not os.path.exists("/proc/self/stat"),
                                reason="SIGKILL and /proc are needed")

# A writer that never stops: every target, again and again, each file in 64 KB pieces so that most
# of its time is spent inside the atomic block (where a kill leaves a temporary file behind).
WRITER = r"""
import hashlib, os, sys
from chainrule import io, nn
from chainrule.io.atomic import atomic_open
folder, targets = sys.argv[1], sys.argv[2:]
net = nn.Sequential(nn.Linear(64, 512, rng=0), nn.ReLU(), nn.Linear(512, 10, rng=1))
print("ready", flush=True)
while True:
    for name in targets:
        path = os.path.join(folder, name)
        if name.endswith(".safetensors"):
            io.save(net, path)
            continue
        with atomic_open(path, "wb") as f:
            f.write(bytes(32))
            h = hashlib.sha256()
            for _ in range(8):
                piece = os.urandom(1 << 16)
                h.update(piece)
                f.write(piece)
            f.seek(0)
            f.write(h.digest())
"""

HOLDER = r"""
import sys
from chainrule.io.lock import PathLock, PathLocked
if len(sys.argv) > 2:
    sys.stdin.readline()                      # wait for "go": every contender starts together
try:
    lock = PathLock(sys.argv[1]).acquire()
except PathLocked as exc:
    print("refused", exc, flush=True)
    sys.exit(3)
print("held", flush=True)
sys.stdin.read()                              # hold until the test closes stdin (or kills us)
"""

TARGETS = ["a.bin", "b.bin", "model.safetensors"]


def _whole(path) -> bool:
    """The file is complete: its hash matches (data files) or it loads (model file)."""
    if path.name.endswith(".safetensors"):
        from chainrule import io
        try:
            return isinstance(io.load(path), nn.Sequential)
        except Exception:
            return False
    data = path.read_bytes()
    return len(data) == 32 + (1 << 19) and hashlib.sha256(data[32:]).digest() == data[:32]


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _start(script, *args, stdin=None):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@posix_only
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_sigkill_in_the_middle_of_writes_loses_no_file_and_the_next_write_removes_the_temps(tmp_path):
    rng = random.Random(0)
    proc = _start(WRITER, tmp_path, *TARGETS)        # the first versions of every target
    assert proc.stdout.readline() == "ready\n", proc.stderr.read()
    deadline = time.monotonic() + 10
    while not all((tmp_path / t).exists() for t in TARGETS) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    kills, lost, temps_seen = 1, 0, len(_temps(tmp_path))
    for _ in range(16):                              # 33 kills in all
        # two live writers of the same targets: neither may delete the other's temporary file
        # (its rename would fail and the process would exit with a traceback instead of being killed)
        pair = [_start(WRITER, tmp_path, *rng.sample(TARGETS, len(TARGETS))) for _ in range(2)]
        for p in pair:
            assert p.stdout.readline() == "ready\n", p.stderr.read()
        for p in pair:
            time.sleep(rng.uniform(0.0, 0.05))
            p.send_signal(signal.SIGKILL)
        for p in pair:
            p.wait()
            assert p.returncode == -signal.SIGKILL, p.stderr.read()
        kills += 2
        lost += sum(not (tmp_path / t).exists() or not _whole(tmp_path / t) for t in TARGETS)
        temps_seen += len(_temps(tmp_path))
    assert temps_seen > 0                            # the kills did land inside writes
    from chainrule import io
    atomic_write_bytes(tmp_path / "a.bin", b"x" * 32 + bytes(1 << 19))
    atomic_write_bytes(tmp_path / "b.bin", b"y")
    io.save(nn.Sequential(nn.Linear(2, 2, rng=0)), tmp_path / "model.safetensors")
    print(f"\nkills {kills}, files lost {lost}, temp files seen after kills {temps_seen}, "
          f"left after the next write {len(_temps(tmp_path))}")
    assert lost == 0
    assert _temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TARGETS)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@posix_only
def test_only_temps_of_dead_writers_of_the_same_target_on_this_host_are_removed(tmp_path):
    target = tmp_path / "m.bin"
    tag = _atomic._HOST_TAG
    other_tag = "0" * 8 if tag != "0" * 8 else "1" * 8
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead, prefix = _dead_pid(), temp_prefix(target)
        names = {
            "dead": f"{prefix}{dead}-{tag}.0badc0de.tmp",
            "reused": f"{prefix}{os.getpid()}-{tag}.00000001.tmp",     # our pid, written before we started
            "live": f"{prefix}{sleeper.pid}-{tag}.00000002.tmp",
            "me": f"{prefix}{os.getpid()}-{tag}.00000003.tmp",
            "other_host": f"{prefix}{dead}-{other_tag}.00000004.tmp",
            "other_target": f"{temp_prefix(tmp_path / 'n.bin')}{dead}-{tag}.00000005.tmp",
            "not_ours": f"{prefix}notes.tmp",
        }
        for n in names.values():
            (tmp_path / n).write_bytes(b"partial")
        os.utime(tmp_path / names["reused"], (1e9, 1e9))               # 2001: before this process started
        atomic_write_bytes(target, b"whole")
        left = set(os.listdir(tmp_path))
        assert target.read_bytes() == b"whole"
        assert names["dead"] not in left and names["reused"] not in left
        for kept in ("live", "me", "other_host", "other_target", "not_ours"):
            assert names[kept] in left, kept
        assert len(left) == 6                       # the target, the five kept, no temp of this write
    finally:
        sleeper.kill()
        sleeper.wait()


def test_writes_fsync_the_file_and_its_folder(tmp_path, monkeypatch):
    import stat
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write_bytes(tmp_path / "f.bin", b"data")
    assert synced[0] == "file"
    if os.name == "posix":
        assert synced == ["file", "folder"]         # the rename is durable too


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "t.txt"
    atomic_write_bytes(target, b"old")
    with pytest.raises(ZeroDivisionError):
        with _atomic.atomic_open(target, "wb") as f:
            f.write(b"new, half")
            1 / 0
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["t.txt"]


# -- locks ----------------------------------------------------------------------------------------
@pytest.fixture
def holder(tmp_path):
    """Start a process that holds the lock of a path; yield (process, path); kill it at the end."""
    procs = []

    def start(path):
        p = _start(HOLDER, path, stdin=subprocess.PIPE)
        procs.append(p)
        line = p.stdout.readline()
        assert line == "held\n", line + p.stderr.read()
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def _lock_info(path):
    return json.loads(open(lock_path_for(path)).read())


@posix_only
def test_a_second_live_process_is_refused_and_a_killed_holders_lock_is_taken_over(tmp_path, holder):
    target = tmp_path / "ckpt.npz"
    first = holder(target)
    assert _lock_info(target)["pid"] == first.pid
    second = _start(HOLDER, target, stdin=subprocess.PIPE)
    out, _ = second.communicate("", timeout=20)
    assert second.returncode == 3
    assert out.startswith("refused ") and str(target) in out and f"pid {first.pid}" in out
    with pytest.raises(PathLocked, match=f"pid {first.pid}") as err:
        PathLock(target).acquire()
    assert err.value.pid == first.pid and err.value.lock_path == lock_path_for(target)
    assert len(str(err.value).splitlines()) == 1
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert os.path.exists(lock_path_for(target))     # SIGKILL could not remove it...
    with PathLock(target) as lock:                   # ...and the next run takes it over
        assert lock.held and _lock_info(target)["pid"] == os.getpid()
    assert not os.path.exists(lock_path_for(target))


@posix_only
def test_of_several_processes_taking_over_a_stale_lock_exactly_one_wins(tmp_path):
    target = tmp_path / "out"
    with open(lock_path_for(target), "w") as f:
        json.dump({"pid": _dead_pid(), "host": hostname(), "started": "earlier"}, f)
    procs = [_start(HOLDER, target, "wait", stdin=subprocess.PIPE) for _ in range(4)]
    try:
        time.sleep(0.3)                              # let all of them import
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        answers = [p.stdout.readline().split()[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert sorted(answers) == ["held", "refused", "refused", "refused"], answers


def test_stale_and_foreign_lock_files(tmp_path, monkeypatch):
    target = tmp_path / "t"
    lock = lock_path_for(target)

    def write(info, age=0.0):
        with open(lock, "w") as f:
            f.write(json.dumps(info) if isinstance(info, dict) else info)
        os.utime(lock, (time.time() - age, time.time() - age))

    me = {"pid": os.getpid(), "host": hostname(), "started": "x"}
    # this process's pid, but a lock no live PathLock of this process holds (a reused pid): stale
    write({**me, "token": "not-held", "proc_start": process_start_ticks(os.getpid())})
    PathLock(target).acquire().release()
    write({**me, "proc_start": "1"})                # the pid belongs to a process started later
    if process_start_ticks(os.getpid()) is not None:
        PathLock(target).acquire().release()
    write("", age=60)                               # creator killed between create and write
    PathLock(target).acquire().release()
    write({**me, "host": "elsewhere.example", "pid": 1})
    with pytest.raises(PathLocked, match=r"pid 1 on host elsewhere\.example .*delete the lock file"):
        PathLock(target).acquire()
    os.unlink(lock)
    with PathLock(target):                          # in this process a held path is refused too
        with pytest.raises(PathLocked, match=r"\(this process\)"):
            PathLock(target).acquire()
    assert not os.path.exists(lock)


def test_lock_is_released_when_the_block_raises_and_by_garbage_collection(tmp_path):
    target = tmp_path / "t"
    with pytest.raises(KeyError):
        with PathLock(target):
            raise KeyError("boom")
    assert not os.path.exists(lock_path_for(target))
    PathLock(target).acquire()                      # dropped without release()
    import gc
    gc.collect()
    assert not os.path.exists(lock_path_for(target))


# -- wired in: the Checkpoint callback, the estimators' checkpoint= and chainrule train --out -------
def _blobs(n=64):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    return (rng.standard_normal((3, 4))[y] * 3 + rng.standard_normal((n, 4))).astype(np.float32), y


def _trainer(callbacks, lr=0.05):
    from chainrule import losses, optim
    from chainrule.training import Trainer
    model = nn.Sequential(nn.Linear(4, 3, rng=0))
    return Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=lr), batch_size=16, epochs=2,
                   rng=0, callbacks=callbacks)


@posix_only
def test_checkpoint_refuses_a_path_another_live_run_holds(tmp_path, holder):
    from chainrule.models import MLPClassifier
    from chainrule.training import Checkpoint
    path = tmp_path / "run.npz"
    other = holder(path)
    X, y = _blobs()
    with pytest.raises(PathLocked, match=rf"{path} is in use by another run: pid {other.pid}"):
        _trainer([Checkpoint(path)]).fit(X, y)
    with pytest.raises(PathLocked, match=rf"pid {other.pid}"):
        MLPClassifier((8,), max_iter=2, checkpoint=str(path)).fit(X, y)
    assert not path.exists()                         # the other run's checkpoint is not overwritten
    other.kill()
    other.wait()
    _trainer([Checkpoint(path)]).fit(X, y)           # its holder was killed: the lock is taken over
    assert path.exists() and not os.path.exists(lock_path_for(path))


def test_checkpoint_holds_the_lock_while_training_and_frees_it_when_training_raises(tmp_path):
    from chainrule.training import Callback, Checkpoint
    path = tmp_path / "run.npz"
    seen = []

    class Boom(Callback):
        def on_epoch_end(self, trainer, epoch, record):
            with pytest.raises(PathLocked, match=r"\(this process\)"):
                PathLock(path).acquire()
            seen.append(_lock_info(path)["pid"])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _trainer([Checkpoint(path), Boom()]).fit(*_blobs())
    assert seen == [os.getpid()]
    assert not os.path.exists(lock_path_for(path))


def test_a_diverged_run_frees_its_checkpoint_path_for_the_next_run(tmp_path):
    from chainrule import TrainingDiverged
    from chainrule.training import Checkpoint
    path = tmp_path / "run.npz"
    diverged = _trainer([Checkpoint(path)], lr=1e9)
    with pytest.raises(TrainingDiverged):
        diverged.fit(*_blobs())
    assert not os.path.exists(lock_path_for(path))   # train end runs after a divergence too
    _trainer([Checkpoint(path)]).fit(*_blobs())      # so the next run may take the path
    assert path.exists() and not os.path.exists(lock_path_for(path))


@posix_only
def test_train_refuses_an_out_folder_another_live_run_holds(tmp_path, holder, capsys):
    from chainrule.cli import main
    out = tmp_path / "run"
    other = holder(out)
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err and f"pid {other.pid}" in err, err
    assert not out.exists()


def test_train_holds_the_out_folder_for_the_whole_run(tmp_path, monkeypatch):
    from chainrule.cli import main, train
    out = tmp_path / "run"
    held = []

    def no_pictures(args, split, model, est, out_, y_pred, *training_points):
        with pytest.raises(PathLocked, match=str(out)):
            PathLock(out).acquire()
        held.append(sorted(os.listdir(out_)))      # the run is written into run.partial, then swapped in
        return []

    monkeypatch.setattr(train, "_pictures", no_pictures)
    assert main(["train", "--model", "linear", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    assert held == [[".chainrule-new-run", "command.json", "history.json", "model.safetensors"]]
    assert sorted(os.listdir(out)) == ["config.json", "history.json", "model.safetensors"]
    assert not os.path.exists(lock_path_for(out))
