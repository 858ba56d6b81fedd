"""Write the API reference's pages (``api/*.rst``, generated, not committed) from the code.

Each public package lists its public names in ``__all__``; a module without one (``grad``,
``plotting``, ``io``, ``errors``) contributes the functions and classes it defines. The pages
therefore follow the engine as it changes, with no list to keep by hand. Names whose current
docstrings do not yet build without a warning are in ``EXCLUDED`` with the reason; the page
of their package names them, so nothing is silently missing.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:     # conf.py puts it there; the tests load this file alone
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_stubs import class_page, function_page, public_classes  # noqa: E402

#: (module, title, one line on what it holds), in the order of the notes
PACKAGES = [
    ("chainrule.nn", "Layers and containers", "Parameter, Module, Sequential and the layers of the notes."),
    ("chainrule.losses", "Losses", "Every loss of the notes; ``forward`` returns L, ``backward`` dL/d(input)."),
    ("chainrule.regularizers", "Regularisers", "Weight penalties lambda R(W) and the max-norm constraint."),
    ("chainrule.grad", "Derivatives and the gradient check",
     "Numerical gradient, Jacobian and Hessian; analytic against numerical gradients."),
    ("chainrule.optim", "Optimizers and schedules", "Gradient descent, SGD with momentum, Adam; learning-rate schedules."),
    ("chainrule.training", "Training loop", "The one loop, its history, callbacks, batching and metrics."),
    ("chainrule.models", "Estimators", "scikit-learn compatible linear models and multi-layer perceptrons."),
    ("chainrule.datasets", "Data sets", "MNIST, CIFAR-10, the bundled digits, the notes' toy sets, preprocessing."),
    ("chainrule.features", "Features", "Polynomial features, the notes' transform, HOG, nearest neighbours."),
    ("chainrule.plotting", "Pictures", "Curves, confusion matrices, templates, boundaries, mistakes, polynomial fits."),
    ("chainrule.io", "Model files", "safetensors model files that load into PyTorch; no pickle."),
    ("chainrule.sweep", "Sweeps", "Grid and random searches with cross-validation on loky or a Dask cluster."),
    ("chainrule.io.export", "ONNX export", "Networks, estimators and their preprocessing as ONNX graphs."),
    ("chainrule.errors", "Errors", "The exceptions chainrule raises besides ValueError and TypeError."),
]

#: "module.Name" -> why it is left out of the reference for now: its current docstring does not
#: build without a warning (the docstrings are swept after the engine's rewrite; drop the entry then)
EXCLUDED: dict[str, str] = {
}
#: modules whose own docstring is left off their page for the same reason
EXCLUDED_MODULE_DOCSTRINGS: dict[str, str] = {
}


def public_names(modname: str) -> list[str]:
    """``__all__``, or the public functions and classes the module defines itself."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(mod).items()
                 if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and getattr(obj, "__module__", None) == modname]
    return list(names)


def _is_constant(obj) -> bool:
    return not (callable(obj) or inspect.ismodule(obj))


def _constants(modname: str, names: list[str]) -> list[str]:
    """Module-level values (``REDUCTIONS``, ``MNIST``...) as a table of their values: autodoc
    would show their type's docstring ("Built-in immutable sequence"), which says nothing."""
    mod = importlib.import_module(modname)
    rows = []
    for n in names:
        text = repr(getattr(mod, n)).replace("\n", " ")
        text = text if len(text) <= 110 else text[:107] + "..."
        rows += [f"   * - ``{n}``", f"     - ``{text}``"]
    if not rows:
        return []
    return [".. list-table:: Constants", "   :widths: 25 75", "", *rows, ""]


def _page(modname: str, title: str, blurb: str) -> str:
    mod = importlib.import_module(modname)
    names = public_names(modname)
    constants = [n for n in names if _is_constant(getattr(mod, n))]
    names = [n for n in names if n not in constants]
    shown = [n for n in names if f"{modname}.{n}" not in EXCLUDED]
    left_out = [n for n in names if f"{modname}.{n}" in EXCLUDED]
    heading = f"``{modname}``: {title}"
    if modname in EXCLUDED_MODULE_DOCSTRINGS:
        module = [f".. module:: {modname}", ""]
    else:
        module = [f".. automodule:: {modname}", ""]
    lines = [heading, "=" * len(heading), "", blurb, "", *module, f".. currentmodule:: {modname}", "",
             ".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
    lines += [f"   {n}" for n in shown]
    lines.append("")
    lines += _constants(modname, constants)
    if left_out or modname in EXCLUDED_MODULE_DOCSTRINGS:
        lines += [".. note::", "", "   Not yet in this reference (their docstrings are being rewritten):", ""]
        if modname in EXCLUDED_MODULE_DOCSTRINGS:
            lines.append(f"   - the module's own docstring: {EXCLUDED_MODULE_DOCSTRINGS[modname]}")
        lines += [f"   - ``{n}``: {EXCLUDED[f'{modname}.{n}']}" for n in left_out]
        lines.append("")
    return "\n".join(lines)


def _documented_as_page(fullname: str) -> bool:
    """True for the names that get a page of their own (not excluded, not constants)."""
    modname, name = fullname.rsplit(".", 1)
    if fullname in EXCLUDED:
        return False
    return not _is_constant(getattr(importlib.import_module(modname), name))


def write_api_pages(folder: Path) -> None:
    """Write ``index.rst``, one page per package and one per public name (``generated/``,
    ``api_stubs.py``) into ``folder`` (only files that changed, so an unchanged reference is not
    rebuilt)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = {"index.rst": "\n".join([
        "API reference", "=============", "",
        "Every public name of chainrule, generated from its docstring. The differentiable core",
        "(``nn``, ``losses``, ``regularizers``, ``grad``, ``optim``, ``training``) needs NumPy only;",
        "the rest needs the ``all`` extra.", "",
        ".. toctree::", "   :maxdepth: 1", "",
        *[f"   {m.split('.')[-1]}" for m, _, _ in PACKAGES], ""])}
    public = public_classes([m for m, _, _ in PACKAGES], public_names)
    for modname, title, blurb in PACKAGES:
        pages[modname.split(".")[-1] + ".rst"] = _page(modname, title, blurb)
        mod = importlib.import_module(modname)
        for n in public_names(modname):
            fullname = f"{modname}.{n}"
            if _documented_as_page(fullname):
                obj = getattr(mod, n)
                pages[f"generated/{fullname}.rst"] = (class_page(fullname, obj, public) if inspect.isclass(obj)
                                                      else function_page(fullname))
    # pages of names that are gone (renamed, excluded, now constants) would otherwise linger
    # outside every table of contents
    (folder / "generated").mkdir(exist_ok=True)
    for stub in (folder / "generated").glob("*.rst"):
        if f"generated/{stub.name}" not in pages:
            stub.unlink()
    for name, text in pages.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
