"""A gallery example, downloaded as a notebook, runs in a real Jupyter kernel.

The notebook is written by sphinx-gallery's own writer with the documentation's settings
(docs/source/_gallery.py), exactly as the site offers it for download, then executed by nbclient
in an ipykernel kernel running this interpreter. Skipped only when one of those is missing.
"""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "introduction" / "plot_regression_toy.py"


def _gallery_settings():
    spec = importlib.util.spec_from_file_location("chainrule_docs_gallery", ROOT / "docs" / "source" / "_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook_of(script: Path, target_dir: Path) -> Path:
    """The .ipynb the site offers for ``script``, written the way sphinx-gallery writes it."""
    import copy

    from sphinx_gallery.gen_gallery import DEFAULT_GALLERY_CONF
    from sphinx_gallery.notebook import jupyter_notebook, save_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = copy.deepcopy(DEFAULT_GALLERY_CONF)
    conf["first_notebook_cell"] = _gallery_settings().FIRST_NOTEBOOK_CELL
    _, blocks = split_code_and_text_blocks(str(script))[:2]
    path = target_dir / (script.stem + ".ipynb")
    save_notebook(jupyter_notebook(blocks, conf, target_dir), path)
    return path


def _kernel_for_this_interpreter(folder: Path, monkeypatch) -> str:
    """A kernelspec that runs ipykernel with this very Python, found before any user-wide one."""
    name = "chainrule-docs-test"
    spec_dir = folder / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(folder))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return name


def test_downloaded_notebook_runs_in_a_jupyter_kernel(tmp_path, monkeypatch):
    path = _notebook_of(EXAMPLE, tmp_path)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == "%matplotlib inline"
    assert any(c.cell_type == "markdown" and "w = 0.5" in c.source for c in nb.cells)

    kernel = _kernel_for_this_interpreter(tmp_path / "jupyter", monkeypatch)
    client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "after 3000 steps: w = 0.5000, b = 2.0000" in text
    assert "LinearRegression: w = 0.5000, b = 2.0000" in text
    # the last cell ends with the figure: the kernel displays it as a PNG
    assert any("image/png" in o.get("data", {}) for o in outputs if o.output_type in ("display_data", "execute_result"))
