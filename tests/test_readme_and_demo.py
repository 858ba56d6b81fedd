"""The README's example runs as printed; `make demo` runs the default training."""
import pathlib
import re

import pytest


README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_ten_line_example_runs(capsys):
    blocks = _python_blocks()
    assert blocks, "the README must show a Python example"
    example = blocks[0]
    assert len([ln for ln in example.strip().splitlines() if ln.strip()]) <= 10
    exec(compile(example, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "loss" in out and "0.weight" in out and "(ok" in out


def test_every_python_example_of_the_readme_runs(capsys):
    """All blocks but the PyTorch one (PyTorch is not a test dependency; benchmarks/torch_interop.py runs it)."""
    blocks = [b for b in _python_blocks() if "import torch" not in b]
    assert len(blocks) >= 2
    namespace = {}                  # blocks build on each other, as a reader runs them one after another
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    first = float(next(ln for ln in out.splitlines() if ln.startswith("loss ")).split()[1])
    trained = float(next(ln for ln in out.splitlines() if ln.startswith("loss after")).split()[-1])
    assert trained < first / 2                              # the notes' loop learns
    lines = [ln for ln in out.splitlines() if ln.startswith("0.") and "(10, 64)" in ln]
    assert lines and float(lines[0].split()[0]) >= 0.955   # the README says about 0.96


def test_make_demo_runs_chainrule_train_with_defaults(tmp_path, capsys):
    """make demo = chainrule train with every default: digits, >= 0.97 test accuracy, pictures named."""
    makefile = (README.parent / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "chainrule train --out runs/demo" in demo
    from chainrule.cli import main
    assert main(["train", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    test_acc = float(out.split("test ")[1].split()[0])
    assert test_acc >= 0.97
    assert f"pictures in {tmp_path}/: curves.png, confusion.png, mistakes.png" in out
