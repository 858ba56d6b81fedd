"""Opening and reading files that may be hostile, at a cost bounded before the first byte is read.

A data file, checkpoint or model file can be crafted to hang a reader or exhaust its memory: a
FIFO or a device in place of a file, a symbolic link out of its folder, a gzip or zip "bomb" that
expands a thousandfold, an ``.npy`` header declaring gigabytes. Each primitive here checks first
and reads second: only regular files are opened (checked with ``stat`` before ``open`` and with
``fstat`` after it, opened non-blocking and without following a final symbolic link), sizes are
compared with caps the caller derives from what the format can hold, and decompression streams
with a hard cap, stopping at cap + 1 byte. NumPy and the standard library only.
"""
from __future__ import annotations

import io
import math
import os
import stat
import zipfile
import zlib

import numpy as np

try:  # POSIX: clear O_NONBLOCK once the file is known to be regular
    import fcntl
except ImportError:  # Windows has neither fcntl nor FIFOs that open() could block on
    fcntl = None

CHUNK = 1 << 20                      # bytes read or decompressed per step
_INPUT = 1 << 16                     # compressed bytes fed to zlib per step
NPY_HEADER_MAX = 1 << 16             # numpy writes headers of a few hundred bytes
NPZ_DTYPES = frozenset(np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"))


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


def open_regular(path, *, root=None, max_size: int | None = None):
    """Open ``path`` for binary reading, refusing anything but a regular file of at most ``max_size`` bytes.

    With ``root``, the path after resolving every symbolic link must stay inside ``root`` (a link
    inside the folder to a file inside the folder is fine). Without it links are followed, but
    what they lead to must still be a regular file. The file is ``stat``-ed before it is opened
    (a FIFO or device is never opened), opened with ``O_NONBLOCK | O_NOFOLLOW``, and ``fstat``-ed
    to check it is the same regular file. Raises ``UnsafeFileError`` (or ``FileTooLarge``);
    a missing file raises ``FileNotFoundError`` as ``open`` would.
    """
    name = os.fspath(path)
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
        raise FileTooLarge(name, f"must be at most {max_size:,} bytes; got {before.st_size:,}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise UnsafeFileError(name, "changed while it was being opened; refusing it")
        if max_size is not None and after.st_size > max_size:
            raise FileTooLarge(name, f"must be at most {max_size:,} bytes; got {after.st_size:,}")
        if fcntl is not None and getattr(os, "O_NONBLOCK", 0):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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


# ---- .npz archives ----------------------------------------------------------------------------
def _npy_header(member, where):
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(member, max_header_size=NPY_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy.read_array_header_2_0(member, max_header_size=NPY_HEADER_MAX)
        else:
            raise ValueError(f"unknown .npy format version {version}")
    except (ValueError, TypeError, SyntaxError, EOFError) as exc:
        raise UnsafeFileError(where, f"must start with a valid .npy header; {exc}") from None
    return shape, fortran, dtype


def _fill(member, nbytes: int, where) -> np.ndarray:
    flat = np.empty(nbytes, dtype=np.uint8)
    view = memoryview(flat)
    pos = 0
    while pos < nbytes:
        got = member.readinto(view[pos:pos + CHUNK])
        if not got:
            raise UnsafeFileError(where, f"is truncated: expected {nbytes:,} bytes of data; got {pos:,}")
        pos += got
    if member.read(1):                               # also makes zipfile check the CRC
        raise UnsafeFileError(where, f"holds more than the {nbytes:,} bytes its header declares")
    return flat


def load_npz_capped(path, max_total_bytes: int, max_members: int, *, root=None) -> dict:
    """The arrays of an ``.npz`` file as ``{name: array}``, like ``np.load(path, allow_pickle=False)``
    but refusing a hostile archive before it is decompressed.

    Before a member is decompressed: the archive has at most ``max_members`` entries, each a
    ``.npy`` file stored or deflated, and its declared uncompressed size fits what is left of
    ``max_total_bytes``. Then its ``.npy`` header is read (a few hundred bytes): the dtype must be
    one of ``NPZ_DTYPES`` (never object or structured), the data size (shape x itemsize) must
    fit the budget and equal the declared size minus the header. Only then is the data read,
    in chunks, into an array of that size; zipfile stops at the declared size and checks the CRC.
    Raises ``UnsafeFileError`` (``FileTooLarge`` for caps); a missing file ``FileNotFoundError``.
    """
    name = os.fspath(path)
    out: dict[str, np.ndarray] = {}
    with open_regular(path, root=root) as f:
        on_disk = os.fstat(f.fileno()).st_size
        try:
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            raise UnsafeFileError(name, f"must be an .npz (zip) archive; {exc}") from None
        with archive:
            infos = archive.infolist()
            if len(infos) > max_members:
                raise FileTooLarge(name, f"must hold at most {max_members:,} arrays; got {len(infos):,} entries")
            declared = sum(i.file_size for i in infos)
            if declared > max_total_bytes + len(infos) * NPY_HEADER_MAX:
                raise FileTooLarge(name, f"must decompress to at most {max_total_bytes:,} bytes of arrays; "
                                         f"its entries declare {declared:,}")
            used = 0
            for info in infos:
                where = f"{name}: member {info.filename!r}"
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise UnsafeFileError(where, "must be a .npy array (an .npz holds nothing else)")
                key = info.filename[:-4]
                if key in out:
                    raise UnsafeFileError(where, "must appear once; got a second entry of that name")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 1:
                    raise UnsafeFileError(where, "must be stored or deflated, unencrypted")
                if info.compress_size > on_disk:
                    raise UnsafeFileError(where, f"declares {info.compress_size:,} compressed bytes in a file "
                                                 f"of {on_disk:,}")
                if info.file_size > max_total_bytes - used + NPY_HEADER_MAX:
                    raise FileTooLarge(where, f"must decompress to at most {max_total_bytes - used:,} bytes; "
                                              f"it declares {info.file_size:,}")
                try:
                    with archive.open(info) as member:
                        shape, fortran, dtype = _npy_header(member, where)
                        if dtype.fields is not None or dtype.subdtype is not None or \
                                dtype.newbyteorder("=") not in NPZ_DTYPES:
                            raise UnsafeFileError(where, f"must hold one of {_dtype_names()}; got dtype {dtype.str}")
                        nbytes = math.prod(shape) * dtype.itemsize
                        header = member.tell()
                        if nbytes > max_total_bytes - used:
                            raise FileTooLarge(where, f"must hold at most {max_total_bytes - used:,} bytes; its "
                                                      f"header declares {shape} of {dtype.name}, {nbytes:,} bytes")
                        if header + nbytes != info.file_size:
                            raise UnsafeFileError(where, f"declares {shape} of {dtype.name} ({header + nbytes:,} "
                                                         f"bytes with the header) but the zip entry {info.file_size:,}")
                        flat = _fill(member, nbytes, where)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    if isinstance(exc, UnsafeFileError):
                        raise
                    raise UnsafeFileError(where, f"is damaged: {exc}") from None
                used += nbytes
                out[key] = flat.view(dtype).reshape(shape, order="F" if fortran else "C")
    return out


def _dtype_names() -> str:
    return ", ".join(sorted(d.name for d in NPZ_DTYPES))
