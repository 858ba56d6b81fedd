"""``plotting.show``: a gallery example run as a plain script shows or saves its figures; in a
notebook, a sphinx-gallery build or an imported module it does nothing."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from chainrule import plotting
from chainrule.plotting import display as show_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/plot_*.py"))


def _figure():
    fig = plotting.new_figure(3, 2)
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def test_an_example_run_as_a_script_writes_its_figure_where_there_is_no_display(tmp_path):
    script = ROOT / "examples" / "losses" / "plot_loss_worked_examples.py"
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    png = tmp_path / "runs" / "examples" / "plot_loss_worked_examples.png"
    assert f"figure written to {Path('runs') / 'examples' / png.name}" in done.stdout
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (1000, 400)           # new_figure(10, 4) at 100 dpi
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [png.name]   # nothing else left


def test_several_figures_are_numbered_and_folder_is_respected(tmp_path, capsys):
    env = {"__name__": "__main__", "__file__": str(tmp_path / "plot_two.py"), "show": plotting.show,
           "a": _figure(), "b": _figure()}
    exec("show(a, b, folder=out)", dict(env, out=tmp_path / "pictures"))
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == ["plot_two-1.png", "plot_two-2.png"]
    assert capsys.readouterr().out.count("figure written to") == 2


@pytest.mark.parametrize("namespace", [
    {"__name__": "__main__"},                                  # a notebook cell, a sphinx-gallery block: no __file__
    {"__name__": "examples_module", "__file__": "plot_x.py"},   # imported, not run
], ids=["no-file", "imported"])
def test_nothing_happens_outside_a_script(tmp_path, monkeypatch, capsys, namespace):
    monkeypatch.chdir(tmp_path)
    result = exec("show(fig)", dict(namespace, show=plotting.show, fig=_figure()))
    assert result is None and list(tmp_path.iterdir()) == [] and capsys.readouterr().out == ""


def test_an_interactive_backend_gets_the_figures_through_pyplot(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    shown = []
    monkeypatch.setattr(show_module, "_interactive_backend", lambda backend: True)
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(list(plt.get_fignums())))
    monkeypatch.chdir(tmp_path)
    fig = _figure()
    try:
        exec("show(fig)", {"__name__": "__main__", "__file__": "plot_x.py", "show": plotting.show, "fig": fig})
        if fig.canvas.manager is None:
            pytest.skip("this matplotlib cannot adopt a Figure made without pyplot (< 3.10): files are written")
        assert len(shown) == 1 and fig.canvas.manager.num in shown[0]
        assert list(tmp_path.iterdir()) == []
    finally:
        plt.close(fig)


def test_the_backend_test_knows_windows_from_files():
    assert show_module._interactive_backend("TkAgg") and show_module._interactive_backend("QtAgg")
    assert not show_module._interactive_backend("agg") and not show_module._interactive_backend("pdf")


def test_show_refuses_what_is_not_a_figure():
    with pytest.raises(TypeError, match="show expected matplotlib Figures; got ndarray"):
        import numpy as np
        plotting.show(np.zeros(3))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_ends_by_showing_every_figure_it_draws(example):
    """The last statement is ``show(...)`` and names every variable a figure is bound to."""
    tree = ast.parse(example.read_text(encoding="utf-8"))
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and last.value.func.id == "show"
    shown = {a.id for a in last.value.args}
    figures = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
               if isinstance(t, ast.Name) and isinstance(node.value, ast.Call)
               and getattr(node.value.func, "id", "").startswith(("new_figure", "plot_"))}
    assert figures and figures <= shown, f"figures not shown: {sorted(figures - shown)}"
