"""The README's command-line block gives a good result as printed (issue 14.4): each line that
trains is run word for word in an empty folder and its accuracy checked; evaluate and predict
then run on what the first line wrote. (The xor line: tests/cli/test_options.py; mnist and
cifar10 need downloads, which tests never make.) Each comment of the block that states a result
is checked on its line (issue 22.2); the lines that run for many seconds (the demos, gradcheck,
30 epochs of the CNN) are slow tests. tests/docs/test_guide_commands.py checks that the guide's
command-line page shows this same block."""
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

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


# Each comment of the block that states a result, checked on the line it comments (issue 22.2).
# The lines that train or run a demo for seconds are in the slow tests below.

def _comment(prefix: str) -> str:
    lines = [ln for ln in _block() if ln.startswith(prefix)]
    assert len(lines) == 1, prefix
    return lines[0].split("#", 1)[1].strip()


def _run_line(prefix: str, capsys, exact: bool = False) -> str:
    capsys.readouterr()
    assert main(_command(prefix, exact)[1:]) == 0
    return capsys.readouterr().out


def test_the_first_line_trains_what_its_comment_says(tmp_path, monkeypatch):
    assert _comment("chainrule train  ") == "digits, MLP (256, 128), pictures in runs/digits-mlp"
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--quiet", "--epochs", "2"]) == 0        # the line's defaults, two epochs
    config = json.loads((tmp_path / "runs" / "digits-mlp" / "config.json").read_text())
    assert config["settings"]["dataset"] == "digits" and config["settings"]["model"] == "mlp"
    assert config["settings"]["hidden"] == [256, 128]
    assert {"curves.png", "confusion.png", "mistakes.png"} <= {p.name for p in (tmp_path / "runs" / "digits-mlp").iterdir()}


