"""Sphinx configuration of chainrule's documentation (built by ``make docs``).

Sphinx, numpydoc and sphinx-gallery: the tools of the Python scientific stack (scikit-learn,
matplotlib, scikit-image), so the site looks and works as learners already expect. The API
reference is generated from each public package's ``__all__`` (``api_pages.py``), the gallery
from ``examples/`` at the repository root (``_gallery.py``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chainrule  # noqa: E402
from _gallery import gallery_conf  # noqa: E402
from api_pages import PACKAGES as API_PACKAGES, public_names, write_api_pages  # noqa: E402
from api_stubs import public_classes  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

# The gallery's examples run in this process and train small models on the 8 x 8 digits. For
# matrices this small one BLAS thread is as fast as two, and on a busy two-core machine (CI, or
# a laptop running the test suite) BLAS threads waiting on each other made the gallery up to
# 20 times slower (measured: the dropout example took 34 s of CPU instead of 4). The limit
# applies to this build process only.
from threadpoolctl import threadpool_limits  # noqa: E402  (in the `all` extra)

_BLAS_LIMIT = threadpool_limits(limits=1)

project = "chainrule"
author = "the chainrule authors"
copyright = "the chainrule authors"
release = version = chainrule.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # the package's import name has hyphens; see "Math" below
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path: list = []
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/**/*.ipynb", "auto_examples/**/*.py", "auto_examples/**/*.codeobj.json",
                    "auto_examples/*.codeobj.json"]
default_role = "literal"      # `x` in a docstring reads as code, as the docstrings mean it
nitpicky = False

# -- API reference ---------------------------------------------------------------------------------
write_api_pages(HERE / "api")        # every page, a class's and a function's too (api_stubs.py says why)
autosummary_generate = False         # the tables link to those pages; nothing for autosummary to write
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
# Signatures as written in the source (``dtype=np.float32``), not as evaluated
# (``dtype=<class 'numpy.float32'>``).
autodoc_preserve_defaults = True


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only what chainrule defines: scikit-learn's inherited helpers (set_fit_request,
    get_params...) are documented by scikit-learn."""
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and module and not module.startswith("chainrule"):
        return True
    return skip


_PUBLIC_CLASSES = public_classes([m for m, _, _ in API_PACKAGES], public_names)


def _public_bases(app, name, obj, options, bases):
    """"Bases: Module" links to ``chainrule.nn.Module``'s page, not to ``chainrule.core.module.Module``
    (which has none)."""
    bases[:] = [f":class:`~{_PUBLIC_CLASSES[b]}`" if b in _PUBLIC_CLASSES else b for b in bases]


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("autodoc-process-bases", _public_bases)
autodoc_typehints = "none"    # the docstrings say what each argument is
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# -- math ----------------------------------------------------------------------------------------
# The guide's ~170 formulas must read as formulas without a network (a learner on a train, a
# classroom behind a firewall). Sphinx's default loads MathJax from a CDN, so offline every page
# showed raw LaTeX. ``sphinx-mathjax-offline`` (docs extra) ships MathJax 3.2.2, the last MathJax 3,
# with its fonts, sets ``mathjax_path`` to ``_static/mathjax/tex-chtml.js`` and copies the files
# into the built site. Chosen over KaTeX: sphinxcontrib-katex ships katex.min.js but loads KaTeX's
# stylesheet and fonts from a CDN (offline the formulas come out unstyled), and MathJax typesets
# every construct the guide uses (\operatorname, \underbrace, pmatrix, cases) with Sphinx's own
# math directive unchanged. tests/docs/test_docs_offline.py reads the guide in Chromium with every
# non-local request refused.

# -- gallery ---------------------------------------------------------------------------------------
sphinx_gallery_conf = gallery_conf(HERE)

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"chainrule {release}"
html_static_path = ["_static"]
html_css_files = ["chainrule.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": []}
html_last_updated_fmt = None
