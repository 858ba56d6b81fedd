"""The two kinds of problem a command reports in plain words: a bad argument (exit code 2) and a
file given on the command line whose contents cannot be used (exit code 1)."""
from __future__ import annotations


class UsageError(Exception):
    """A command-line value that argparse accepted but the command cannot use (exit code 2)."""


class FileProblem(Exception):
    """A data file, run folder or model file whose contents cannot be used: damaged, empty, not
    finite, the wrong shape (exit code 1). The message names the file."""


def one_line(message) -> str:
    """``message`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(str(message).split())
