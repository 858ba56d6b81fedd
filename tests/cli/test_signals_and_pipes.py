"""Ctrl-C (a real SIGINT) and a stdout closed early, through the installed script."""
import json
import signal
import subprocess
import threading

import pytest

pytestmark = pytest.mark.usefixtures("ctrl_c_as_in_a_terminal")   # conftest.py says why


def _popen(exe, argv, env, **kw):
    return subprocess.Popen([exe, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL, **kw)


def _read_until(stream, startswith: str, proc, timeout=120) -> list:
    """Lines of ``stream`` up to the first that starts with ``startswith`` (killing ``proc``
    if it never comes)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    lines = []
    try:
        for line in stream:
            lines.append(line)
            if line.startswith(startswith):
                return lines
    finally:
        timer.cancel()
    pytest.fail(f"no line starting with {startswith!r}; got {lines[-5:]}")


def test_ctrl_c_during_training_saves_the_model_and_exits_130(tmp_path, chainrule_exe, offline_env):
    out = tmp_path / "run"
    proc = _popen(chainrule_exe, ["train", "--epochs", "1000", "--out", str(out)], offline_env)
    _read_until(proc.stderr, "epoch 1/", proc)              # training has started
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    ours = [ln for ln in stderr.splitlines() if ln.startswith("chainrule")]
    assert len(ours) == 1 and ours[0].startswith("chainrule train: interrupted (Ctrl-C) after "), stderr
    config = json.loads((out / "config.json").read_text())
    assert config["metrics"]["interrupted"] is True and 1 <= config["metrics"]["epochs"] < 1000
    from chainrule import io
    assert io.load(out / "model.safetensors") is not None          # the model trained so far is kept
    assert "accuracy: train" in stdout


@pytest.mark.slow
def test_ctrl_c_during_the_mnist_handcrafted_demo_is_one_line_and_130(tmp_path, chainrule_exe, offline_env, mnist_dir):
    # the signal lands as the demo's second method, scikit-learn's LinearSVC, starts its fit on 8,000
    # images (seconds in liblinear's C loop; tests/cli/test_demo_interrupt.py checks that it is not awaited)
    env = dict(offline_env, PYTHONUNBUFFERED="1")               # to see each line as it is printed
    proc = _popen(chainrule_exe, ["demo", "handcrafted", "--dataset", "mnist10k", "--data-dir", str(mnist_dir),
                                  "--no-download", "--out", str(tmp_path)], env)
    lines = _read_until(proc.stdout, "  HOG + nearest neighbour", proc)   # the SVM's fit begins now
    assert lines[0].startswith("mnist10k: 8,000 training and 2,000 test images")
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip() == "chainrule demo handcrafted: interrupted (Ctrl-C)", stderr
    assert "HOG + linear SVM" not in stdout                      # no method after the signal
    assert not (tmp_path / "handcrafted.md").exists() and not (tmp_path / "handcrafted.json").exists()


@pytest.mark.parametrize("argv,code", [(["data"], 1), (["explain", "hinge"], 1), (["gradcheck"], 1),
                                       (["--help"], 0), (["train", "--help"], 0)])   # argparse ignores EPIPE itself
def test_stdout_closed_early_ends_quietly(argv, code, chainrule_exe, offline_env):
    proc = subprocess.Popen([chainrule_exe, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=offline_env, stdin=subprocess.DEVNULL)
    proc.stdout.close()                                          # the reader is gone before the first write
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert stderr == "" and proc.returncode == code, stderr


def test_chainrule_data_piped_into_head(chainrule_exe, offline_env, tmp_path):
    err = tmp_path / "stderr.txt"
    done = subprocess.run(["bash", "-c", f'"$0" data 2>"{err}" | head -1', chainrule_exe], capture_output=True,
                          text=True, env=offline_env, timeout=120)
    assert done.stdout.startswith("data home: ") and len(done.stdout.splitlines()) == 1
    assert err.read_text() == ""
