"""NumPy arrays from files that may be hostile: ``.npy`` files and ``.npz`` archives read like
``np.load(path, allow_pickle=False)``, but with every size checked against a cap and against the
file before a byte of data is allocated (the shape x itemsize an ``.npy`` header declares, the
uncompressed sizes a zip archive declares). Built on ``safe.open_regular``.
"""
from __future__ import annotations

import math
import os
import zipfile
import zlib

import numpy as np

from .safe import CHUNK, FileTooLarge, UnsafeFileError, _raise_hint, cap, open_regular

NPY_HEADER_MAX = 1 << 16             # numpy writes headers of a few hundred bytes
NPZ_DTYPES = frozenset(np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"))


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
    if any(d < 0 for d in shape):
        raise UnsafeFileError(where, f"must start with a valid .npy header; got shape {shape}")
    return shape, fortran, dtype


def _check_dtype(dtype, where) -> None:
    if dtype.fields is not None or dtype.subdtype is not None or dtype.newbyteorder("=") not in NPZ_DTYPES:
        raise UnsafeFileError(where, f"must hold one of {_dtype_names()}; got dtype {dtype.str}")


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


def load_npy_capped(path, max_bytes: int | None = None, *, root=None, kind: str = "array") -> np.ndarray:
    """The array of an ``.npy`` file, like ``np.load(path, allow_pickle=False)`` but refused before
    anything is allocated when its header declares more than ``max_bytes`` of data (default
    ``cap(kind)``) or more than the file holds.

    Order of the checks: a regular file (``open_regular``) of at most ``max_bytes`` plus a header;
    a valid header of at most 64 KiB; a plain numeric or boolean dtype (never object or
    structured); shape x itemsize within ``max_bytes``; header plus data exactly the file's size.
    Only then is the data read, in chunks, into an array of that size. Raises ``UnsafeFileError``
    (``FileTooLarge`` for the cap) naming the file; a missing file ``FileNotFoundError``.
    """
    name = os.fspath(path)
    limit = cap(kind) if max_bytes is None else int(max_bytes)
    hint = _raise_hint(kind) if max_bytes is None else ""
    with open_regular(path, root=root, max_size=limit + NPY_HEADER_MAX) as f:
        size = os.fstat(f.fileno()).st_size
        shape, fortran, dtype = _npy_header(f, name)
        _check_dtype(dtype, name)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > limit:
            raise FileTooLarge(name, f"must hold at most {limit:,} bytes of data; its header declares {shape} of "
                                     f"{dtype.name}, {nbytes:,} bytes (refused before reading){hint}")
        header = f.tell()
        if header + nbytes != size:
            raise UnsafeFileError(name, f"declares {shape} of {dtype.name} ({header + nbytes:,} bytes with the "
                                        f"header) but the file has {size:,} bytes (truncated or damaged?)")
        flat = _fill(f, nbytes, name)
    return flat.view(dtype).reshape(shape, order="F" if fortran else "C")


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
                        _check_dtype(dtype, where)
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
