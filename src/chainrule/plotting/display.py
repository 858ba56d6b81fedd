"""Show the figures of a script run from the command line: in a window where there is a display,
as PNG files (their paths printed) where there is none.

chainrule draws without pyplot (no display needed, no global state), so a plain script that
ends with a figure shows nothing. The gallery's examples end with ``show(fig)``: run as
``python examples/introduction/plot_regression_toy.py`` it hands the figures to pyplot and
opens them, or, under a non-interactive backend (no display, ``MPLBACKEND=Agg``), writes them to
``runs/examples/`` (under the working directory, where ``chainrule train`` writes its runs). In a
sphinx-gallery build and in a Jupyter notebook it does nothing: the gallery's scraper saves the
figures, the notebook shows the figure its cell ends with.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["show"]

#: where a script's figures go when there is no display (relative to the working directory)
FOLDER = Path("runs") / "examples"


def _script_path(caller_globals) -> Path | None:
    """The file of the program being run, if the caller is its top level; None in a notebook or a
    sphinx-gallery build (neither gives the code it runs a ``__file__``), or when imported."""
    if caller_globals.get("__name__") != "__main__" or not caller_globals.get("__file__"):
        return None
    return Path(caller_globals["__file__"])


def _interactive_backend(backend: str) -> bool:
    """True for a backend that opens windows (or draws into a notebook: ``module://`` backends)."""
    try:
        from matplotlib.backends import BackendFilter, backend_registry      # matplotlib >= 3.9
        interactive = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    except ImportError:
        from matplotlib.rcsetup import interactive_bk as interactive
    backend = backend.lower()
    return backend in [b.lower() for b in interactive] or backend.startswith("module://")


def _save(figures, stem: str, folder: Path) -> list[Path]:
    from . import save_png

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, fig in enumerate(figures):
        path = folder / (f"{stem}.png" if len(figures) == 1 else f"{stem}-{i + 1}.png")
        save_png(fig, path)
        paths.append(path)
    return paths


def show(*figures, folder=None) -> None:
    """Show ``figures`` (built without pyplot) when the caller is a script run from the command line.

    The gallery's examples end with ``show(fig, ...)``. Run as ``python examples/.../plot_x.py``,
    the figures open in windows, or, where matplotlib's backend opens none (no display,
    ``MPLBACKEND=Agg``), they are written as PNG files named after the script and their paths are
    printed. Called anywhere else (a notebook, a sphinx-gallery build, an imported module: code
    without a ``__file__`` of its own, or not ``__main__``) it does nothing: the notebook shows the
    figure a cell ends with, and the gallery's scraper saves it.

    Parameters
    ----------
    *figures : matplotlib.figure.Figure
        The figures to show, in order.
    folder : str or path-like, optional
        Where the figures are written when no window can open (default ``runs/examples`` under
        the working directory, beside ``chainrule train``'s runs).

    Notes
    -----
    With an interactive backend the figures are handed to pyplot (matplotlib >= 3.10 adopts a
    Figure made without it) and ``pyplot.show()`` blocks until their windows are closed, as in any
    matplotlib script; with an older matplotlib they are written as files instead.
    """
    from matplotlib.figure import Figure

    for fig in figures:
        if not isinstance(fig, Figure):
            raise TypeError(f"show expected matplotlib Figures; got {type(fig).__name__}")
    script = _script_path(sys._getframe(1).f_globals)
    if script is None or not figures:
        return
    import matplotlib

    backend = matplotlib.get_backend()
    if _interactive_backend(backend):
        import matplotlib.pyplot as plt
        try:
            for fig in figures:
                plt.figure(fig)
        except (TypeError, ValueError):      # matplotlib < 3.10 cannot adopt a Figure: write files instead
            pass
        else:
            plt.show()
            return
    for path in _save(figures, script.stem, Path(folder) if folder is not None else FOLDER):
        print(f"figure written to {path} (matplotlib's backend {backend!r} opens no window)")
