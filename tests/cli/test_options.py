"""What the options do: defaults shown in --help, --max-norm, --threads, absolute data folders,
model files given to predict, log-domain softmax, and the README's commands as printed."""
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chainrule.cli import build_parser, main, train
from chainrule.cli._parser import given_options, show

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(parser, words=()):
    subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not subs and words:
        yield list(words), parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _commands(child, (*words, name))


def test_help_of_every_command_shows_every_default(capsys):
    commands = list(_commands(build_parser()))
    assert len(commands) >= 17
    for words, parser in commands:
        assert main([*words, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())          # undo the line wrapping
        for action in parser._actions:
            if action.dest == "help" or action.nargs == 0 or action.required:   # --help, flags, required
                continue
            assert action.help, (words, action.dest)
            if action.default is None:                             # no value: the help says what happens instead
                assert "default" in action.help.lower(), (words, action.dest)
            else:
                assert f"default: {show(action.default)}" in text, (words, action.dest, text)


def test_max_norm_bounds_every_unit_and_is_recorded(tmp_path):
    assert main(["train", "--dataset", "blobs", "--model", "linear", "--penalty", "maxnorm", "--max-norm", "0.5",
                 "--lr", "0.2", "--epochs", "3", "--quiet", "--out", str(tmp_path)]) == 0
    from chainrule import io
    model = io.load(tmp_path / "model.safetensors")
    W = model.coef_ if hasattr(model, "coef_") else model.steps[-1][1].coef_
    norms = np.sqrt((W.astype(np.float64) ** 2).sum(axis=1))
    assert norms.max() <= 0.5 + 1e-5 and norms.max() > 0.45             # reached the bound, never past it
    assert json.loads((tmp_path / "config.json").read_text())["settings"]["max_norm"] == 0.5


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_limit_blas_during_training(threads, tmp_path, monkeypatch):
    from threadpoolctl import threadpool_info
    if not any(p["user_api"] == "blas" for p in threadpool_info()):
        pytest.skip("NumPy reports no BLAS thread pool")
    seen = []
    fit = train._fit

    def spy(*args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return fit(*args, **kwargs)

    monkeypatch.setattr(train, "_fit", spy)
    assert main(["train", "--dataset", "blobs", "--epochs", "1", "--threads", str(threads), "--quiet",
                 "--out", str(tmp_path)]) == 0
    assert seen and set(seen) == {threads}
    assert train.DEFAULT_THREADS == build_parser()._subparsers._group_actions[0].choices["train"].get_default("threads")


def test_relative_data_dir_is_stored_absolute_so_evaluate_works_from_elsewhere(mnist_dir, tmp_path, monkeypatch, capsys):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "mnist-files").mkdir(parents=True)
    elsewhere.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, work / "mnist-files" / name)
    monkeypatch.chdir(work)
    assert main(["train", "--dataset", "mnist10k", "--data-dir", "mnist-files", "--no-download", "--model", "linear",
                 "--epochs", "1", "--quiet", "--out", "run"]) == 0
    settings = json.loads((work / "run" / "config.json").read_text())["settings"]
    assert settings["data_dir"] == str((work / "mnist-files").resolve())
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    # the folder a config.json records is never used on its say-so (issue 19.2); the user names it
    assert main(["evaluate", str(work / "run"), "--no-download", "--data-dir", settings["data_dir"]]) == 0
    captured = capsys.readouterr()
    assert "mnist10k test set: 2,000 samples" in captured.out and "is not used" not in captured.err


def test_predict_takes_a_model_file_as_well_as_a_run_folder(files, tmp_path, capsys):
    from chainrule.datasets import load_digits
    digit = load_digits().X_test[5]
    Image.fromarray((255 - digit * 15).astype(np.uint8)).resize((64, 64)).save(tmp_path / "digit.png")
    outputs = []
    for run in (files["run"], files["model_file"], files["lone_model"]):     # folder; its model; a model alone
        assert main(["predict", str(run), str(files["npy"]), str(tmp_path / "digit.png")]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    lines = outputs[0].splitlines()
    assert len(lines) == 5 and lines[0].startswith("four.npy[0]: ") and lines[4].startswith("digit.png: ")


def test_softmax_loss_is_computed_in_the_log_domain(capsys):
    assert main(["explain", "softmax", "10", "0", "-800", "--label", "2"]) == 0      # RuntimeWarnings are errors
    out = capsys.readouterr().out
    assert "(810.0000)" in out and "nan" not in out and "inf" not in out
    assert main(["explain", "softmax", "900", "0", "--label", "1"]) == 0             # e^900 overflows: shifted
    out = capsys.readouterr().out
    assert "(900.0000)" in out and "exp(s - 900)" in out
    assert main(["explain", "softmax", "1e3", "-1e3", "0", "--label", "1"]) == 0     # '-1e3' is a score, not an option
    assert "(2000.0000)" in capsys.readouterr().out


def test_default_learning_rate_depends_on_model_and_data():
    assert train.default_lr("adam", "mlp", "digits") == 0.002
    assert train.default_lr("adam", "linear", "digits") == train.default_lr("adam", "mlp", "xor") == 0.02
    assert train.default_lr("sgd", "linear", "xor") == 0.05


def _readme_commands() -> list:
    section = README.read_text().split("## The command line")[1].split("\n## ")[0]
    block = section.split("```sh\n")[1].split("```")[0].replace("\\\n", " ")
    return [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.startswith("chainrule ")]


def test_every_readme_command_parses_and_passes_the_checks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "digits-mlp").mkdir(parents=True)
    (tmp_path / "runs" / "samples.npy").write_bytes(b"")     # the README writes it under runs/
    (tmp_path / "digit.png").write_bytes(b"")
    commands = _readme_commands()
    assert len(commands) >= 20
    parser = build_parser()
    for words in commands:
        args = parser.parse_args(words[1:])
        args.given = given_options(parser, words[1:])
        if args.command == "train":
            train.check(args)                    # no README command is refused as ignoring an option


def test_readme_xor_quadratic_classifier_works_as_printed(tmp_path, monkeypatch):
    printed = [w for w in _readme_commands() if w[1:3] == ["train", "--dataset"] and "xor" in w]
    assert printed == [["chainrule", "train", "--dataset", "xor", "--features", "poly2", "--model", "linear"]]
    monkeypatch.chdir(tmp_path)
    assert main(printed[0][1:]) == 0
    metrics = json.loads((tmp_path / "runs" / "xor-linear" / "config.json").read_text())["metrics"]
    assert metrics["test_accuracy"] >= 0.95


def test_readme_states_the_measured_thread_default():
    section = README.read_text().split("## The command line")[1].split("\n## ")[0]
    assert re.search(r"--threads", section) and f"default {train.DEFAULT_THREADS}" in section


def test_default_output_folder_is_checked_like_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("a file where the runs folder would go")
    assert main(["train", "--dataset", "xor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule train: error: --out (default runs/xor-mlp): expected a folder") and "\n" not in err
