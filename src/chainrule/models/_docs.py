"""The estimators' parameter documentation, written once and assembled into their docstrings.

Six estimators share most of their options (the three networks share nearly forty), so each
option is described once, in ``parameters.txt`` (numpydoc's ``name : type`` and an indented
description, in tables), and ``document`` writes the numpydoc "Parameters" section of a class (its ``__init__``) or a method from its
signature: every parameter in signature order, with the default the signature gives. A default
in the docs therefore cannot drift from the code, and a parameter nobody described stops the
import (``KeyError``) instead of going undocumented.

The tables group the entries by where their meaning holds: ``COMMON`` (every estimator that
takes the option), ``NOTES`` (the linear models' alpha, the notes' lambda), ``SKLEARN`` (the
networks' options that only they take, and their alpha), ``MLP`` and ``CNN`` (one family's
network), ``DEPRECATED`` (chainrule 0.1's names), ``FIT`` and ``PREDICT`` (the methods'
arguments). A class gives its own entries first where its meaning differs. A class docstring
describes the model and points here; it does not list the parameters again.
"""
from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

MARKER = "{parameters}"


def _read_tables(text: str) -> dict:
    """The tables of parameters.txt: ``[NAME]`` starts one, ``name : type`` an entry, the indented lines
    below it its description (joined into one paragraph, wrapped again where it is used)."""
    tables, table, entry = {}, {}, None
    for line in text.splitlines():
        if line.startswith("["):
            table = tables.setdefault(line.strip("[] "), {})
        elif line.startswith("    "):
            kind, words = table[entry]
            table[entry] = (kind, f"{words} {line.strip()}".strip())
        elif line.strip():
            entry, kind = line.split(" : ", 1)
            table[entry] = (kind, "")
    return tables


TABLES = _read_tables((Path(__file__).parent / "parameters.txt").read_text(encoding="utf-8"))
CLASSIFIERS, COMMON, NOTES, SKLEARN, DEPRECATED, MLP, CNN, MLP_REGRESSOR = (TABLES[k] for k in (
    "CLASSIFIERS", "COMMON", "NOTES", "SKLEARN", "DEPRECATED", "MLP", "CNN", "MLP_REGRESSOR"))
LINEAR_CLASSIFIER, LINEAR_REGRESSION, POLYNOMIAL, FIT, PREDICT = (TABLES[k] for k in (
    "LINEAR_CLASSIFIER", "LINEAR_REGRESSION", "POLYNOMIAL", "FIT", "PREDICT"))


def _entry(name: str, default, tables) -> list[str]:
    """The numpydoc lines of one parameter: ``name : type, default=...`` and its description."""
    for table in tables:
        if name in table:
            kind, text = table[name]
            break
    else:
        raise KeyError(f"no documentation for the parameter {name!r}: add an entry to models/_docs.py")
    head = f"{name} : {kind}" + ("" if default is inspect.Parameter.empty else f", default={default!r}")
    # a formula in ``...`` stays on one line: its spaces are held by NUL while the text is wrapped
    kept = re.sub(r"``.+?``", lambda m: m.group().replace(" ", "\0"), text)
    lines = textwrap.wrap(kept, 92, initial_indent="    ", subsequent_indent="    ",
                          break_on_hyphens=False, break_long_words=False)
    return [head] + [line.replace("\0", " ") for line in lines]


def parameters_section(signature: inspect.Signature, tables) -> list[str]:
    """The "Parameters" section (lines, unindented) of a signature, ``self`` left out."""
    lines = ["Parameters", "----------"]
    for p in signature.parameters.values():
        if p.name != "self":
            lines += _entry(p.name, p.default, tables)
    return lines


def document(*tables):
    """Decorator: replace the ``{parameters}`` line of a class's or a function's docstring by its
    numpydoc "Parameters" section, from the signature (a class: its ``__init__``'s) and the first of
    ``tables`` (dicts name -> (type, description)) that describes each parameter."""
    def fill(obj):
        target = obj.__init__ if inspect.isclass(obj) else obj
        doc = obj.__doc__ or ""
        found = re.search(r"^( *)" + re.escape(MARKER) + r"$", doc, flags=re.MULTILINE)
        if found is None:
            raise ValueError(f"the docstring of {obj.__qualname__} has no {MARKER} line")
        indent = found.group(1)
        section = "\n".join(indent + line if line else line
                            for line in parameters_section(inspect.signature(target), tables))
        obj.__doc__ = doc[:found.start()] + section + doc[found.end():]
        return obj
    return fill
