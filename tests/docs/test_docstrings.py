"""Every public name and every public method is documented in numpydoc style (issue 14.1).

``help(Linear.forward)`` must show documentation, not a source divider, and the API reference is
generated from these docstrings. The test walks every subpackage ``import chainrule`` exposes (its
``__all__``; a module without one, such as ``plotting``, ``cli`` and ``errors``: the public functions
and classes it defines, as the API reference does) and every public class's public methods and
properties that chainrule defines, and
asks numpydoc's own validator (``numpydoc.validate``) for three things:

- a docstring (GL08); a method may inherit its base class's docstring (``inspect.getdoc``): an
  override with the same contract needs no copy, but the inherited text must still name the
  override's parameters;
- for anything called with parameters (a class: its constructor's), a "Parameters" section that
  names each of them and no other (PR01, PR02);
- for a function or method that returns a value, a "Returns" section (RT01).

Style checks (summary punctuation, "See Also", examples) are left to reviewers.

Objects are grouped by the module that defines them. A module someone is rewriting may be listed
in ``NOT_YET_CHECKED`` (none is now): it then shows up as skipped with the reason, never silently;
drop the entry once its docstrings are swept.
"""
from __future__ import annotations

import importlib
import inspect

import pytest

pytest.importorskip("sklearn")    # datasets, features and sweep are in the `all` extra
validate = pytest.importorskip("numpydoc.validate")   # in the `test` extra
from numpydoc.docscrape import get_doc_object  # noqa: E402

import chainrule  # noqa: E402

#: defining module (or "module.Class") -> why it is not checked yet
NOT_YET_CHECKED: dict[str, str] = {}

#: the validator's codes this test enforces (see the module docstring)
REQUIRED = ("GL08", "PR01", "PR02", "RT01")

#: dunder methods that are part of the public interface
PUBLIC_DUNDERS = ("__call__",)


def _unchecked(name: str) -> str | None:
    """The reason ``name`` (a dotted path) is not checked yet, or None."""
    for prefix, reason in NOT_YET_CHECKED.items():
        if name == prefix or name.startswith(prefix + "."):
            return reason
    return None


def _namespaces():
    """The public modules: every lazily exposed subpackage and the subpackages of ``nn``."""
    names = [n for n in chainrule._SUBPACKAGES if _unchecked(f"chainrule.{n}") is None]
    return [importlib.import_module(f"chainrule.{n}") for n in names] + [
        importlib.import_module(m) for m in ("chainrule.core", "chainrule.layers", "chainrule.architectures")]


def _home(obj) -> str:
    """The module that defines ``obj`` (for a property: its getter's)."""
    target = obj.fget if isinstance(obj, property) else obj
    return getattr(inspect.unwrap(target), "__module__", "") or ""


def _members(cls):
    """(qualified name, object) of the public methods and properties chainrule defines on ``cls``
    or its chainrule base classes; named after the class that defines them."""
    for name in dir(cls):
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        for base in cls.__mro__:
            if name in base.__dict__:
                raw = base.__dict__[name]
                break
        else:
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if not (inspect.isfunction(raw) or isinstance(raw, property)):
            continue
        if not _home(raw).startswith("chainrule"):
            continue   # scikit-learn's get_params and the like are documented by their authors
        yield f"{base.__module__}.{base.__qualname__}.{name}", raw


def _public_names(module) -> list[str]:
    """``__all__``, or (a module without one: ``plotting``, ``cli``, ``errors``) the public
    functions and classes it defines itself: the rule the API reference's pages follow
    (docs/source/api_pages.py), so a module without ``__all__`` is not skipped silently."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items()
                 if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and getattr(obj, "__module__", None) == module.__name__]
    return list(names)


def _public_objects() -> dict[str, object]:
    """Qualified name -> object for every public class and function (and their members)."""
    found: dict[str, object] = {}
    for module in _namespaces():
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue   # constants (REDUCTIONS, MNIST...) are shown by value, and subpackages
            if not _home(obj).startswith("chainrule"):
                continue
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            found[qualname] = obj
            if inspect.isclass(obj):
                found.update(_members(obj))
    return found


class _Validator(validate.Validator):
    """numpydoc's validator on the docstring ``inspect.getdoc`` finds (it reads ``__doc__`` only,
    so an override that inherits its base's docstring would count as undocumented)."""

    def __init__(self, obj_name, doc):
        super().__init__(get_doc_object(obj_name, doc=doc))
        self.raw_doc = doc


def _problems(name: str, obj) -> list[str]:
    """The required validator errors for ``obj``; an inherited method docstring counts."""
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__dict__.get("__doc__")
    if not (doc or "").strip():
        return [f"{name}: GL08 no docstring"]
    errors = validate.validate(obj, validator_cls=_Validator, doc=doc)["errors"]
    return [f"{name}: {code} {message}" for code, message in errors if code in REQUIRED]


ALL = _public_objects()
GROUPS: dict[str, dict] = {}
for _name, _obj in ALL.items():
    _module = _home(_obj)
    GROUPS.setdefault(_module, {})[_name] = _obj


def _params():
    """One case per defining module; unchecked ones skipped with their reason."""
    cases = []
    for module in sorted(GROUPS):
        reason = _unchecked(module)
        marks = [pytest.mark.skip(reason=f"not yet checked: {reason}")] if reason else []
        cases.append(pytest.param(module, marks=marks, id=module))
    for prefix, reason in NOT_YET_CHECKED.items():
        if not any(m == prefix or m.startswith(prefix + ".") for m in GROUPS):
            cases.append(pytest.param(prefix, marks=[pytest.mark.skip(reason=f"not yet checked: {reason}")],
                                      id=prefix))
    return cases


@pytest.mark.parametrize("module", _params())
def test_public_names_have_numpydoc_docstrings(module):
    problems = []
    for name, obj in sorted(GROUPS[module].items()):
        if _unchecked(name) is None:
            problems += _problems(name, obj)
    assert not problems, f"{len(problems)} docstring problems:\n" + "\n".join(problems)


def test_the_walk_finds_the_methods_the_issue_names():
    """The walk reaches the methods issue 14 found undocumented: a walk that found nothing
    would pass the test above vacuously."""
    expected = {"chainrule.layers.linear.Linear.forward", "chainrule.losses.base.Loss.forward",
                "chainrule.losses.base.Loss.backward", "chainrule.optim.base.Optimizer.step",
                "chainrule.optim.base.Optimizer.zero_grad", "chainrule.core.parameter.Parameter",
                "chainrule.optim.schedules.make_schedule",
                # modules without __all__ are walked too (the API reference's rule)
                "chainrule.plotting.save_png", "chainrule.cli.main", "chainrule.errors.TrainingDiverged"}
    assert expected <= set(ALL), sorted(expected - set(ALL))
    assert len(ALL) > 150


def test_an_undocumented_parameter_is_caught():
    """The validator as this test calls it reports a missing parameter, a missing Returns and a
    missing docstring (so the checks above can fail)."""
    def documented(x, y):
        """Add.

        Parameters
        ----------
        x : int
            The first.
        """
        return x + y

    def bare(x):
        return x

    found = _problems("documented", documented)
    assert any("PR01" in p and "'y'" in p for p in found), found
    assert any("RT01" in p for p in found), found
    assert _problems("bare", bare) == ["bare: GL08 no docstring"]
