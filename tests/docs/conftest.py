"""``docs_site``: the documentation built once per test session, from a copy of the sources.

The copy holds ``docs/source`` and ``examples/`` as in the repository (``_gallery.py`` finds the
examples two folders up), so the real ``conf.py`` runs: the real theme, math renderer and API
pages. Nothing is written into the repository. To stay a few seconds long the build leaves out
what the tests that use it do not read: the gallery is not executed (``plot_gallery=0``: the guide
shows none of its figures) and the API reference is built for ``API_PACKAGES`` only (a layer and
``nn.Module``, the penalties with the longest names, the estimators with scikit-learn bases).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "docs" / "source"
GENERATED = ("api", "auto_examples", "sg_execution_times.rst", "_build")   # written by a build, not sources
#: the packages whose API pages are built
API_PACKAGES = ("nn", "regularizers")


def require(module: str):
    """Import ``module`` or skip; where the browser tests must run (CI), a missing package fails."""
    if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
        __import__(module)
        return
    pytest.importorskip(module)


def _left_out() -> list[str]:
    sys.path.insert(0, str(SOURCE))
    try:
        from api_pages import PACKAGES
    finally:
        sys.path.remove(str(SOURCE))
    short = [m.split(".")[-1] for m, _, _ in PACKAGES]
    return [p for s in short if s not in API_PACKAGES for p in (f"api/{s}.rst", f"api/generated/chainrule.{s}.*")]


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory) -> Path:
    """The built HTML (index, guide, and the API pages of ``API_PACKAGES``)."""
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "pydata_sphinx_theme", "sphinx-mathjax-offline",
                   "sklearn", "skimage"):
        require(module)
    work = tmp_path_factory.mktemp("docs")
    src = work / "docs" / "source"
    shutil.copytree(SOURCE, src, ignore=lambda d, names: [n for n in names if n in GENERATED])
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "docs" / "images", work / "docs" / "images")   # the guide's pictures (../../images)
    out = work / "html"
    excluded = ["_build", "**.ipynb_checkpoints", "auto_examples/**/*.ipynb", "auto_examples/**/*.py",
                *_left_out()]
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-D", "plot_gallery=0",
           "-D", "exclude_patterns=" + ",".join(excluded), str(src), str(out)]
    done = subprocess.run(cmd, cwd=work, env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"sphinx failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out
