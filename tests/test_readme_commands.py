"""The README's command-line block gives a good result as printed (issue 14.4): each line that
trains is run word for word in an empty folder and its accuracy checked; evaluate and predict
then run on what the first line wrote. (The xor line: tests/cli/test_options.py; mnist and
cifar10 need downloads, which tests never make.)"""
import json
import shlex
from pathlib import Path

from chainrule.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _block() -> list[str]:
    section = README.read_text().split("## The command line")[1].split("\n## ")[0]
    return section.split("```sh\n")[1].split("```")[0].replace("\\\n", " ").splitlines()


def _command(prefix: str, exact: bool = False) -> list[str]:
    """The words of the one line of the block that starts with ``prefix`` (``exact``: that is all of it)."""
    lines = [shlex.split(ln.split("#")[0]) for ln in _block() if ln.startswith("chainrule ")]
    lines = [w for w in lines if (w == prefix.split() if exact else " ".join(w).startswith(prefix))]
    assert len(lines) == 1, f"the README's command block should have one line {prefix!r}"
    return lines[0]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())["metrics"]


def test_default_train_then_evaluate_and_predict_as_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _command("chainrule train", exact=True) == ["chainrule", "train"]
    assert main(["train", "--quiet"]) == 0          # --quiet only silences the progress bar
    assert _metrics(tmp_path / "runs" / "digits-mlp")["test_accuracy"] >= 0.97
    assert main(_command("chainrule evaluate")[1:]) == 0
    assert "accuracy 0.9" in capsys.readouterr().out
    make_samples = [ln for ln in _block() if ln.startswith("python -c")]
    assert len(make_samples) == 1
    python, option, code = shlex.split(make_samples[0])
    assert (python, option) == ("python", "-c")
    exec(code, {})                                 # as `python -c` would, in the run's folder
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]    # nothing left beside runs/ (it was samples.npy)
    assert main(_command("chainrule predict")[1:]) == 0
    predicted = [int(ln.split(":")[1].split()[0]) for ln in capsys.readouterr().out.splitlines()]
    assert predicted == [9, 0, 8, 9, 8]            # the last five digits' labels


def test_hinge_line_as_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    words = _command("chainrule train --model linear --loss hinge")
    assert main([*words[1:], "--quiet"]) == 0
    assert _metrics(tmp_path / "runs" / "svm")["test_accuracy"] >= 0.95


def test_mnist10k_line_as_printed(mnist_dir, tmp_path, monkeypatch):
    words = _command("chainrule train --dataset mnist10k")
    words[words.index("--data-dir") + 1] = str(mnist_dir)    # the README's path is relative to the checkout
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert _metrics(tmp_path / "run")["test_accuracy"] >= 0.9
