"""The page of each public class and function of the API reference (``api/generated/*.rst``),
written by ``api_pages.write_api_pages`` before Sphinx reads anything.

Why not autosummary's templates: a class's page should list its *own* members, and link once to
the public base class that documents the rest. A layer inherits about 30 methods from
``nn.Module`` (``parameters``, ``state_dict``, ``train``...); with ``:inherited-members:`` every
layer's "On this page" repeated them all. Whether a member is the class's own or documented on a
public base depends on the class (a template sees only names), so the pages are written here:

- a class with a public chainrule base (``Linear`` and ``nn.Module``, the losses and ``Loss``...)
  documents what it defines itself and what it gets from private helper classes, and names
  each inherited member once, as a link to the base that documents it;
- a class without one (``nn.Module`` itself, the estimators) documents everything it has,
  inherited from private helper classes included (scikit-learn's own methods are left to
  scikit-learn, ``conf.py``'s ``_skip_foreign_members``).

Titles are the short name (``Linear``, not ``chainrule.nn.Linear``): the package is in the
breadcrumbs, the sidebar and the signature, and a long dotted name overflowed the page's width.
"""
from __future__ import annotations

import importlib
import inspect


def public_classes(packages, public_names) -> dict:
    """class -> the public dotted name that documents it (the first package listing it)."""
    found: dict = {}
    for modname in packages:
        mod = importlib.import_module(modname)
        for name in public_names(modname):
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                found.setdefault(obj, f"{modname}.{name}")
    return found


def _defining_class(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def inherited_links(cls, public: dict) -> dict[str, list[tuple[str, str]]]:
    """Public base's dotted name -> [(member, role)] for the members ``cls`` inherits from it (or
    from the private classes behind it): the members its page links to instead of repeating.

    A member belongs to the most basic public class whose MRO holds the class defining it: that
    class's page documents it (``state_dict`` comes from a private helper of ``nn.Module``, so
    ``nn.Module``'s page has it).
    """
    bases = [b for b in cls.__mro__[1:] if b in public]
    links: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = _defining_class(cls, name)
        if owner is None or owner is cls or not owner.__module__.startswith("chainrule"):
            continue
        documenting = [b for b in bases if owner in b.__mro__]
        if not documenting:
            continue                      # from a private class of its own: documented on this page
        raw = vars(owner)[name]
        role = "meth" if inspect.isfunction(raw) or isinstance(raw, (staticmethod, classmethod)) else "attr"
        links.setdefault(public[documenting[-1]], []).append((name, role))
    return links


def _filtered_bases(cls, public: dict) -> list[str]:
    """Names for autodoc's ``:inherited-members:``: every class behind a public base, whose
    members this page links to rather than documents."""
    names = set()
    for base in cls.__mro__[1:]:
        if base in public:
            names |= {k.__name__ for k in base.__mro__ if k is not object}
    return sorted(names)


def class_page(fullname: str, cls, public: dict) -> str:
    """The rst of a class's page."""
    modname, name = fullname.rsplit(".", 1)
    filtered = _filtered_bases(cls, public)
    lines = [name, "=" * len(name), "", f".. currentmodule:: {modname}", "", f".. autoclass:: {name}",
             "   :members:", f"   :inherited-members: {', '.join(filtered)}" if filtered else "   :inherited-members:",
             "   :show-inheritance:", "   :special-members: __call__", ""]
    for base, members in inherited_links(cls, public).items():
        short = base.rsplit(".", 1)[1]
        refs = ", ".join(f":{role}:`~{base}.{member}`" for member, role in members)
        lines += [f".. rubric:: Inherited from {short}", "",
                  f"Documented on :class:`~{base}`: {refs}.", ""]
    lines += [f".. minigallery:: {fullname}", f"   :add-heading: Examples using ``{name}``", ""]
    return "\n".join(lines)


def function_page(fullname: str) -> str:
    """The rst of a function's page."""
    modname, name = fullname.rsplit(".", 1)
    return "\n".join([name, "=" * len(name), "", f".. currentmodule:: {modname}", "", f".. autofunction:: {name}",
                      "", f".. minigallery:: {fullname}", f"   :add-heading: Examples using ``{name}``", ""])
