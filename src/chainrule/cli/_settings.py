"""A command's settings as plain JSON, as run folders record them in config.json: paths as
absolute strings (never ``"PosixPath('runs/x')"``), tuples as lists, and the parser's own
bookkeeping (``run``, ``given``, ``argv``) left out."""
from __future__ import annotations

from pathlib import Path

_BOOKKEEPING = ("run", "given", "argv")


def plain(value):
    """One setting as JSON: a path as its absolute string, a tuple as a list (inside lists too)."""
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def command_settings(args) -> dict:
    """Every option of the parsed command line ``args``, as plain JSON values."""
    return {key: plain(value) for key, value in vars(args).items() if key not in _BOOKKEEPING}
