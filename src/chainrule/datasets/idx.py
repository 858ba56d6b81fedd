"""The IDX format of MNIST: a magic number, the dimensions, then the data, big-endian.

Reading checks first: the file must be a regular file (no FIFO, device or link out of ``root``),
the header is parsed and the declared size compared with ``max_bytes`` (by default what the
largest MNIST file holds: 60,000 images of 28 x 28) before any data is read, the data is read in
chunks into an array of exactly the declared size, and a gzip stream is decompressed with a cap
of header + data + 1 byte. A gzip bomb therefore costs at most the array it claims to be.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from ..io.safe import CHUNK, UnsafeFileError, open_gzip_capped, open_regular
from ..errors import DatasetCorrupt

# IDX type code -> NumPy dtype (big-endian)
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
DTYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
               np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
MNIST_SIDE = 28
MAX_BYTES = 60_000 * MNIST_SIDE * MNIST_SIDE     # the MNIST training images: the largest MNIST file


def _read_exact(f, n: int, name: str, what: str) -> bytes:
    try:
        data = f.read(n)
    except UnsafeFileError as exc:
        raise DatasetCorrupt(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream
        raise DatasetCorrupt(f"{name}: cannot read the {what}: {exc}") from None
    if len(data) != n:
        raise DatasetCorrupt(f"{name}: truncated: expected {n:,} bytes of {what}, found {len(data):,}")
    return data


def _read_into(f, dtype: np.dtype, count: int, name: str, what: str) -> np.ndarray:
    """``count`` items of ``dtype`` read in chunks into one preallocated array (no second copy)."""
    out = np.empty(count, dtype=dtype)
    view = memoryview(out.view(np.uint8))
    nbytes, pos = count * dtype.itemsize, 0
    try:
        while pos < nbytes:
            got = f.readinto(view[pos:pos + CHUNK])
            if not got:
                break
            pos += got
    except UnsafeFileError as exc:
        raise DatasetCorrupt(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetCorrupt(f"{name}: cannot read the {what}: {exc}") from None
    if pos != nbytes:
        raise DatasetCorrupt(f"{name}: truncated: expected {nbytes:,} bytes of {what}, found {pos:,}")
    return out


def read_idx(path, *, max_bytes: int = MAX_BYTES, check=None, root=None) -> np.ndarray:
    """Parse an IDX file (raw or gzip-compressed) and return its array in native byte order.

    Checks, in this order and before the data is read: the file is a regular file (inside ``root``
    if given), the magic number (two zero bytes, a known type code, 1 to 4 dimensions), no empty
    dimension, ``check(dtype, dims)`` if given, and a declared size of at most ``max_bytes``. Then
    the data must be exactly as long as declared.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` or raw).
    max_bytes : int, default ``MAX_BYTES``
        The largest data size a header may declare.
    check : callable, optional
        ``check(dtype, dims)``, raising to refuse the header before the data is read.
    root : str or os.PathLike, optional
        If given, the file must lie inside this folder (no symbolic link out of it).

    Returns
    -------
    ndarray

    Raises
    ------
    DatasetCorrupt
        If any check fails (the message says which).
    """
    path = Path(path)
    name = str(path)
    try:
        raw = open_regular(path, root=root)
    except UnsafeFileError as exc:
        raise DatasetCorrupt(str(exc)) from None
    with raw:
        if os.fstat(raw.fileno()).st_size == 0:
            raise DatasetCorrupt(f"{name}: the file is empty")
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        # header (4 + 16 bytes at most) + the largest data allowed + 1 byte to see if there is more
        f = open_gzip_capped(raw, 20 + max_bytes + 1, name=name) if gz else raw
        magic = _read_exact(f, 4, name, "magic number")
        if magic[:1] == b"<":
            raise DatasetCorrupt(f"{name}: this is an HTML or XML page, not an IDX file")
        if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES or not 1 <= magic[3] <= 4:
            raise DatasetCorrupt(f"{name}: bad magic number {magic.hex()} (expected 0000 <type> <ndim>)")
        dtype, ndim = IDX_TYPES[magic[2]], magic[3]
        dims = struct.unpack(">" + "I" * ndim, _read_exact(f, 4 * ndim, name, "dimensions"))
        if any(d == 0 for d in dims):
            raise DatasetCorrupt(f"{name}: declares an empty dimension {dims}")
        if check is not None:
            check(dtype.newbyteorder("="), dims)
        count = math.prod(dims)
        if count * dtype.itemsize > max_bytes:
            raise DatasetCorrupt(f"{name}: the data must be at most {max_bytes:,} bytes; got a header declaring "
                                 f"{dims} of {dtype.newbyteorder('=').name}, {count * dtype.itemsize:,} bytes "
                                 "(refused before reading)")
        data = _read_into(f, dtype, count, name, f"data of shape {dims}")
        try:
            extra = f.read(1)
        except UnsafeFileError:
            extra = b"x"
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetCorrupt(f"{name}: damaged after the data: {exc}") from None
        if extra:
            raise DatasetCorrupt(f"{name}: has bytes beyond the {dims} it declares (wrong declared count?)")
    if dtype.byteorder == ">" and sys.byteorder == "little" and dtype.itemsize > 1:
        data.byteswap(inplace=True)
    return data.view(dtype.newbyteorder("=")).reshape(dims)


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    array : array_like
        Of a dtype IDX can store (uint8, int8, int16, int32, float32, float64), 1 to 4 dimensions.
    compress : bool, optional
        Gzip the file (default: when the name ends in ``.gz``).

    Raises
    ------
    TypeError
        If IDX cannot store the dtype.
    """
    array = np.asarray(array)
    if array.dtype not in DTYPE_CODES:
        raise TypeError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, DTYPE_CODES[array.dtype], array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
            g.write(payload)
        payload = buf.getvalue()
    path.write_bytes(payload)


def read_mnist_pair(images_path, labels_path, *, n_classes: int = 10, max_images: int = 60_000, root=None):
    """MNIST images and labels from their two IDX files, checked against each other.

    At most ``max_images`` images (60,000 in the training files, 10,000 in the test files) of at
    most 28 x 28 pixels; both headers are checked before any data is read.

    Parameters
    ----------
    images_path : str or os.PathLike
        The images file.
    labels_path : str or os.PathLike
        The labels file.
    n_classes : int, default 10
        Labels must be in [0, n_classes).
    max_images : int, default 60000
        The most images (and labels) a header may declare.
    root : str or os.PathLike, optional
        If given, the file must lie inside this folder (no symbolic link out of it).

    Returns
    -------
    images : ndarray of uint8, shape (N, 28, 28)
    labels : ndarray of uint8, shape (N,)

    Raises
    ------
    DatasetCorrupt
        If a header is wrong, the counts differ or a label is out of range.
    """
    def header(path, ndim, shape, what):
        def check(dtype, dims):
            if dtype != np.uint8 or len(dims) != ndim:
                raise DatasetCorrupt(f"{path}: expected unsigned bytes of shape {shape}; got {dtype} {dims}")
            if dims[0] > max_images:
                raise DatasetCorrupt(f"{path}: must hold at most {max_images:,} {what}; got a header declaring "
                                     f"{dims[0]:,}")
        return check

    images_header = header(images_path, 3, "(N, rows, cols)", "images")
    labels_header = header(labels_path, 1, "(N,)", "labels")

    images = read_idx(images_path, max_bytes=max_images * MNIST_SIDE * MNIST_SIDE, check=images_header, root=root)
    labels = read_idx(labels_path, max_bytes=max_images, check=labels_header, root=root)
    if images.shape[0] != labels.shape[0]:
        raise DatasetCorrupt(f"{images_path} holds {images.shape[0]} images but {labels_path} {labels.shape[0]} labels")
    if labels.max() >= n_classes:
        raise DatasetCorrupt(f"{labels_path}: label {int(labels.max())} is not a class in [0, {n_classes})")
    return images, labels
