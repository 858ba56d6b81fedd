"""Opening and reading files that may be hostile, at a cost bounded before the first byte is read.

Every file chainrule opens on a user's or a file's say-so comes through here: model files, run
folders' ``config.json`` and ``history.json``, sweep manifests and journal records, checkpoints,
the arrays and images given to ``chainrule predict``, data set files, lock files.

A file can be crafted to hang a reader or exhaust its memory: a FIFO or a device in place of a
file, a symbolic link out of its folder, a gzip or zip "bomb" that expands a thousandfold, an
``.npy`` header declaring gigabytes, JSON nested 200,000 levels deep or holding a 100,000-digit
number. Each primitive here checks first and reads second: only regular files are opened (checked
with ``stat`` before ``open`` and with ``fstat`` after it, opened non-blocking and without
following a final symbolic link, so a FIFO is never opened for reading), sizes are compared with
the cap of the file's kind (``CAPS``, one table, each raisable by ``CHAINRULE_MAX_<KIND>_BYTES``),
JSON's nesting depth is measured without recursion before it is parsed and its numbers are
refused past ``JSON_MAX_NUMBER_CHARS`` characters, and decompression streams with a hard cap,
stopping at cap + 1 byte. Arrays (``.npy``, ``.npz``) are in ``safe_arrays.py``. NumPy and the
standard library only.
"""
from __future__ import annotations

import io
import json
import os
import re
import stat
import zlib

import numpy as np

try:  # POSIX: clear O_NONBLOCK once the file is known to be regular
    import fcntl
except ImportError:  # Windows has neither fcntl nor FIFOs that open() could block on
    fcntl = None

CHUNK = 1 << 20                      # bytes read or decompressed per step
_INPUT = 1 << 16                     # compressed bytes fed to zlib per step
_SCAN = 1 << 18                      # JSON bytes whose depth is summed per step (a few MB of temporaries)
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

#: The largest file of each kind chainrule reads, in bytes. Each is raised (or lowered) by the
#: environment variable ``CHAINRULE_MAX_<KIND>_BYTES``; ``chainrule predict --max-input-mb`` sets
#: ``array`` and ``image`` for one command. Data set files are bounded by their specs instead
#: (pinned sizes and SHA-256 sums, headers checked against the largest genuine file).
CAPS = {
    "model": 4 * GIB,          # model.safetensors: a ResNet-20 is 1 MB, a 8192-wide MLP on CIFAR some 100s of MB
    "checkpoint": 8 * GIB,     # checkpoint.npz: the model, the optimizer's moments, callbacks' best weights
    "config": 1 * MIB,         # a run folder's config.json (a few KB)
    "history": 64 * MIB,       # history.json: about 200 bytes per epoch
    "sweep": 64 * MIB,         # sweep.json, the manifest: every candidate of the grid
    "journal": 1 * MIB,        # one journal record of a sweep (a few hundred bytes)
    "lock": 64 * KIB,          # a lock file (one JSON line)
    "array": 1 * GIB,          # an .npy given to chainrule predict
    "image": 256 * MIB,        # an image file given to chainrule predict (pixels are capped separately)
}
JSON_MAX_DEPTH = 256            # chainrule writes at most a few dozen levels (a nested network's spec)
JSON_MAX_NUMBER_CHARS = 100     # a float's repr is at most 24; a generator's 128-bit state is 39 digits


def env_name(kind: str) -> str:
    """``CHAINRULE_MAX_<KIND>_BYTES``: the environment variable that sets the cap of ``kind``."""
    return f"CHAINRULE_MAX_{kind.upper()}_BYTES"


def cap(kind: str) -> int:
    """The cap of ``kind`` in bytes: ``$CHAINRULE_MAX_<KIND>_BYTES`` if set, else ``CAPS[kind]``."""
    if kind not in CAPS:
        raise ValueError(f"kind must be one of {', '.join(CAPS)}; got {kind!r}")
    text = os.environ.get(env_name(kind), "").strip()
    if not text:
        return CAPS[kind]
    try:
        value = int(float(text)) if re.fullmatch(r"\d+(\.\d*)?([eE]\+?\d+)?", text) else None
    except (ValueError, OverflowError):
        value = None
    if value is None or value < 1:
        raise ValueError(f"{env_name(kind)} must be a number of bytes >= 1, like 2000000000; got {text!r}")
    return value


def _raise_hint(kind: str | None) -> str:
    return f" (if the file is genuine, raise the limit with {env_name(kind)})" if kind in CAPS else ""


class UnsafeFileError(ValueError, OSError):
    """A file was refused before it could hang the reader or exhaust its memory.

    Both a ``ValueError`` (bad input) and an ``OSError`` (a file problem), so either kind of
    handler catches it. ``path`` is the file, ``reason`` the message without it in front.
    """

    def __init__(self, name, reason: str):
        super().__init__(f"{name} {reason}")
        self.path = os.fspath(name) if isinstance(name, os.PathLike) else name
        self.reason = reason


