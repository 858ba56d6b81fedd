"""Path locks: at most one live run writes a given checkpoint file or output folder.

Two runs given one ``checkpoint=`` path, or one ``--out`` folder, used to overwrite each other's
files without a word (the last writer won, and a later resume continued the other run). Now the
first run holds ``<target>.lock`` and the second is refused with ``PathLocked``, which names the
path and the holder.

The lock file is created with ``O_CREAT | O_EXCL``, so of two processes exactly one creates it,
and it holds the holder's pid, host, boot id, process start time and the time it was taken (one
JSON line a person can read). A process killed with SIGKILL cannot remove its lock; the next
taker sees that the holder is no longer alive on this host (its pid is gone, was reused by a
process that started later, or the machine rebooted) and takes the lock over. A live holder's
lock is never taken: a holder on another host cannot be checked from here, so it counts as live
and the message says which file to delete if that run is gone.

The liveness helpers are shared with ``_atomic``, which removes the temporary files of killed
writers by the same rule.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
import weakref

from .safe import open_regular

_HELD: set[str] = set()          # tokens of the locks this process holds right now
_HELD_GUARD = threading.Lock()
_ATTEMPTS = 200                  # creations tried before giving up (each failure is a release or a takeover)
_WRITE_GRACE = 2.0               # seconds an empty lock file may be "being written" by its creator
_BREAK_TIMEOUT = 10.0            # a takeover guard older than this was left by a killed taker


class PathLocked(RuntimeError):
    """A file or folder is in use by another live run. ``target``, ``lock_path``, ``pid``,
    ``host`` and ``started`` say which path and who holds it; ``str()`` is one line."""

    def __init__(self, target, lock_path, holder: dict | None):
        holder = holder or {}
        self.target, self.lock_path = os.fspath(target), lock_path
        self.pid, self.host, self.started = holder.get("pid"), holder.get("host"), holder.get("started")
        if self.pid is None:
            who = "another run (its lock file is being written)"
        elif self.host != hostname():
            who = f"pid {self.pid} on host {self.host} (not checkable from here), since {self.started}"
        else:
            who = f"pid {self.pid}{' (this process)' if self.pid == os.getpid() else ''}, since {self.started}"
        super().__init__(f"{self.target} is in use by another run: {who}. Wait for that run to end or choose "
                         f"another path; if it is gone, delete the lock file {lock_path}")


# -- who is alive ---------------------------------------------------------------------------------
def hostname() -> str:
    return socket.gethostname()


def _read_small(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def boot_id() -> str | None:
    """Linux's id of this boot: a lock from an earlier boot has a dead holder whatever its pid."""
    return _read_small("/proc/sys/kernel/random/boot_id")


def _stat_fields(pid: int) -> list[str] | None:
    text = _read_small(f"/proc/{pid}/stat")
    if not text or ")" not in text:
        return None
    return text[text.rindex(")") + 2:].split()   # fields after "pid (comm) ": state is [0], starttime [19]


