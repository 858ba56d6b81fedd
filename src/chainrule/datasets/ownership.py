"""Which data files chainrule may delete: only files it downloaded itself, in the cache it owns.

A folder named by the user (``data_dir``, a run's ``config.json``, ``--data-dir``) belongs to the
user: a file there that fails verification is reported, never removed or overwritten. Only in
chainrule's own cache folder (``<data home>/<data set>``, see ``spec.data_home``) may a file be
removed, and only when the manifest chainrule keeps there (``.chainrule-downloads.json``) names it
with the device, inode, size and modification time it had when chainrule installed it: a file the
user copied in, edited or replaced does not match and is left alone. What does match is a file
chainrule downloaded whose pinned checksum has since changed (a new release, a custom spec) or
that rotted on disk without being written to.
Temporary ``.part`` files of a download are removed by the download itself, in this process.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ..io.atomic import atomic_write_text
from ..io.safe import loads_json, open_regular, read_capped
from .spec import DatasetSpec, data_home

MANIFEST = ".chainrule-downloads.json"
MAX_MANIFEST = 1 << 16


def owns(folder, spec: DatasetSpec) -> bool:
    """True if ``folder`` is chainrule's own cache folder for ``spec`` (the same folder after
    resolving links), where it may remove what it downloaded."""
    try:
        return os.path.realpath(folder) == os.path.realpath(data_home() / spec.name)
    except (OSError, ValueError):
        return False


def _identity(st: os.stat_result) -> dict:
    return {"device": st.st_dev, "inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        with open_regular(path, root=folder, max_size=MAX_MANIFEST) as f:
            entries = loads_json(read_capped(f, MAX_MANIFEST), path).get("files", {})      # depth bounded
    except (OSError, ValueError, AttributeError):   # missing, refused, damaged: nothing is ours
        return {}
    return entries if isinstance(entries, dict) else {}


def _write(folder: Path, entries: dict) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps({"files": entries}, indent=1, sort_keys=True) + "\n")


def record(folder, path, sha256: str) -> None:
    """Note in the manifest that chainrule has just installed ``path`` (in its own cache folder)."""
    folder = Path(folder)
    entries = _read(folder)
    entries[Path(path).name] = {**_identity(os.lstat(path)), "sha256": sha256}
    _write(folder, entries)


def wrote(folder, path) -> bool:
    """True if the manifest in ``folder`` names ``path`` and the file is still the one chainrule
    installed there: a regular file (not a link) with the same device, inode, size and mtime."""
    folder, path = Path(folder), Path(path)
    entry = _read(folder).get(path.name)
    if not isinstance(entry, dict):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    return all(entry.get(k) == v for k, v in _identity(st).items())


def forget(folder, name: str) -> None:
    """Drop ``name`` from the manifest once its file is gone."""
    folder = Path(folder)
    entries = _read(folder)
    if entries.pop(name, None) is not None:
        _write(folder, entries)
