"""argparse with one-line errors: a bad argument prints one line and exits with code 2."""
from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A command-line value that argparse accepted but the command cannot use (exit code 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # pragma: no cover - exercised through main()
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def floats(text: str) -> list[float]:
    """'1,2.5,-3' or '1 2.5 -3' -> [1.0, 2.5, -3.0]."""
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas; got {text!r}") from None


def matrix(text: str) -> list[list[float]]:
    """'1,2;3,4' -> [[1, 2], [3, 4]] (rows separated by semicolons)."""
    rows = [floats(r) for r in text.split(";") if r.strip()]
    if not rows or len({len(r) for r in rows}) != 1:
        raise argparse.ArgumentTypeError(f"expected rows of equal length separated by ';'; got {text!r}")
    return rows


def sizes(text: str) -> tuple[int, ...]:
    """'512,256' -> (512, 256)."""
    try:
        out = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer sizes like 512,256; got {text!r}") from None
    if not out or any(v < 1 for v in out):
        raise argparse.ArgumentTypeError(f"expected positive layer sizes like 512,256; got {text!r}")
    return out


def _number(convert, accept, expected: str):
    """An argparse type: ``convert(text)`` that ``accept`` must approve, else 'expected ...; got ...'."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value
    parse.__name__ = expected.replace(" ", "_")
    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
positive_float = _number(float, lambda v: v > 0, "a number > 0")
fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
