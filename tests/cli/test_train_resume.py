"""Issue 19.4: `chainrule train --checkpoint` and `--resume RUN`. A run killed with SIGKILL at random
points continues to the same bits as an uninterrupted one (tensors, description and history; only
the seconds differ), and the run folder is written as a whole: after any kill it holds the previous
complete run, byte for byte, or the new complete run, never a mix.

The kills are real (the installed script, SIGKILL). The fast test kills twice, at chosen points;
the slow one kills at least 30 times at random points. `.ci/run` runs the determinism mark with
OPENBLAS_CORETYPE set and unset (never set here)."""
import hashlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import io

RUN = ["--epochs", "8", "--hidden", "64", "--quiet", "--checkpoint"]
OLD = ["--model", "linear", "--epochs", "1", "--quiet", "--seed", "1"]     # the run a new one replaces


def _run(exe, env, *argv, timeout=300):
    return subprocess.run([exe, "train", *map(str, argv)], capture_output=True, text=True, env=env, timeout=timeout)


def _start(exe, env, *argv):
    return subprocess.Popen([exe, "train", *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for_line(proc, prefix, timeout=300) -> bool:
    """Read stderr until a line starting with ``prefix`` (True) or the end of the process (False)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stderr:
            if line.startswith(prefix):
                return True
        return False
    finally:
        timer.cancel()


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def bits(folder: Path) -> dict:
    """What must be identical between two runs of one command: every tensor (dtype, shape, bytes), the
    model file's description and the history, without the measured seconds."""
    desc, tensors = io.read(folder / "model.safetensors")
    return {"description": _strip(desc), "history": _strip(json.loads((folder / "history.json").read_text())),
            "tensors": {k: (v.dtype.str, v.shape, hashlib.sha256(v.tobytes()).hexdigest()) for k, v in tensors.items()}}


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, chainrule_exe, offline_env):
    """An uninterrupted run of the command, and a complete old run of another model."""
    root = tmp_path_factory.mktemp("resume")
    proc = _start(chainrule_exe, offline_env, *RUN, "--out", root / "reference")
    assert _wait_for_line(proc, "digits:")
    started = time.monotonic()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    after_data = time.monotonic() - started            # how long the run lasts once its data are loaded
    old = _run(chainrule_exe, offline_env, *OLD, "--out", root / "old")
    assert old.returncode == 0, old.stderr
    assert (root / "old" / "templates.png").exists()                  # a file the new run does not write
    return {"bits": bits(root / "reference"), "files": sorted(p.name for p in (root / "reference").iterdir()),
            "old": snapshot(root / "old"), "old_path": root / "old", "after_data": after_data}


def _check_whole(out: Path, reference) -> str:
    """RUN is the old run byte for byte ('old') or a complete new run with the reference's bits ('new')."""
    now = snapshot(out)
    if now == reference["old"]:
        return "old"
    assert sorted(now) == reference["files"], f"a mixed or incomplete run folder: {sorted(now)}"
    got = bits(out)
    if got != reference["bits"]:
        import difflib
        diff = difflib.unified_diff(json.dumps(reference["bits"], indent=0, sort_keys=True, default=str).splitlines(),
                                    json.dumps(got, indent=0, sort_keys=True, default=str).splitlines(), n=1)
        pytest.fail("the resumed run's bits differ from the uninterrupted run's:\n" + "\n".join(list(diff)[:40]))
    return "new"


def _fresh(tmp_path, reference) -> Path:
    out = tmp_path / "run"
    import shutil
    shutil.copytree(reference["old_path"], out)
    return out


@pytest.mark.determinism
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_two_kills_then_resume_gives_the_uninterrupted_bits(tmp_path, chainrule_exe, offline_env, reference):
    out = _fresh(tmp_path, reference)
    checkpoint = out.with_name("run.partial") / "checkpoint.npz"
    proc = _start(chainrule_exe, offline_env, *RUN, "--out", out)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    _kill(proc)                                                        # kill 1: a checkpoint exists, training goes on
    assert checkpoint.exists() and _check_whole(out, reference) == "old"

    changed = _run(chainrule_exe, offline_env, "--resume", out, "--lr", "0.5", "--batch-size", "16")
    assert changed.returncode == 2
    assert changed.stderr.strip() == (f"chainrule train: error: --resume {out} continues a run with its own settings; "
                                      "this command changes them (--lr: the run has (default), this command 0.5; "
                                      "--batch-size: the run has 32, this command 16): leave them out, or start a new "
                                      "run with another --out")
    fresh = _run(chainrule_exe, offline_env, *RUN, "--out", out)        # a new run would discard the checkpoint
    assert fresh.returncode == 2 and f"continue it with chainrule train --resume {out}" in fresh.stderr

    proc = _start(chainrule_exe, offline_env, "--resume", out)
    assert _wait_for_line(proc, "digits:")
    _kill(proc)                                                        # kill 2: just after the data are loaded
    assert _check_whole(out, reference) == "old"

    done = _run(chainrule_exe, offline_env, "--resume", out)
    assert done.returncode == 0, done.stderr
    assert f"resuming {out} from {checkpoint}" in done.stderr
    assert _check_whole(out, reference) == "new"
    assert not (out / "templates.png").exists() and not out.with_name("run.partial").exists()
    again = _run(chainrule_exe, offline_env, "--resume", out)
    assert again.returncode == 0 and f"{out} is a complete run; nothing to resume" in again.stderr


@pytest.mark.slow
@pytest.mark.determinism
def test_thirty_random_kills_never_lose_or_mix_a_run(tmp_path, chainrule_exe, offline_env, reference):
    """SIGKILL at a random moment after the data are loaded (during the epochs, a checkpoint's write, the
    pictures, config.json, the swap), again and again: after each kill RUN is the old run or the
    complete new one; the run that finally completes has the uninterrupted run's bits. The moments
    are drawn over the reference run's duration (so some kills come too late and the run completes);
    a run killed KILLS_PER_RUN times then finishes unkilled, so that a busy machine cannot livelock it."""
    kills_per_run = 4
    rng = random.Random(19)
    kills, chains, late = 0, 0, 0
    while kills < 30:
        chains += 1
        out = _fresh(tmp_path / f"chain{chains}", reference)
        argv = [*RUN, "--out", out]
        for attempt in range(kills_per_run + 1):
            proc = _start(chainrule_exe, offline_env, *argv)
            if attempt < kills_per_run and _wait_for_line(proc, "digits:"):
                time.sleep(rng.uniform(0, 1.2 * reference["after_data"]))
                if proc.poll() is None:
                    _kill(proc)
                    kills += 1
                    _check_whole(out, reference)
                    argv = ["--resume", out]
                    continue
                late += 1
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            break
        assert _check_whole(out, reference) == "new"
    print(f"\n{kills} SIGKILLs in {chains} runs ({late} draws came after the run had ended); every run ended "
          "with the uninterrupted bits and no folder was ever mixed")


# ---- the run folder's states after a kill, without killing ---------------------------------------
def _complete(folder: Path, tag: str, marker: bool):
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_text(tag)
    (folder / "config.json").write_text(tag)
    if marker:
        (folder / ".chainrule-new-run").write_text("")


def _tags(folder: Path):
    return (folder / "config.json").read_text() if folder.exists() else None


@pytest.mark.parametrize("state", ["before-swap", "after-exchange", "between-renames", "before-cleanup",
                                   "first-run"])
def test_recover_finishes_what_a_kill_interrupted(tmp_path, state):
    from chainrule.cli._runfolder import RunFolder
    folder = RunFolder(tmp_path / "run")
    if state == "before-swap":               # the new run complete in run.partial, the old one in place
        _complete(folder.out, "old", False)
        _complete(folder.staging, "new", True)
    elif state == "after-exchange":          # exchanged: run.partial names the old run now
        _complete(folder.out, "new", True)
        _complete(folder.staging, "old", False)
    elif state == "between-renames":         # no exchange: the old run moved aside, the new one not yet in
        _complete(folder.trash, "old", False)
        _complete(folder.staging, "new", True)
    elif state == "before-cleanup":
        _complete(folder.out, "new", True)
        _complete(folder.trash, "old", False)
    else:
        _complete(folder.staging, "new", True)
    folder.recover()
    assert _tags(folder.out) == "new" and not (folder.out / ".chainrule-new-run").exists()
    assert not folder.staging.exists() and not folder.trash.exists()


def test_recover_leaves_an_unfinished_run_for_resume(tmp_path):
    from chainrule.cli._runfolder import RunFolder
    folder = RunFolder(tmp_path / "run")
    _complete(folder.out, "old", False)
    folder.staging.mkdir()
    (folder.staging / ".chainrule-new-run").write_text("")
    (folder.staging / "checkpoint.npz").write_bytes(b"")
    folder.recover()
    assert _tags(folder.out) == "old" and folder.has_checkpoint()


def test_replace_folder_swaps_in_one_step_where_the_system_can(tmp_path):
    from chainrule.io.atomic import exchange, replace_folder
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not exchange(a, b):
        pytest.skip("no atomic exchange of two paths here (renameat2 RENAME_EXCHANGE)")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"
    replace_folder(a, b, tmp_path / "trash")
    assert (b / "x").read_text() == "b" and (tmp_path / "trash" / "x").read_text() == "a" and not a.exists()


def test_replace_folder_without_an_atomic_exchange_uses_two_renames(tmp_path, monkeypatch):
    from chainrule.io import atomic
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    new, target, trash = tmp_path / "new", tmp_path / "run", tmp_path / ".run.replaced"
    for folder, tag in ((new, "new"), (target, "old")):
        folder.mkdir()
        (folder / "x").write_text(tag)
    atomic.replace_folder(new, target, trash)
    assert (target / "x").read_text() == "new" and (trash / "x").read_text() == "old" and not new.exists()


def test_finish_removes_what_killed_writers_left(tmp_path):
    from chainrule.cli._runfolder import RunFolder
    from chainrule.io.atomic import _HOST_TAG
    folder = RunFolder(tmp_path / "run")
    _complete(folder.staging, "new", True)
    dead = folder.staging / f".checkpoint.npz.999999999-{_HOST_TAG}.12345678.tmp"   # no process has that pid
    dead.write_bytes(b"half a checkpoint")
    folder.finish()
    assert sorted(p.name for p in folder.out.iterdir()) == ["config.json", "model.safetensors"]


def test_resume_names_what_is_missing(tmp_path, capsys):
    from chainrule.cli import main
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no run to resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "x"), "--out", str(tmp_path / "y")]) == 2
    assert "--out has no effect with --resume" in capsys.readouterr().err


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_ctrl_c_with_a_checkpoint_keeps_the_run_resumable(tmp_path, chainrule_exe, offline_env, reference,
                                                          ctrl_c_as_in_a_terminal):
    out = _fresh(tmp_path, reference)
    checkpoint = out.with_name("run.partial") / "checkpoint.npz"
    # 100,000 epochs (about 4 minutes) that do not stop early: without --early-stopping a run ends when its
    # training loss has not fallen for 10 epochs (after 83 here, 5 s). The fixture gives the child SIGINT at
    # its default: started by a runner in the background of a script, it ignored Ctrl-C and ran on
    proc = _start(chainrule_exe, offline_env, "--epochs", "100000", "--early-stopping", "99990", "--hidden", "16",
                  "--quiet", "--checkpoint", "--out", out)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"continue with chainrule train --resume {out}" in err and checkpoint.exists()
    assert snapshot(out) == reference["old"]                           # the old run, untouched


def test_resume_never_reads_or_downloads_where_command_json_says(tmp_path, capsys, monkeypatch):
    """Issue 19.2 for --resume: the data folder a run's command.json records is not used on its say-so."""
    from chainrule.cli import main
    from chainrule.cli._runfolder import RunFolder
    from chainrule.cli._settings import command_settings
    from chainrule.cli import build_parser
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "home"))
    elsewhere = tmp_path / "elsewhere" / "not-yet"
    args = build_parser().parse_args(["train", "--dataset", "mnist10k", "--model", "linear", "--data-dir",
                                      str(elsewhere), "--checkpoint"])
    folder = RunFolder(tmp_path / "run")
    folder.start(command_settings(args), None)
    assert main(["train", "--resume", str(folder.out), "--no-download"]) == 1          # no data in the user's home
    err = capsys.readouterr().err
    assert f"records the data folder {elsewhere}; it is not used" in err and "the data set is not available" in err
    assert not elsewhere.exists() and not elsewhere.parent.exists()
