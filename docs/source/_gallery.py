"""The gallery's settings, shared by ``conf.py`` and the notebook test (tests/docs).

Why a separate module: the notebook a reader downloads and the one the test executes must be
written with the same settings, so both read them from here.

chainrule's plotting functions build their figures without pyplot (no display is ever
needed), so sphinx-gallery's matplotlib scraper, which asks pyplot for its figures, never sees
them. ``figure_scraper`` finds them instead among the example's variables. In a notebook the
same figure shows when a cell ends with it (``fig``), because the first cell turns on
matplotlib's inline backend.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
FIRST_NOTEBOOK_CELL = "%matplotlib inline"
_SCRAPED = "_chainrule_gallery_scraped"


#: the gallery's sections and examples in the order of the notes (file names; others go last)
CHAPTERS = ["introduction", "losses", "backprop"]
NOTES_ORDER = [
    "plot_regression_toy.py", "plot_quadratic_classifier.py", "plot_feature_transform.py",
    "plot_under_over_fitting.py", "plot_handcrafted_vs_learned.py", "plot_linear_templates.py",
    "plot_loss_worked_examples.py", "plot_regularization.py", "plot_gd_vs_minibatch.py",
    "plot_derivatives.py", "plot_sigmoid_softmax.py", "plot_backprop_step_by_step.py",
    "plot_dropout_batchnorm.py",
]


def chapter_order(path) -> tuple:
    """Sort key of a gallery section (a folder of examples/): the notes' chapter order."""
    name = Path(path).name
    return (CHAPTERS.index(name) if name in CHAPTERS else len(CHAPTERS), name)


class NotesOrder:
    """Sort key of the examples within a section: the order in which the notes treat them."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename) -> tuple:
        name = Path(filename).name
        return (NOTES_ORDER.index(name) if name in NOTES_ORDER else len(NOTES_ORDER), name)

    def __repr__(self):  # sphinx-gallery compares configurations by their repr
        return "NotesOrder"


def _figures_in(value):
    from matplotlib.figure import Figure

    items = value if isinstance(value, (list, tuple)) else (value,)
    return [f for f in items if isinstance(f, Figure)]


def figure_scraper(block, block_vars, gallery_conf):
    """Save every Figure bound to a variable of the example that pyplot does not manage and that
    was not saved by an earlier block, in the order the variables were first bound."""
    from sphinx_gallery.scrapers import figure_rst

    figures = []
    for value in list(block_vars["example_globals"].values()):
        for fig in _figures_in(value):
            if fig.canvas.manager is None and not getattr(fig, _SCRAPED, False) \
                    and all(fig is not f for f in figures):
                figures.append(fig)
    paths = []
    for fig, path in zip(figures, block_vars["image_path_iterator"]):
        fig.savefig(path, facecolor=fig.get_facecolor())
        setattr(fig, _SCRAPED, True)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


def gallery_conf(src_dir: Path) -> dict:
    """The ``sphinx_gallery_conf`` of the documentation (paths relative to ``src_dir``)."""
    return {
        "examples_dirs": os.path.relpath(EXAMPLES_DIR, src_dir),
        "gallery_dirs": "auto_examples",
        "filename_pattern": r"/plot_",          # every plot_*.py is executed at build time
        "image_scrapers": ("matplotlib", "_gallery.figure_scraper"),
        "first_notebook_cell": FIRST_NOTEBOOK_CELL,
        "ignore_repr_types": r"matplotlib[.](figure|axes|text)",
        "subsection_order": "_gallery.chapter_order",
        "within_subsection_order": "_gallery.NotesOrder",
        "download_all_examples": True,
        "abort_on_example_error": True,
        "only_warn_on_example_error": False,
        "remove_config_comments": True,
        "reset_modules": ("matplotlib",),
        "default_thumb_file": None,
        "show_memory": False,
        "plot_gallery": "True",
        "doc_module": ("chainrule",),
        "backreferences_dir": "api/backreferences",
    }
