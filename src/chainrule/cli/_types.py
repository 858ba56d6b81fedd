"""argparse ``type=`` functions that check a value at parse time and declare what they accept.

Each type refuses a bad value with ``argparse.ArgumentTypeError("expected ...; got '...'")``, so
argparse reports one line that names the option, what was expected and what was received. Each
also keeps its declared range (``low``, ``high``, ``count``, ``kind``...) as attributes: the tests
read them to drive out-of-range values through every option, so a new option gets its bad
values without anyone writing them down.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def _fmt(v) -> str:
    """1000000 rather than 1e+06 for whole numbers a person would type out."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


class Number:
    """One finite number of ``kind`` (int or float) in the range [low, high]; an end is open
    (excluded) with ``low_open`` / ``high_open``, absent when None; ``words`` are accepted as
    they are (``--threads auto``)."""

    def __init__(self, kind=float, low=None, high=None, *, low_open=False, high_open=False, words=()):
        self.kind, self.low, self.high = kind, low, high
        self.low_open, self.high_open = low_open, high_open
        self.words = tuple(words)
        self.__name__ = "integer" if kind is int else "number"

    @property
    def bounds(self) -> str:
        """'>= 0 and < 1', or '' when unbounded."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        return " and ".join(parts)

    @property
    def expected(self) -> str:
        noun = "an integer" if self.kind is int else "a finite number"
        words = "".join(f" or {w!r}" for w in self.words)
        return f"{noun} {self.bounds}".strip() + words

    def accepts(self, value) -> bool:
        if self.kind is float and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def convert(self, text: str):
        """The value of ``text``, or None when it is not a number of this kind in range (nor a word)."""
        if text.strip() in self.words:
            return text.strip()
        try:
            value = self.kind(text.strip())
        except (ValueError, OverflowError):
            return None
        return value if self.accepts(value) else None

    def __call__(self, text: str):
        value = self.convert(text)
        if value is None:
            raise argparse.ArgumentTypeError(f"expected {self.expected}; got {text!r}")
        return value

    def __repr__(self):
        return f"Number({self.expected})"


class Numbers:
    """Numbers separated by commas or spaces ('1,2.5,-3'), each a ``Number`` of ``item``;
    exactly ``count`` of them when given, else at least ``min_count``."""

    def __init__(self, item: Number, count: int | None = None, min_count: int = 1):
        self.item, self.count, self.min_count = item, count, min_count
        self.__name__ = "numbers"

    @property
    def expected(self) -> str:
        how_many = f"{self.count}" if self.count is not None else f"at least {self.min_count}"
        noun = "integers" if self.item.kind is int else "finite numbers"
        each = f", each {self.item.bounds}" if self.item.bounds else ""
        return f"{how_many} {noun} separated by commas{each}"

    def __call__(self, text: str) -> list:
        values = [self.item.convert(v) for v in text.replace(",", " ").split()]
        n = len(values)
        if any(v is None for v in values) or n < self.min_count or (self.count is not None and n != self.count):
            raise argparse.ArgumentTypeError(f"expected {self.expected}; got {text!r}")
        return values

    def __repr__(self):
        return f"Numbers({self.expected})"


class Matrix:
    """Rows of numbers separated by semicolons ('1,2;3,4'), all rows of equal length."""

    def __init__(self, item: Number):
        self.item = item
        self.row = Numbers(item)
        self.__name__ = "matrix"

    def __call__(self, text: str) -> list:
        each = f", each number {self.item.bounds}" if self.item.bounds else ""
        expected = f"rows of finite numbers of equal length separated by ';'{each}"
        try:
            rows = [self.row(r) for r in text.split(";") if r.strip()]
        except argparse.ArgumentTypeError:
            rows = None
        if not rows or len({len(r) for r in rows}) != 1:
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return rows


class Sizes:
    """Hidden layer sizes '512,256': at least one integer, each in [1, high]."""

    def __init__(self, high: int):
        self.item = Number(int, 1, high)
        self.high = high
        self.__name__ = "sizes"

    def __call__(self, text: str) -> tuple:
        values = [self.item.convert(v) for v in text.replace(",", " ").split()]
        if not values or any(v is None for v in values):
            raise argparse.ArgumentTypeError(f"expected layer sizes like 512,256, each an integer in [1, {self.high}]; "
                                             f"got {text!r}")
        return tuple(values)


def _what(path: Path) -> str:
    """'a folder', 'a file', 'a FIFO (named pipe)', 'a character device'... (a link is followed; nothing is opened)."""
    from ..io.safe import describe

    return "a folder" if path.is_dir() else describe(path) or "a file"


class PathArg:
    """A path checked against what the command does with it (``kind``):

    - ``"out_dir"``: a folder to write to; created when missing, so it must not be a file, nor lie
      under one.
    - ``"dir"``: a folder that may not exist yet (a data home to inspect): the same checks.
    - ``"out_file"``: a file to write; it must not be a folder, nor lie under a file.
    - ``"in_file"``: an existing regular file (a FIFO, device or socket, or a link to one, is named
      and refused without being opened).
    - ``"run"``: a folder written by ``chainrule train``, or a model file (``.safetensors``).
    """

    KINDS = ("out_dir", "dir", "out_file", "in_file", "run")

    def __init__(self, kind: str):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}; got {kind!r}")
        self.kind = kind
        self.__name__ = kind

    def __call__(self, text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected a path; got {text!r}")
        path = Path(text).expanduser()
        if self.kind in ("out_dir", "dir", "out_file"):
            expected = {"out_dir": "a folder (created if missing)", "dir": "a folder",
                        "out_file": "a file to write"}[self.kind]
            if self.kind == "out_file" and path.is_dir():
                raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}, which is a folder")
            if self.kind != "out_file" and path.exists() and not path.is_dir():
                raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}, which is {_what(path)}")
            for parent in path.parents:
                if parent.exists():
                    if not parent.is_dir():
                        raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}, "
                                                         f"but {str(parent)!r} is {_what(parent)}, not a folder")
                    break
        elif self.kind == "in_file":
            if not path.exists():
                raise argparse.ArgumentTypeError(f"expected an existing file; got {text!r}, which does not exist")
            if not path.is_file():
                raise argparse.ArgumentTypeError(f"expected a regular file; got {text!r}, which is {_what(path)}")
        else:
            if not path.exists():
                raise argparse.ArgumentTypeError(f"expected a folder written by chainrule train or a model file; "
                                                 f"got {text!r}, which does not exist")
            if not path.is_dir() and path.suffix.lower() != ".safetensors":
                raise argparse.ArgumentTypeError(f"expected a folder written by chainrule train or a model file "
                                                 f"(.safetensors); got {text!r}")
        return path

    def __repr__(self):
        return f"PathArg({self.kind!r})"


# The ranges the commands use; the bounds keep a value inside what can run on a laptop.
SEED = Number(int, 0, 2**32 - 1)
POSITIVE_INT = Number(int, 1, 1_000_000)
FRACTION = Number(float, 0, 1, high_open=True)
EXPLAIN_NUMBER = Number(float, -1e6, 1e6)     # the notes' examples are small; this keeps every step finite
