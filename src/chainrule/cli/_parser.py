"""argparse with one-line errors, every default in --help, and a record of the options a command
line gives itself (so an option that would be ignored can be refused)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ._errors import UsageError, one_line

__all__ = ["HelpFormatter", "Parser", "UsageError", "given_options", "refuse_given", "show"]

NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


def show(value) -> str:
    """A default as the user would type it: '256,128' for a tuple, '1,2;3,4' for a matrix."""
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):
            return ";".join(show(v) for v in value)
        return ",".join(show(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path):
        return str(value)
    return str(value)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds '(default: X)' to every option whose help does not already state its default.

    Flags (default False) and options without a default (None) get nothing added: a None
    default must be described in the help text itself ('default: the cache'), which the tests
    check for every option."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower():
            return text
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or action.nargs == 0:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text + " (default: %(default)s)"
        return text

    def _expand_help(self, action):
        params = {k: v for k, v in dict(vars(action), prog=self._prog).items() if v is not argparse.SUPPRESS}
        params["default"] = show(action.default)
        if action.choices is not None:
            params["choices"] = ", ".join(str(c) for c in action.choices)
        return self._get_help_string(action) % params


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (exit code 2) and whose help shows defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        # argparse takes '-1e6' and '-inf' for options ('expected one argument'); they are values
        # here (no option looks like a number), so that '--x -1e6' works and '--lr -inf' is told
        # what --lr expects.
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _parsers(parser):
    """``parser`` and every parser below it (subcommands and their subcommands)."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _parsers(child)


def given_options(parser: argparse.ArgumentParser, argv) -> set:
    """The destinations (``args.<dest>``) that ``argv`` sets itself rather than from defaults.

    argv is parsed a second time with every default suppressed; what is left was typed. (The
    first parse has already accepted argv, so this one cannot fail.)"""
    actions = [a for p in _parsers(parser) for a in p._actions]
    saved = [(a, a.default) for a in actions]
    defaults = [(p, dict(p._defaults)) for p in _parsers(parser)]
    try:
        for a in actions:
            a.default = argparse.SUPPRESS
        for p, _ in defaults:
            p._defaults.clear()
        namespace = parser.parse_args(argv)
    finally:
        for a, d in saved:
            a.default = d
        for p, d in defaults:
            p._defaults.update(d)
    dests = {a.dest for a in actions if not isinstance(a, argparse._SubParsersAction)}
    return {k for k in vars(namespace) if k in dests}


def refuse_given(args, options, why: str) -> None:
    """Refuse the first of ``options`` ('--max-norm') that the command line gave itself
    (``args.given``): "--max-norm has no effect with <why>"."""
    for option in options:
        if option[2:].replace("-", "_") in getattr(args, "given", set()):
            raise UsageError(f"{option} has no effect with {why}")
