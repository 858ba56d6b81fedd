"""Issue 19.1 and 19.5 through the commands: every file a command opens on a user's or a file's say-so
(a run's config.json, the arrays and images given to predict, a sweep's manifest) is refused by
name when it is a FIFO, a device or a link to one, larger than its cap, nested too deeply or holding
an absurd number; each answer is one line, within 4 x the file's size + 64 MB, in seconds (the
commands run in a child under RLIMIT_AS and a timeout: ``limited.py``)."""
import json
import os
import shutil

import numpy as np
import pytest
from limited import MB, budget_for, run_limited

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")


@pytest.fixture
def run_copy(files, tmp_path):
    """A fresh copy of a trained digits run folder (its config.json may be replaced)."""
    folder = tmp_path / "run"
    shutil.copytree(files["run"], folder)
    return folder


def _one_line(result, code):
    assert result["code"] == code, result
    lines = result["err"].strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result["err"] and "internal error" not in result["err"], result
    return lines[0]


def _deep(n: int) -> str:
    return '{"dataset": ' + "[" * n + "]" * n + "}"


HOSTILE_CONFIGS = {
    "fifo": (None, "config.json: refused: must be a regular file; got a FIFO (named pipe)"),
    "dev-zero": (None, "config.json: refused: must stay inside"),
    "deep": (lambda: _deep(200_000), "config.json: refused: is nested more than 256 levels deep"),
    "long-number": (lambda: '{"settings": {"seed": ' + "9" * 100_000 + "}}",
                    "config.json: refused: holds a number of 100,000 characters; at most 100 are allowed"),
    "huge": (lambda: '{"pad": "' + "x" * (2 * MB) + '"}', "config.json: refused: must be at most 1,048,576 bytes; "
                                                         "got 2,097,163 (if the file is genuine, raise the limit "
                                                         "with CHAINRULE_MAX_CONFIG_BYTES)"),
}


@pytest.mark.parametrize("kind, command", [(kind, "predict") for kind in HOSTILE_CONFIGS]
                         + [("fifo", "evaluate"), ("dev-zero", "evaluate")])
def test_a_hostile_config_json_is_one_line_naming_it(run_copy, files, kind, command):
    config = run_copy / "config.json"
    config.unlink()
    make, expected = HOSTILE_CONFIGS[kind]
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "dev-zero":
        config.symlink_to("/dev/zero")
    else:
        config.write_text(make())
    argv = [command, run_copy] + ([files["npy"]] if command == "predict" else [])
    line = _one_line(run_limited(argv, budget_for(config)), 1)
    assert line.startswith(f"chainrule {command}: {config}") and expected in line, line


def test_a_config_cap_is_raised_by_its_environment_variable(run_copy, files):
    config = run_copy / "config.json"
    good = json.loads(config.read_text())
    config.write_text(json.dumps({**good, "pad": "x" * (2 * MB)}))
    env = dict(os.environ, CHAINRULE_MAX_CONFIG_BYTES=str(4 * MB))
    result = run_limited(["predict", run_copy, files["npy"]], 512 * MB, env=env)    # a genuine file: no budget
    assert result["code"] == 0 and len(result["out"].splitlines()) == 4, result


def test_predict_refuses_a_huge_npy_header_by_its_cap_naming_the_file(tmp_path, files):
    """The audit's case: a header claiming 10^9 x 64 float64 said 'not enough memory ... try smaller --hidden'."""
    import io
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 64)})
    huge = tmp_path / "huge.npy"
    huge.write_bytes(head.getvalue() + bytes(64 * 8))
    line = _one_line(run_limited(["predict", files["run"], huge], budget_for(huge)), 1)
    assert line == (f"chainrule predict: {huge} is refused: must hold at most 1,073,741,824 bytes of data; its header "
                    "declares (1000000000, 64) of float64, 512,000,000,000 bytes (refused before reading) (if the file "
                    "is genuine, raise the limit with --max-input-mb or CHAINRULE_MAX_ARRAY_BYTES)")


def test_predict_refuses_an_npy_whose_header_declares_more_than_the_file_holds(tmp_path, files):
    import io
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 64)})
    short = tmp_path / "short.npy"
    short.write_bytes(head.getvalue() + bytes(64 * 8))
    line = _one_line(run_limited(["predict", files["run"], short], budget_for(short)), 1)
    assert f"{short} is refused: declares (1000000, 64) of float64" in line and "truncated or damaged?" in line


def test_max_input_mb_sets_the_cap_of_predict_inputs(tmp_path, files):
    from chainrule.cli import main
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((4000, 8, 8)))                               # 2 MB of float64
    assert main(["predict", str(files["run"]), str(big), "--max-input-mb", "1"]) == 1
    assert main(["predict", str(files["run"]), str(big), "--max-input-mb", "3"]) == 0


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_a_device_given_as_input_is_named_not_called_a_folder(tmp_path, files, kind):
    path = tmp_path / "input.npy"
    os.mkfifo(path) if kind == "fifo" else path.symlink_to("/dev/zero")
    line = _one_line(run_limited(["predict", files["run"], path], 64 * MB), 2)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    assert f"expected a regular file; got '{path}', which is {what}" in line and "folder" not in line, line


def test_a_hostile_sweep_manifest_is_refused_by_resume_without_hanging(tmp_path):
    out = tmp_path / "sweep"
    (out / "journal").mkdir(parents=True)
    os.mkfifo(out / "sweep.json")
    argv = ["sweep", "--param", "alpha=1e-4", "--cv", "2", "--max-samples", "60", "--n-jobs", "1", "--quiet",
            "--resume", "--out", out]
    line = _one_line(run_limited(argv, 64 * MB), 2)
    assert f"{out / 'sweep.json'} is not a readable sweep manifest: must be a regular file; got a FIFO" in line


def test_a_checkpoint_with_a_deeply_nested_header_is_one_error_naming_it(tmp_path):
    """read_checkpoint raised a bare RecursionError that did not name the file."""
    from chainrule.training.checkpoint import read_checkpoint
    path = tmp_path / "run.npz"
    meta = ("[" * 200_000 + "]" * 200_000).encode()
    np.savez(path, meta=np.frombuffer(meta, dtype=np.uint8))
    with pytest.raises(ValueError, match=f"{path} has a damaged checkpoint header: is nested more than 256 levels"):
        read_checkpoint(path)
