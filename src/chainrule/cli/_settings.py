"""A command's settings as plain JSON, as run folders record them in config.json: paths as
absolute strings (never ``"PosixPath('runs/x')"``), tuples as lists, and the parser's own
bookkeeping (``run``, ``given``, ``argv``) left out; and the config.json of a run around them."""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from .. import __version__

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


def command_line(args) -> list | None:
    """``["chainrule", *argv]`` of the command that ``main`` parsed into ``args`` (None without one)."""
    argv = getattr(args, "argv", None)
    return ["chainrule", *argv] if argv is not None else None


def run_config(args, split, n_train: int, n_validation: int, **parts) -> dict:
    """A run's config.json: the versions, the command line and its settings, the data set (``split``,
    as evaluate and predict read it back), then ``parts`` (a given ``command`` replaces this one)."""
    return {"chainrule": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "command": command_line(args), "settings": command_settings(args),
            "dataset": {"name": split.name, "kind": split.kind, "image_shape": split.image_shape,
                        "pixel_max": split.pixel_max, "class_names": list(split.class_names),
                        "n_train": n_train, "n_validation": n_validation, "n_test": len(split.y_test)},
            **parts}