class FileTooLarge(UnsafeFileError):
    """A file, a decompressed stream or an array header is larger than its cap."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path, *, root=None, max_size: int | None = None, kind: str | None = None):
    """Open ``path`` for binary reading, refusing anything but a regular file of at most ``max_size`` bytes.

    ``kind`` (a key of ``CAPS``) gives ``max_size`` when it is not given, and the messages say
    which environment variable raises it. With ``root``, the path after resolving every symbolic
    link must stay inside ``root`` (a link inside the folder to a file inside the folder is fine).
    Without it links are followed, but what they lead to must still be a regular file. The file
    is ``stat``-ed before it is opened (a FIFO or device is never opened), opened with
    ``O_NONBLOCK | O_NOFOLLOW``, and ``fstat``-ed to check it is the same regular file. Raises
    ``UnsafeFileError`` (or ``FileTooLarge``); a missing file raises ``FileNotFoundError`` as
    ``open`` would.
    """
    name = os.fspath(path)
    if max_size is None and kind is not None:
        max_size = cap(kind)
    target = os.path.realpath(name)
    if root is not None:
        base = os.path.realpath(os.fspath(root))
        try:
            inside = os.path.commonpath([base, target]) == base
        except ValueError:                   # Windows: another drive
            inside = False
        if not inside:
            raise UnsafeFileError(name, f"must stay inside {os.fspath(root)}; got a link to {target}")
    before = os.stat(target)
    if not stat.S_ISREG(before.st_mode):
        raise UnsafeFileError(name, f"must be a regular file; got {_kind(before.st_mode)}")
    if max_size is not None and before.st_size > max_size:
        raise FileTooLarge(name, f"must be at most {max_size:,} bytes; got {before.st_size:,}{_raise_hint(kind)}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise UnsafeFileError(name, "changed while it was being opened; refusing it")
        if max_size is not None and after.st_size > max_size:
            raise FileTooLarge(name, f"must be at most {max_size:,} bytes; got {after.st_size:,}{_raise_hint(kind)}")
        if fcntl is not None and getattr(os, "O_NONBLOCK", 0):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def describe(path) -> str | None:
    """What ``path`` is when it is not a regular file or a folder ('a FIFO (named pipe)', 'a character
    device'...; a link is followed), else None. Never opens it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else _kind(mode)


def read_capped(source, cap: int, *, name=None) -> bytes:
    """All bytes of ``source`` (a path, or a binary file object read from where it stands), refused
    with ``FileTooLarge`` as soon as there are more than ``cap``: a path is checked by size before
    it is opened, a stream is read in chunks and never past cap + 1 bytes."""
    if isinstance(source, (str, bytes, os.PathLike)):
        with open_regular(source, max_size=cap) as f:
            return read_capped(f, cap, name=os.fspath(source))
    name = name if name is not None else getattr(source, "name", "the stream")
    out = io.BytesIO()
    total = 0
    while True:
        block = source.read(min(CHUNK, cap + 1 - total))
        if not block:
            return out.getvalue()
        total += len(block)
        if total > cap:
            raise FileTooLarge(name, f"must hold at most {cap:,} bytes; got more (stopped reading at {total:,})")
        out.write(block)


def json_depth(text: str, limit: int) -> int:
    """The nesting depth of the JSON ``text`` (its deepest ``[`` or ``{``), counted without recursion
    and without parsing, in a few passes of C code whatever the text holds. Escaped backslashes,
    then escaped quotes, are dropped (pairs taken left to right, as JSON reads them), so every quote
    left opens or closes a string; a bracket counts when an even number of quotes precedes it. The
    running depth is summed in chunks with NumPy and the scan stops once it passes ``limit``.
    Brackets after a place where the text stops being JSON may be miscounted, but ``json.loads``
    fails at that place before it descends any further."""
    t = text.replace("\\\\", "").replace('\\"', "").encode("utf-8")
    depth = deepest = quotes = 0
    for start in range(0, len(t), _SCAN):
        b = np.frombuffer(t, np.uint8, count=min(_SCAN, len(t) - start), offset=start)
        outside = (np.cumsum(b == 34, dtype=np.int64) + quotes) % 2 == 0            # '"'
        quotes += int(np.count_nonzero(b == 34))
        step = (((b == 91) | (b == 123)) & outside).astype(np.int32)               # '[' '{'
        step -= ((b == 93) | (b == 125)) & outside                                  # ']' '}'
        running = np.cumsum(step, dtype=np.int64) + depth
        deepest, depth = max(deepest, int(running.max(initial=depth))), int(running[-1])
        if deepest > limit:
            break
    return deepest


def _number_hook(name, kind, limit):
    def parse(text: str):
        if len(text) > limit:
            raise UnsafeFileError(name, f"holds a number of {len(text):,} characters; at most {limit} are allowed "
                                        "(no file chainrule writes has one; the file is damaged or not chainrule's)")
        return kind(text)
    return parse


def _decode(data, name) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFileError(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start:,}); "
                                    "the file is damaged or not chainrule's") from None