def test_evaluate_and_predict_do_what_their_comments_say(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--quiet", "--epochs", "2"]) == 0
    assert _comment("chainrule evaluate") == "accuracy and confusion matrix on the test set"
    out = _run_line("chainrule evaluate", capsys)
    assert "digits test set: 360 samples, accuracy 0." in out and "confusion matrix" in out
    assert len([ln for ln in out.splitlines() if re.match(r"\s+\d\s+(\d+\s+){9}\d+$", ln)]) == 10
    assert _comment("chainrule predict") == "a run folder or a model file; .npy arrays or images"
    code = shlex.split([ln for ln in _block() if ln.startswith("python -c")][0])[2]
    exec(code, {})
    by_folder = _run_line("chainrule predict", capsys)
    assert main(["predict", "runs/digits-mlp/model.safetensors", "runs/samples.npy"]) == 0   # a model file
    assert capsys.readouterr().out == by_folder
    from PIL import Image
    image = np.load("runs/samples.npy")[0]                                          # an image: a PNG of the first
    Image.fromarray(np.round(image * 255 / 16).astype(np.uint8)).save("digit.png")   # sample, 8-bit
    assert main(["predict", "runs/digits-mlp", "digit.png"]) == 0
    assert capsys.readouterr().out.startswith("digit.png: ")


EXPLAIN = {   # README line -> what its comment says, as the command prints it
    "chainrule explain softmax": ["exp(s)", "normalise p", "loss L = -ln p_0", "2.04", "the notes print 0.89",
                                  "base-10"],
    "chainrule explain hinge": ["image 1 (cat)", "image 2 (car)", "image 3 (frog)", "max(0, 2.9)", "L = (2.9 + 0.0 + 12.9) / 3"],
    "chainrule explain cross-entropy": ["cross-entropy: L =", "dL/dp_j = -1/p_y at the label, +1/(1 - p_j) elsewhere",
                                        "drops that sign"],
    "chainrule explain l1": ["L1 regression loss", "dL/ds = sign(s - y)"],
    "chainrule explain chain-rule": ["f'(x) = g'(h(x)) h'(x) = 320", "48x^3 - 32x = 320"],
    "chainrule explain jacobian": ["at (2, 1)", "[[2, 2], [-4, 3], [4, 8]]"],
    "chainrule explain backprop": ["dL/dp", "dL/ds = ", "dL/dW = ", "dL/db = "],
}


@pytest.mark.parametrize("prefix", sorted(EXPLAIN))
def test_explain_lines_print_what_their_comments_say(prefix, capsys):
    out = _run_line(prefix, capsys)
    for expected in EXPLAIN[prefix]:
        assert expected in out, (expected, out)


def test_the_also_commands_named_in_comments_work(capsys):
    assert _comment("chainrule explain l1") == "also: l2"
    assert main(["explain", "l2"]) == 0 and "L2 regression loss" in capsys.readouterr().out
    assert _comment("chainrule explain jacobian") == "also: hessian --at 0,1"
    assert main(["explain", "hessian", "--at", "0,1"]) == 0
    assert "[[8, 1], [1, 40]]" in capsys.readouterr().out


def test_data_lists_each_data_set_and_whether_it_is_verified(tmp_path):
    """Run as its own process: ``datasets.__main__.info`` binds ``sys.stdout`` as a default argument
    when first imported, so in a test process it may hold another test's closed capture."""
    import os
    import subprocess
    import sys
    assert _comment("chainrule data") == "where each data set is cached, verified or not"
    words = _command("chainrule data", exact=True)
    done = subprocess.run([sys.executable, "-m", "chainrule", *words[1:]], capture_output=True, text=True,
                          env=dict(os.environ, CHAINRULE_DATA=str(tmp_path)), timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"data home: {tmp_path}" in out
    for name in ("digits", "mnist", "cifar10"):
        assert re.search(rf"^{name}\b", out, flags=re.M), name
    assert "missing" in out


@pytest.mark.slow
def test_demo_and_gradcheck_lines_do_what_their_comments_say(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = _run_line("chainrule demo overfitting", capsys)          # orders 1, 2, 3, 4, 12: picture and error table
    orders = [int(ln.split()[0]) for ln in out.splitlines() if re.match(r"\s+\d+\s+\d", ln)]
    assert orders == [1, 2, 3, 4, 12] and (tmp_path / "runs" / "demo-overfitting" / "overfitting.png").is_file()
    out = _run_line("chainrule demo features", capsys)             # XOR before and after the notes' transform
    assert "before 0.5" in out and "after 0.9" in out and "x' = x / (2 x1 x2 + 0.5)" in out
    out = _run_line("chainrule gradcheck", capsys)                 # every module, loss and penalty, one table
    summary = out.strip().splitlines()[-1]
    n = int(summary.split()[0])
    assert summary.startswith(f"{n} of {n} pass") and "penalty" in out and "Loss" in out and "Conv2d" in out
    out = _run_line("chainrule demo handcrafted", capsys)          # HOG + k-NN, SVM, forest against an MLP and a CNN
    for method in ("HOG + nearest neighbour", "HOG + linear SVM", "HOG + random forest", "raw pixels + CNN"):
        assert method in out, method


@pytest.mark.slow
def test_cnn_line_as_printed(tmp_path, monkeypatch):
    """'the lenet CNN; filters and feature maps' (30 epochs on the digits)."""
    words = _command("chainrule train --model cnn")
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--quiet"]) == 0
    run = tmp_path / "runs" / "digits-cnn"
    assert {"filters.png", "feature_maps.png"} <= {p.name for p in run.iterdir()}
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["model"] == "cnn" and _metrics(run)["test_accuracy"] >= 0.97


def test_the_cifar10_hog_line_builds_hog_and_hue_features():
    """'HOG + hue histogram features': the preprocessing that line asks for on colour images (CIFAR-10
    itself needs a download, which tests never make; a stand-in split has its shape)."""
    from types import SimpleNamespace

    from chainrule.cli import build_parser, train
    assert _comment("chainrule train --dataset cifar10 --features hog") == "HOG + hue histogram features"
    args = build_parser().parse_args(_command("chainrule train --dataset cifar10 --features hog")[1:])
    split = SimpleNamespace(kind="image", image_shape=(32, 32, 3), pixel_max=255)
    steps = dict(train._steps(args, split))
    assert steps["hog"].hue_bins > 0 and steps["hog"].orientations > 0
