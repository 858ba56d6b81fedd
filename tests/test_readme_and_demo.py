"""The README's example runs as printed, and `make demo`'s job reaches the notes' optimum."""
import pathlib
import re

import pytest

from chainrule.demo import fit_regression_toy

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


def test_demo_regression_toy_reaches_the_notes_optimum():
    w, b, history = fit_regression_toy()
    assert w == pytest.approx(0.5, abs=1e-3) and b == pytest.approx(2.0, abs=1e-3)
    assert history[-1] < history[0]