def process_start_ticks(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where unknown."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def process_started_at(pid: int) -> float | None:
    """When ``pid`` started, as a Unix time good to about a second (Linux); None where unknown."""
    ticks = process_start_ticks(pid)
    stat = _read_small("/proc/stat")
    if ticks is None or not stat:
        return None
    btime = next((line.split()[1] for line in stat.splitlines() if line.startswith("btime ")), None)
    if btime is None:
        return None
    return int(btime) + int(ticks) / os.sysconf("SC_CLK_TCK")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True   # no safe probe here (os.kill(pid, 0) would send CTRL_C_EVENT): assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass          # exists, owned by someone else
    fields = _stat_fields(pid)
    return not (fields and fields[0] == "Z")


def _holder_alive(info: dict) -> bool:
    if info.get("host") != hostname():
        return True                                 # another machine: cannot tell, so never take it
    mine, theirs = boot_id(), info.get("boot_id")
    if mine and theirs and mine != theirs:
        return False                                # written before a reboot
    pid = info.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return False
    started = info.get("proc_start")
    now_started = process_start_ticks(pid)
    if started and now_started and started != now_started:
        return False                                # the pid now belongs to a later process
    if pid == os.getpid() and "token" in info:
        return info["token"] in _HELD               # this process: live only while a PathLock holds it
    return True


# -- the lock file --------------------------------------------------------------------------------
def lock_path_for(target) -> str:
    """``<target>.lock`` beside the target (symlinks resolved, so two names of one path share it)."""
    path = os.path.realpath(os.fspath(target)).rstrip(os.sep) or os.sep
    return path + ".lock"


def _read_lock(path: str):
    """(info or None, raw bytes or None if the file is gone, age in seconds)."""
    try:
        with open_regular(path, kind="lock") as f:      # a FIFO in its place would block a plain open
            raw = f.read(4096)
            age = time.time() - os.fstat(f.fileno()).st_mtime
    except FileNotFoundError:
        return None, None, 0.0
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, raw, age
    return (info if isinstance(info, dict) else None), raw, age


def _create(path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data``, only if it does not exist (one atomic O_EXCL open)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return True


def _break_stale(path: str, stale: bytes) -> bool:
    """Remove the lock file ``path`` if it still holds ``stale``. Takers serialise on a guard file,
    so two of them cannot both see the same stale lock and one delete the other's new lock.
    False if the guard stayed busy (another taker alive and stuck)."""
    guard = path + ".break"
    mark = json.dumps({"pid": os.getpid(), "host": hostname(), "proc_start": process_start_ticks(os.getpid()),
                       "boot_id": boot_id()}).encode()
    deadline = time.monotonic() + 2 * _BREAK_TIMEOUT
    while not _create(guard, mark):
        info, raw, age = _read_lock(guard)
        if raw is not None and (age > _BREAK_TIMEOUT or (info is not None and not _holder_alive(info))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(guard)                    # left by a taker killed in the middle
        elif time.monotonic() > deadline:
            return False
        else:
            time.sleep(0.005)
    try:
        _, raw, _ = _read_lock(path)
        if raw == stale:
            os.unlink(path)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(guard)


def _release_file(path: str, token: str, pid: int) -> None:
    if os.getpid() != pid:
        return                                      # a forked child must not free its parent's lock
    with _HELD_GUARD:
        _HELD.discard(token)
    info, _, _ = _read_lock(path)
    if info is not None and info.get("token") == token:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class PathLock:
    """``with PathLock(target):`` hold ``<target>.lock`` for the block; ``PathLocked`` if a live run
    holds it. ``acquire()``/``release()`` for longer spans; a lock not released is freed when the
    object is garbage-collected or the interpreter exits, and after a SIGKILL by the next taker."""

    def __init__(self, target):
        self.target = os.fspath(target)
        self.lock_path = lock_path_for(target)
        self._token: str | None = None
        self._finalizer = None

    @property
    def held(self) -> bool:
        return self._token is not None

    def acquire(self) -> "PathLock":
        if self.held:
            return self
        os.makedirs(os.path.dirname(self.lock_path), exist_ok=True)
        token = uuid.uuid4().hex
        pid = os.getpid()
        info = {"pid": pid, "host": hostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "proc_start": process_start_ticks(pid), "boot_id": boot_id(), "token": token,
                "target": os.path.abspath(self.target)}
        data = (json.dumps(info) + "\n").encode("utf-8")
        holder = None
        for _ in range(_ATTEMPTS):
            with _HELD_GUARD:
                if _create(self.lock_path, data):
                    _HELD.add(token)
                    break
            holder, raw, age = _read_lock(self.lock_path)
            if raw is None:
                continue                            # released in between: try again
            if holder is None and age < _WRITE_GRACE:
                time.sleep(0.005)                   # its creator is writing it right now
                continue
            if holder is not None and _holder_alive(holder):
                raise PathLocked(self.target, self.lock_path, holder)
            if not _break_stale(self.lock_path, raw):
                raise PathLocked(self.target, self.lock_path, holder)
        else:
            raise PathLocked(self.target, self.lock_path, holder)
        self._token = token
        self._finalizer = weakref.finalize(self, _release_file, self.lock_path, token, pid)
        return self

    def release(self) -> None:
        """Remove the lock file if it is still ours; calling it twice is harmless."""
        if self._finalizer is not None:
            self._finalizer()
        self._token = self._finalizer = None

    def __enter__(self) -> "PathLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"PathLock({self.target!r}, {'held' if self.held else 'not held'})"
