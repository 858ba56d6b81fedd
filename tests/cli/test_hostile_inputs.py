"""Issue 19.1 and 19.5 through the commands: every file a command opens on a user's or a file's say-so
(a run's config.json, the arrays and images given to predict, a sweep's manifest) is refused by
name when it is a FIFO, a device or a link to one, larger than its cap, nested too deeply or holding
an absurd number; each answer is one line, within 4 x the file's size + 64 MB, in seconds. The
commands run in one child, each under RLIMIT_AS and all under a timeout (``limited.py``): the
``answers`` fixture builds every hostile case and runs them together; each test reads its answer."""
import io
import json
import os
import shutil

import numpy as np
import pytest
from limited import MB, budget_for, run_limited

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")


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
CONFIG_CASES = [(kind, "predict") for kind in HOSTILE_CONFIGS] + [("fifo", "evaluate"), ("dev-zero", "evaluate")]


def _npy_header(shape) -> bytes:
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return head.getvalue()


@pytest.fixture(scope="module")
def answers(files, tmp_path_factory):
    """Every hostile case, built, then answered by the commands in one limited child."""
    root = tmp_path_factory.mktemp("hostile-inputs")
    cases, named = [], {}

    def add(name, argv, budget, env=None):
        named[name] = len(cases)
        cases.append((argv, budget, env or {}))

    for kind, command in CONFIG_CASES:
        run = root / f"{kind}-{command}"
        shutil.copytree(files["run"], run)
        config = run / "config.json"
        config.unlink()
        make = HOSTILE_CONFIGS[kind][0]
        if kind == "fifo":
            os.mkfifo(config)
        elif kind == "dev-zero":
            config.symlink_to("/dev/zero")
        else:
            config.write_text(make())
        add(("config", kind, command), [command, run] + ([files["npy"]] if command == "predict" else []),
            budget_for(config))
    raised = root / "raised"                                        # a genuine config.json above the cap
    shutil.copytree(files["run"], raised)
    good = json.loads((raised / "config.json").read_text())
    (raised / "config.json").write_text(json.dumps({**good, "pad": "x" * (2 * MB)}))
    add("raised", ["predict", raised, files["npy"]], 256 * MB, {"CHAINRULE_MAX_CONFIG_BYTES": str(4 * MB)})
    huge = root / "huge.npy"                                        # the audit's 10^9 x 64 float64 header
    huge.write_bytes(_npy_header((10**9, 64)) + bytes(64 * 8))
    add("huge", ["predict", files["run"], huge], budget_for(huge))
    short = root / "short.npy"                                      # a header larger than the file
    short.write_bytes(_npy_header((10**6, 64)) + bytes(64 * 8))
    add("short", ["predict", files["run"], short], budget_for(short))
    for kind in ("fifo", "dev-zero"):
        path = root / f"{kind}-input.npy"
        os.mkfifo(path) if kind == "fifo" else path.symlink_to("/dev/zero")
        add(("input", kind), ["predict", files["run"], path], 64 * MB)
    sweep = root / "sweep"
    (sweep / "journal").mkdir(parents=True)
    os.mkfifo(sweep / "sweep.json")
    add("sweep", ["sweep", "--param", "alpha=1e-4", "--cv", "2", "--max-samples", "60", "--n-jobs", "1", "--quiet",
                  "--resume", "--out", sweep], 64 * MB)
    got = run_limited(cases)
    return {name: (cases[i][0], got[i]) for name, i in named.items()}


def _one_line(result, code):
    assert result["code"] == code, result
    lines = result["err"].strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result["err"] and "internal error" not in result["err"], result
    return lines[0]


@pytest.mark.parametrize("kind, command", CONFIG_CASES)
def test_a_hostile_config_json_is_one_line_naming_it(answers, kind, command):
    argv, result = answers[("config", kind, command)]
    line = _one_line(result, 1)
    config = argv[1] / "config.json"
    assert line.startswith(f"chainrule {command}: {config}") and HOSTILE_CONFIGS[kind][1] in line, line


def test_a_config_cap_is_raised_by_its_environment_variable(answers):
    _, result = answers["raised"]
    assert result["code"] == 0 and len(result["out"].splitlines()) == 4, result


def test_predict_refuses_a_huge_npy_header_by_its_cap_naming_the_file(answers):
    """The audit's case: a header claiming 10^9 x 64 float64 said 'not enough memory ... try smaller --hidden'."""
    argv, result = answers["huge"]
    assert _one_line(result, 1) == (
        f"chainrule predict: {argv[2]} is refused: must hold at most 1,073,741,824 bytes of data; its header declares "
        "(1000000000, 64) of float64, 512,000,000,000 bytes (refused before reading) (if the file is genuine, raise "
        "the limit with --max-input-mb or CHAINRULE_MAX_ARRAY_BYTES)")


def test_predict_refuses_an_npy_whose_header_declares_more_than_the_file_holds(answers):
    argv, result = answers["short"]
    line = _one_line(result, 1)
    assert f"{argv[2]} is refused: declares (1000000, 64) of float64" in line and "truncated or damaged?" in line


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_a_device_given_as_input_is_named_not_called_a_folder(answers, kind):
    argv, result = answers[("input", kind)]
    line = _one_line(result, 2)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    assert f"expected a regular file; got '{argv[2]}', which is {what}" in line and "folder" not in line, line


def test_a_hostile_sweep_manifest_is_refused_by_resume_without_hanging(answers):
    argv, result = answers["sweep"]
    line = _one_line(result, 2)
    assert f"{argv[-1] / 'sweep.json'} is not a readable sweep manifest: must be a regular file; got a FIFO" in line


def test_max_input_mb_sets_the_cap_of_predict_inputs(tmp_path, files):
    from chainrule.cli import main
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((4000, 8, 8)))                               # 2 MB of float64
    assert main(["predict", str(files["run"]), str(big), "--max-input-mb", "1"]) == 1
    assert main(["predict", str(files["run"]), str(big), "--max-input-mb", "3"]) == 0


def test_a_checkpoint_with_a_deeply_nested_header_is_one_error_naming_it(tmp_path):
    """read_checkpoint raised a bare RecursionError that did not name the file."""
    from chainrule.training.checkpoint import read_checkpoint
    path = tmp_path / "run.npz"
    meta = ("[" * 200_000 + "]" * 200_000).encode()
    np.savez(path, meta=np.frombuffer(meta, dtype=np.uint8))
    with pytest.raises(ValueError, match=f"{path} has a damaged checkpoint header: is nested more than 256 levels"):
        read_checkpoint(path)
