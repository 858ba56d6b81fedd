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


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}")
    return v


def fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1); got {text!r}")
    return v
