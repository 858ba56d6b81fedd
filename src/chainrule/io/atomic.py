"""Atomic file writes: a temporary file in the same folder, flushed to disk, then renamed.

A reader never sees a half-written file, and an interrupted write leaves the old file intact.

A writer killed with SIGKILL (or a machine losing power) cannot remove its temporary file, so the
temporary files are named ``.<name>.<pid>-<host>.<random>.tmp`` beside the target, and every write
first removes the ones of the same target that this host's dead writers left: their pid is gone,
or it now belongs to a process that started after the file was last written. A live writer's
temporary file is never touched (two processes may write one target at once; the last rename
wins, and each rename is of a whole file). Files of other hosts (a shared folder) are left alone,
since their writers cannot be checked from here.

Durability: the temporary file is fsync'ed before the rename and the folder after it, so after a
crash the target is either the old file or the new one, and the rename itself is not lost.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat

from .lock import hostname, pid_alive, process_started_at

_HOST_TAG = hashlib.sha1(hostname().encode("utf-8", "replace")).hexdigest()[:8]
_TEMP_TAIL = re.compile(r"(\d+)-([0-9a-f]{8})\.[0-9a-f]{8}\.tmp")
_CLOCK_SLACK = 2.0   # seconds: process start times from /proc are good to about one second


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _final_mode(path: str) -> int:
    """The mode a plain open() would give: the existing file's, else 0o666 minus the umask
    (temporary files are created 0o600, which would hide models and pictures from others)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def temp_prefix(path) -> str:
    """Every temporary file of a write to ``path`` starts with this (a hidden file beside it)."""
    return "." + os.path.basename(os.fspath(path)) + "."


def _writer_gone(pid: int, mtime: float) -> bool:
    if not pid_alive(pid):
        return True
    started = process_started_at(pid)
    return started is not None and mtime < started - _CLOCK_SLACK   # the pid was reused since


def remove_stale_temps(path) -> list[str]:
    """Remove the temporary files of writes to ``path`` whose writer is dead; return their names."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    prefix = temp_prefix(path)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _TEMP_TAIL.fullmatch(entry.name[len(prefix):])
        if m is None or m.group(2) != _HOST_TAG:
            continue
        try:
            if _writer_gone(int(m.group(1)), entry.stat(follow_symlinks=False).st_mtime):
                os.unlink(entry.path)
                removed.append(entry.name)
        except FileNotFoundError:
            pass                                     # another writer cleaned it first
    return removed


def _create_temp(folder: str, path: str) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f"{temp_prefix(path)}{os.getpid()}-{_HOST_TAG}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:                      # 1 in 4 billion: draw another name
            continue


def fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass                                         # some file systems refuse fsync on a folder
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb"):
    """``with atomic_open(path) as f: f.write(...)``: ``path`` appears only when the block succeeds."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = _create_temp(folder, path)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_folder(folder)


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


# ---- folders: replaced whole ----------------------------------------------------------------------
_RENAME_EXCHANGE = 2            # Linux renameat2(2) flag: swap two paths in one step


def exchange(a, b) -> bool:
    """Swap the folders (or files) ``a`` and ``b`` in one atomic step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``, glibc 2.28 or later); False where that is not available (other systems,
    older kernels, file systems that refuse it), and nothing has changed then."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = renameat2(at_fdcwd, os.fsencode(os.fspath(a)), at_fdcwd, os.fsencode(os.fspath(b)), _RENAME_EXCHANGE)
    return done == 0


def replace_folder(new, target, trash) -> None:
    """Put the folder ``new`` at ``target``, the folder that was there (if any) at ``trash``.

    Where the system can swap two paths atomically (``exchange``) a reader of ``target`` sees the
    old folder or the new one, whole, and never nothing; elsewhere ``target`` is renamed to
    ``trash`` and ``new`` to ``target``: two renames, between which ``target`` is briefly absent
    (microseconds). ``trash`` must not exist; the caller removes it afterwards. Both renames stay
    in one folder, so they are atomic and durable (the folder is fsync'ed)."""
    new, target, trash = os.fspath(new), os.fspath(target), os.fspath(trash)
    if os.path.lexists(target):
        if exchange(new, target):
            os.rename(new, trash)                     # ``new`` now names the old folder
        else:
            os.rename(target, trash)
            os.rename(new, target)
    else:
        os.rename(new, target)
    fsync_folder(os.path.dirname(os.path.abspath(target)))