def loads_json(data, name, *, max_depth: int = JSON_MAX_DEPTH, max_number_chars: int = JSON_MAX_NUMBER_CHARS):
    """``json.loads(data)`` for text (or UTF-8 bytes) from a file named ``name``, refusing with
    ``UnsafeFileError`` a nesting deeper than ``max_depth`` (measured by ``json_depth`` before
    parsing, so no RecursionError is possible), a number longer than ``max_number_chars``
    characters (through ``parse_int``/``parse_float`` hooks, before Python converts it), bytes
    that are not UTF-8, and text that is not JSON. Every message starts with ``name``."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = _decode(data, name)
    depth = json_depth(data, max_depth)
    if depth > max_depth:
        raise UnsafeFileError(name, f"is nested more than {max_depth} levels deep; the file is damaged or "
                                    "not chainrule's")
    try:
        return json.loads(data, parse_int=_number_hook(name, int, max_number_chars),
                          parse_float=_number_hook(name, float, max_number_chars))
    except json.JSONDecodeError as exc:
        raise UnsafeFileError(name, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                                    "the file is damaged or not chainrule's") from None
    except RecursionError:                    # cannot happen below the depth checked above; said plainly if it does
        raise UnsafeFileError(name, "is nested too deeply to read") from None


def read_json(path, kind: str, *, root=None, max_depth: int = JSON_MAX_DEPTH):
    """The JSON value of the file ``path`` of ``kind`` (a key of ``CAPS``): a regular file
    (``open_regular``) of at most ``cap(kind)`` bytes, parsed by ``loads_json``. Raises
    ``UnsafeFileError`` (``FileTooLarge`` for the cap) naming the file, or ``FileNotFoundError``."""
    limit = cap(kind)
    with open_regular(path, root=root, max_size=limit, kind=kind) as f:
        text = _decode(read_capped(f, limit, name=os.fspath(path)), os.fspath(path))   # the bytes are freed here
    return loads_json(text, os.fspath(path), max_depth=max_depth)


class CappedGzipReader(io.RawIOBase):
    """Decompress a gzip stream (one or more members, trailing zero padding allowed) and refuse
    it with ``FileTooLarge`` once it yields more than ``cap`` bytes. zlib is asked for at most
    what the caller wants and never for more than cap + 1 bytes in total, so memory stays at
    the caller's chunk size whatever the compression ratio. A damaged stream raises
    ``zlib.error``, a truncated one ``EOFError``, as ``gzip`` does; CRC and length are checked."""

    def __init__(self, fileobj, cap: int, name=None, *, close_source: bool = False):
        super().__init__()
        self._src = fileobj
        self._cap = int(cap)
        self.name = name if name is not None else getattr(fileobj, "name", "gzip stream")
        self._close_source = close_source
        self._z = zlib.decompressobj(wbits=31)
        self._produced = 0
        self._done = False

    def readable(self) -> bool:
        return True

    @property
    def produced(self) -> int:
        """Decompressed bytes handed out so far."""
        return self._produced

    def readinto(self, buffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as out:
            data = self._next(len(out))
            out[:len(data)] = data
        return len(data)

    def _next(self, want: int) -> bytes:
        while want > 0 and not self._done:
            allowed = min(want, self._cap + 1 - self._produced)       # >= 1: we raise past the cap
            if self._z.unconsumed_tail:
                data = self._z.decompress(self._z.unconsumed_tail, allowed)
            elif self._z.eof:
                rest = self._z.unused_data.lstrip(b"\x00")
                while not rest:
                    more = self._src.read(_INPUT)
                    if not more:
                        self._done = True
                        return b""
                    rest = more.lstrip(b"\x00")
                self._z = zlib.decompressobj(wbits=31)               # another gzip member follows
                data = self._z.decompress(rest, allowed)
            else:
                chunk = self._src.read(_INPUT)
                if not chunk:
                    raise EOFError(f"{self.name}: the gzip stream ended before its end marker (truncated)")
                data = self._z.decompress(chunk, allowed)
            if data:
                self._produced += len(data)
                if self._produced > self._cap:
                    raise FileTooLarge(self.name, f"must decompress to at most {self._cap:,} bytes; got more "
                                                  f"(stopped at {self._produced:,})")
                return data
        return b""

    def close(self) -> None:
        if not self.closed and self._close_source:
            self._src.close()
        super().close()


def open_gzip_capped(source, cap: int, *, root=None, name=None):
    """A buffered binary reader over the decompressed content of a gzip file or stream, refused
    past ``cap`` decompressed bytes (see ``CappedGzipReader``); a path is opened with ``open_regular``."""
    if isinstance(source, (str, bytes, os.PathLike)):
        f = open_regular(source, root=root)
        return io.BufferedReader(CappedGzipReader(f, cap, name or os.fspath(source), close_source=True))
    return io.BufferedReader(CappedGzipReader(source, cap, name))
