"""Issue 19.5 on the command line: values that cannot work are refused up front, in one line (exit 2),
and images are read by their own bit depth."""
import os

import numpy as np
import pytest
from PIL import Image

from chainrule.cli import main


@pytest.mark.parametrize("patience, epochs, fix", [
    (50, 2, "give --epochs 52 or more"), (3, 4, "give --epochs 5 or more, or --early-stopping 2 or less"),
])
def test_early_stopping_that_can_never_act_is_refused(patience, epochs, fix, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--early-stopping", str(patience), "--epochs", str(epochs), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"chainrule train: error: --early-stopping {patience} can never act within --epochs {epochs}: a run "
                   f"stops after more than {patience} epochs in a row without improvement, so after epoch "
                   f"{patience + 2} at the earliest (the first sets the best score); {fix}")
    assert not out.exists() and not out.with_name("run.partial").exists()


def test_early_stopping_that_can_act_is_accepted(tmp_path, capsys):
    assert main(["train", "--early-stopping", "1", "--epochs", "3", "--quiet", "--out", str(tmp_path / "r")]) == 0


def test_export_to_a_path_under_a_file_says_so(files, tmp_path, capsys):
    plain = tmp_path / "plain.txt"
    plain.write_text("a file")
    assert main(["export", "--onnx", str(files["run"]), "--out", str(plain / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"argument --out: expected a file to write; got '{plain / 'm.onnx'}', but '{plain}' is a file, not a " \
           "folder" in err and "File exists" not in err and len(err.splitlines()) == 1


def test_export_of_a_model_onnx_cannot_hold_exits_1_with_one_line(tmp_path, capsys):
    """Issue 19.7: `chainrule export` of an unsupported model exited 0 in a planted bug, unnoticed."""
    pytest.importorskip("onnx")
    from chainrule import io
    from chainrule.models import PolynomialRegression
    X = np.random.default_rng(0).standard_normal((8, 2))
    io.save(PolynomialRegression(2).fit(X, X[:, 0] ** 2), tmp_path / "poly.safetensors")
    capsys.readouterr()
    assert main(["export", "--onnx", str(tmp_path / "poly.safetensors")]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert lines[0].startswith("chainrule export: ONNX export of PolynomialRegression is not supported: ")
    assert not (tmp_path / "model.onnx").exists()


def _png16(path, value, shape=(16, 16)):
    Image.fromarray(np.full(shape, value, dtype=np.uint16)).save(path)
    with Image.open(path) as img:
        assert img.mode.startswith("I")                                 # a genuine 16-bit greyscale PNG
    return path


@pytest.mark.parametrize("value", [0, 1000, 30000, 65535])
def test_a_16_bit_png_is_scaled_by_its_own_depth_never_clipped(tmp_path, value):
    from chainrule.cli.predict import read_image
    arr = read_image(_png16(tmp_path / "grey16.png", value), (8, 8), 16.0, "no")
    np.testing.assert_allclose(arr, np.full((8, 8), value / 65535 * 16.0), rtol=1e-6, atol=1e-6)
    colour = read_image(tmp_path / "grey16.png", (8, 8, 3), 255.0, "no")
    np.testing.assert_allclose(colour, np.full((8, 8, 3), value / 65535 * 255.0), rtol=1e-6, atol=1e-4)


def test_an_8_bit_png_reads_as_before(tmp_path):
    from chainrule.cli.predict import read_image
    Image.fromarray(np.full((16, 16), 200, dtype=np.uint8)).save(tmp_path / "grey8.png")
    np.testing.assert_allclose(read_image(tmp_path / "grey8.png", (8, 8), 16.0, "no"), 200 / 255 * 16.0)


def test_predict_takes_a_16_bit_png(files, tmp_path, capsys):
    png = _png16(tmp_path / "digit16.png", 0, (64, 64))
    Image.fromarray(np.where(np.add.outer(np.arange(64), np.arange(64)) % 20 < 6, 60000, 0).astype(np.uint16)).save(png)
    assert main(["predict", str(files["run"]), str(png)]) == 0
    assert capsys.readouterr().out.startswith("digit16.png: ")


def test_a_32_bit_image_is_refused_by_name(files, tmp_path, capsys):
    path = tmp_path / "float.tiff"
    Image.fromarray(np.ones((8, 8), np.float32), "F").save(path)
    assert main(["predict", str(files["run"]), str(path)]) == 1
    assert "floating-point images have no known range to scale by" in capsys.readouterr().err


def test_an_out_folder_that_cannot_be_written_is_named_before_training(tmp_path, capsys):
    if os.geteuid() == 0:            # root writes through permissions; sysfs refuses even root
        parent = "/sys"
        try:
            os.mkdir("/sys/chainrule-probe")
        except OSError:
            pass
        else:
            os.rmdir("/sys/chainrule-probe")
            pytest.skip("no folder here refuses root's writes")
    else:
        parent = tmp_path / "read-only"
        parent.mkdir()
        parent.chmod(0o555)
    out = os.path.join(parent, "chainrule-run")
    assert main(["train", "--epochs", "1", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"chainrule train: error: --out {out}: cannot write a run there (") and len(err.splitlines()) == 1
    assert "digits:" not in err                                         # refused before any data was loaded


def test_an_out_folder_holding_other_files_is_not_replaced(tmp_path, capsys):
    """A run replaces its folder whole; a folder holding the user's own files is refused, never emptied."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "config.json").write_text("{}")                            # chainrule's name: it would be replaced
    assert main(["train", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"chainrule train: error: --out {out} holds files chainrule train did not write (notes.txt); a run "
                   "replaces its folder whole, so choose an empty folder, a run folder, or another name")
    assert (out / "notes.txt").read_text() == "my notes" and not out.with_name("mine.partial").exists()


@pytest.mark.parametrize("out", [".", ".."])
def test_the_current_folder_is_never_an_out_folder(out, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["train", "--epochs", "1", "--out", out]) == 2
    assert "is the current folder or one above it" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
