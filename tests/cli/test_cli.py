"""The command line, driven through main(argv) and once through the installed console script."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chainrule import losses, nn, regularizers
from chainrule.cli import build_parser, main

BLUE = (0x1F, 0x77, 0xB4)    # training curves
RED = (0xD6, 0x27, 0x28)     # validation curves


def png(path: Path, min_size=(300, 200)):
    """Open a PNG, check it is one and has a plausible size; return RGB pixels."""
    assert path.exists(), path
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
        assert min_size[0] <= w <= 4000 and min_size[1] <= h <= 4000, (path, im.size)
        return np.asarray(im.convert("RGB")).astype(int)


def has_colour(pixels, rgb, tol=12, at_least=20):
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tol).sum()) >= at_least


def non_white(pixels):
    return float((pixels.min(axis=2) < 240).mean())


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp")
    assert main(["train", "--epochs", "4", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("linear")
    assert main(["train", "--model", "linear", "--epochs", "5", "--quiet", "--out", str(out)]) == 0
    return out


def test_train_writes_model_config_history_and_pictures(mlp_run, capsys):
    for name in ("model.safetensors", "config.json", "history.json", "curves.png", "confusion.png", "mistakes.png"):
        assert (mlp_run / name).exists(), name
    assert not (mlp_run / "templates.png").exists()            # only for linear models
    config = json.loads((mlp_run / "config.json").read_text())
    assert config["settings"]["model"] == "mlp" and config["dataset"]["name"] == "digits"
    assert config["metrics"]["test_accuracy"] > 0.85 and config["metrics"]["epochs"] == 4
    history = json.loads((mlp_run / "history.json").read_text())
    assert len(history["records"]) == 4 and "val_accuracy" in history["records"][0]
    curves = png(mlp_run / "curves.png")
    assert has_colour(curves, BLUE) and has_colour(curves, RED)    # training and validation lines
    confusion = png(mlp_run / "confusion.png")
    assert (confusion.sum(axis=2) < 200).sum() > 500               # dark cells: the diagonal of counts
    mistakes = png(mlp_run / "mistakes.png", min_size=(150, 100))
    assert non_white(mistakes) > 0.05


def test_linear_run_has_templates_with_one_panel_per_class(linear_run):
    templates = png(linear_run / "templates.png")
    # ten panels laid out 5 x 2 left of the colour bar: each of the 10 cells of that grid holds an image
    # in red (positive weights) and blue (negative)
    h, w, _ = templates.shape
    body = templates[int(0.12 * h):, :int(0.9 * w)]
    ink = body.min(axis=2) < 235
    red = (body[..., 0] - body[..., 2]) > 40
    blue = (body[..., 2] - body[..., 0]) > 40
    bh, bw = body.shape[0] // 2, body.shape[1] // 5
    cells = [(r * bh, c * bw) for r in range(2) for c in range(5)]
    assert min(ink[i:i + bh, j:j + bw].mean() for i, j in cells) > 0.2
    assert all(red[i:i + bh, j:j + bw].any() and blue[i:i + bh, j:j + bw].any() for i, j in cells)


def test_points_dataset_draws_the_decision_boundary(tmp_path):
    assert main(["train", "--dataset", "xor", "--features", "poly2", "--model", "linear", "--epochs", "20",
                 "--quiet", "--out", str(tmp_path)]) == 0
    boundary = png(tmp_path / "boundary.png")
    # two tinted regions (blue and red at alpha 0.25 over white) and the points themselves
    tint_blue = (0xC7, 0xDD, 0xEC)
    tint_red = (0xF5, 0xC9, 0xC9)
    assert has_colour(boundary, tint_blue, tol=10, at_least=2000) and has_colour(boundary, tint_red, tol=10, at_least=2000)
    assert not (tmp_path / "mistakes.png").exists()


def test_evaluate_and_predict(mlp_run, tmp_path, capsys):
    assert main(["evaluate", str(mlp_run)]) == 0
    out = capsys.readouterr().out
    assert "digits test set: 360 samples, accuracy" in out and "confusion matrix" in out
    from chainrule.datasets import load_digits
    d = load_digits()
    np.save(tmp_path / "four.npy", d.X_test[:4])
    img = Image.fromarray((255 - d.X_test[5] * 15).astype(np.uint8)).resize((64, 64))  # dark on light, larger
    img.save(tmp_path / "digit.png")
    assert main(["predict", str(mlp_run), str(tmp_path / "four.npy"), str(tmp_path / "digit.png")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("four.npy[0]: ") and lines[4].startswith("digit.png: ")
    predicted = [ln.split(": ")[1].split()[0] for ln in lines[:4]]
    assert sum(p == str(t) for p, t in zip(predicted, d.y_test[:4])) >= 3


def test_model_file_is_the_pipeline_with_its_preprocessing(mlp_run):
    from chainrule import io
    from chainrule.datasets import load_digits
    model = io.load(mlp_run / "model.safetensors")
    d = load_digits()
    acc = json.loads((mlp_run / "config.json").read_text())["metrics"]["test_accuracy"]
    assert float(np.mean(model.predict(d.X_test) == d.y_test)) == pytest.approx(acc)   # raw uint8 images in


def test_explain_softmax_prints_the_notes_numbers(capsys):
    assert main(["explain", "softmax", "3.2", "5.1", "-1.7", "--label", "0"]) == 0
    out = capsys.readouterr().out
    for value in ("24.5", "164.0", "0.18", "0.13", "0.87", "0.00", "2.04", "0.89"):
        assert value in out, value
    assert "base-10" in out and "the notes print 0.89 here" in out


def test_explain_softmax_does_not_quote_the_notes_for_other_scores(capsys):
    assert main(["explain", "softmax", "10", "0", "-800", "--label", "2"]) == 0
    note = [ln for ln in capsys.readouterr().out.splitlines() if "note:" in ln][0]
    assert "the notes print" not in note and "-log10 p_2 = 351.78" in note and "0.89 for its cat" in note


@pytest.mark.parametrize("argv,expected", [
    (["explain", "hinge"], ["= 2.9", "= 0.0", "= 12.9", "5.27", "max(0, 5.1 - 3.2 + 1)"]),
    (["explain", "cross-entropy"], ["0.3567", "0.6852", "drops that sign", "1.1111"]),
    (["explain", "l1"], ["= 0.6000"]),
    (["explain", "l2"], ["= 0.1400", "no 1/2"]),
    (["explain", "chain-rule", "--x", "2"], ["f'(x) = g'(h(x)) h'(x) = 320", "48x^3 - 32x = 320"]),
    (["explain", "jacobian"], ["[[2, 2], [-4, 3], [4, 8]]"]),
    (["explain", "hessian"], ["[[8, 1], [1, 40]]", "8.0000", "40.0000"]),
    (["explain", "backprop"], ["dL/dW = dL/ds x^T", "dL/db = dL/ds", "largest relative error"]),
    (["explain", "backprop", "--activation", "sigmoid", "--loss", "l2"], ["diag(p (1 - p))"]),
])
def test_every_explanation(argv, expected, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    for e in expected:
        assert e in out, (e, out)


def test_backprop_explanation_gradients_pass_the_check(capsys):
    main(["explain", "backprop"])
    line = [ln for ln in capsys.readouterr().out.splitlines() if "largest relative error" in ln][0]
    assert float(line.split()[-1]) < 1e-6


@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_demos(tmp_path, capsys):
    assert main(["demo", "overfitting", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "lowest test error: order 3" in out or "lowest test error: order 4" in out
    assert png(tmp_path / "o" / "overfitting.png", (800, 200)).shape[1] > 1000     # five panels, three to a row
    assert main(["demo", "features", "--out", str(tmp_path / "f")]) == 0
    out = capsys.readouterr().out
    assert "d = (1, 1) -> (0.4, 0.4)" in out and "after 0.9" in out
    assert non_white(png(tmp_path / "f" / "features.png")) > 0.3
    assert main(["demo", "handcrafted", "--out", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert out.count("HOG + nearest neighbour (k=3)") == 1 and out.count("raw pixels + CNN (lenet)") == 1  # once
    assert out.count("test accuracy") == 1                       # one table: its header, then a row per method
    table = (tmp_path / "h" / "handcrafted.md").read_text()
    for method in ("HOG + nearest neighbour", "HOG + linear SVM", "HOG + random forest", "raw pixels + network",
                   "raw pixels + CNN"):
        assert method in table, method
    results = json.loads((tmp_path / "h" / "handcrafted.json").read_text())["results"]
    assert len(results) == 8 and all(r["test_accuracy"] > 0.9 for r in results)
    assert [r["features"] for r in results][-2:] == ["learned", "learned"]
    assert png(tmp_path / "h" / "handcrafted.png", (900, 300)).shape[1] > 1000


def _gradcheck_rows(out):
    """{piece: (largest relative error, verdict)} of the gradcheck table, and its summary line."""
    lines = out.strip().splitlines()
    rows = {}
    for line in lines[1:-1]:
        *_, err, verdict = line.split()
        rows[line[:38].strip()] = (float(err), verdict)
    return rows, lines[-1]


def test_gradcheck_names_what_it_checked_in_whole_words():
    from chainrule.cli.gradcheck import fit_names
    names = ["input", "block.0.weight", "block.0.bias", "block.1.weight", "block.1.bias", "shortcut.weight"]
    assert fit_names(names) == "input, block.0.weight, + 4 more"
    assert fit_names(names[:2]) == "input, block.0.weight"
    assert all(len(fit_names(names[:k], w)) <= w for k in range(7) for w in (10, 20, 42))


def test_gradcheck_command_checks_every_differentiable_piece_of_the_library(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    for line in out.strip().splitlines()[1:-1]:                  # the checked column: whole names only
        for item in line[38:82].strip().split(", "):
            assert re.fullmatch(r"input|W|[\w.]*(weight|bias)|\+ \d+ more", item), (item, line)
    rows, summary = _gradcheck_rows(out)
    assert all(v == "ok" and err < 1e-6 for err, v in rows.values()), rows
    assert summary.startswith(f"{len(rows)} of {len(rows)} pass")
    # every module, loss and penalty the library exports has a row (Identity has no derivative to check)
    pieces = [n for n in nn.__all__ if n not in ("Parameter", "Module", "Sequential", "Identity")]
    pieces += [n for n in losses.__all__ if isinstance(getattr(losses, n), type) and n != "Loss"]
    penalties = [n for n in regularizers.__all__ if isinstance(getattr(regularizers, n), type)
                 and issubclass(getattr(regularizers, n), regularizers.Penalty) and n != "Penalty"]
    pieces += [f"{n} penalty" for n in penalties]
    assert [p for p in pieces if p not in rows and f"{p}(train)" not in rows] == []
    assert {"BatchNorm1d(train)", "BatchNorm1d(eval)", "Dropout(train)", "Dropout(eval)"} <= set(rows)


def test_gradcheck_command_reports_a_wrong_gradient(capsys, monkeypatch):
    monkeypatch.setattr(nn.Tanh, "_backward", staticmethod(lambda g, y: g * (1.0 - y)))   # not 1 - y^2
    assert main(["gradcheck"]) == 1
    rows, summary = _gradcheck_rows(capsys.readouterr().out)
    assert rows["Tanh"][1] == "FAILED" and rows["Tanh"][0] > 1e-3
    assert rows["Sigmoid"][1] == "ok"
    failed = sum(v == "FAILED" for _, v in rows.values())
    assert failed >= 1 and summary.startswith(f"{len(rows) - failed} of {len(rows)} pass")


def _commands(parser):
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        yield [name], p
        nested = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        for action in nested:
            for child in action.choices:
                yield [name, child], action.choices[child]


def test_help_works_for_every_command(capsys):
    commands = list(_commands(build_parser()))
    assert len(commands) >= 18
    assert main(["--help"]) == 0
    for argv, _ in commands:
        assert main(argv + ["--help"]) == 0, argv
        assert "usage: chainrule" in capsys.readouterr().out


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1 and <= 100000; got '0'"),
    (["train", "--dataset", "imagenet"], "argument --dataset: invalid choice"),
    (["train", "--hidden", "512,x"], "expected layer sizes like 512,256"),
    (["train", "--dropout", "1.5"], "argument --dropout: expected a finite number >= 0 and < 1; got '1.5'"),
    (["explain", "softmax", "3.2", "abc"], "argument scores: expected a finite number"),
    (["frobnicate"], "invalid choice"),
    (["train", "--features", "hog", "--dataset", "xor"], "--features hog needs images"),
    (["explain", "softmax", "1", "2", "--label", "5"], "--label must be a class index in [0, 2); got 5"),
])
def test_bad_arguments_exit_2_with_one_line(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "Traceback" not in err


def test_missing_dataset_names_files_and_folder(tmp_path, capsys):
    empty = tmp_path / "nothing-here"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(empty), "--no-download", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"Place these files in {empty}" in err and "train-images-idx3-ubyte.gz" in err
    assert "t10k-labels-idx1-ubyte.gz" in err and "Traceback" not in err


def test_broken_model_file_is_reported_without_traceback(mlp_run, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(mlp_run, broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert main(["evaluate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "is not a valid model file (truncated or damaged?)" in err and "Traceback" not in err


def test_mnist10k_and_hog_through_the_cli(mnist_dir, tmp_path, capsys):
    assert main(["train", "--dataset", "mnist10k", "--data-dir", str(mnist_dir), "--no-download", "--model", "linear",
                 "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "128", "--epochs", "3", "--quiet",
                 "--out", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["dataset"]["n_test"] == 2000 and config["metrics"]["test_accuracy"] > 0.88
    assert png(tmp_path / "templates.png").shape[0] > 300


def test_installed_console_script_runs_in_a_subprocess(tmp_path):
    exe = shutil.which("chainrule", path=os.path.dirname(sys.executable)) or shutil.which("chainrule")
    assert exe, "the chainrule console script is not installed"
    result = subprocess.run([exe, "explain", "softmax", "3.2", "5.1", "-1.7", "--label", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "2.04" in result.stdout
    bad = subprocess.run([exe, "train", "--epochs", "-3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    train = subprocess.run([exe, "train", "--dataset", "blobs", "--epochs", "3", "--out", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    assert "epoch 1/3" in train.stderr                     # not a terminal: one progress line per epoch
    assert f"pictures in {tmp_path}/" in train.stdout
