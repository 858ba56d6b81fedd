"""The IDX format of MNIST: a magic number, the dimensions, then the data, big-endian."""
from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt

# IDX type code -> NumPy dtype (big-endian)
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
DTYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
               np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def _open(path: Path):
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_exact(f, n: int, name: str, what: str) -> bytes:
    try:
        data = f.read(n)
    except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream
        raise DatasetCorrupt(f"{name}: cannot read the {what}: {exc}") from None
    if len(data) != n:
        raise DatasetCorrupt(f"{name}: truncated: expected {n:,} bytes of {what}, found {len(data):,}")
    return data


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (raw or gzip-compressed) and return its array in native byte order.

    Checks: the magic number (two zero bytes, a known type code, 1 to 4 dimensions), the declared
    dimensions, and that the data is exactly as long as they say (no less, no more).
    """
    path = Path(path)
    name = str(path)
    if path.stat().st_size == 0:
        raise DatasetCorrupt(f"{name}: the file is empty")
    with _open(path) as f:
        magic = _read_exact(f, 4, name, "magic number")
        if magic[:1] == b"<":
            raise DatasetCorrupt(f"{name}: this is an HTML or XML page, not an IDX file")
        if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES or not 1 <= magic[3] <= 4:
            raise DatasetCorrupt(f"{name}: bad magic number {magic.hex()} (expected 0000 <type> <ndim>)")
        dtype, ndim = IDX_TYPES[magic[2]], magic[3]
        dims = struct.unpack(">" + "I" * ndim, _read_exact(f, 4 * ndim, name, "dimensions"))
        if any(d == 0 for d in dims):
            raise DatasetCorrupt(f"{name}: declares an empty dimension {dims}")
        count = int(np.prod(dims, dtype=np.int64))
        if count * dtype.itemsize > 1 << 33:
            raise DatasetCorrupt(f"{name}: declares {dims}, more than 8 GiB of data")
        data = _read_exact(f, count * dtype.itemsize, name, f"data of shape {dims}")
        try:
            extra = f.read(1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetCorrupt(f"{name}: damaged after the data: {exc}") from None
        if extra:
            raise DatasetCorrupt(f"{name}: has bytes beyond the {dims} it declares (wrong declared count?)")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in .gz)."""
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


def read_mnist_pair(images_path, labels_path, *, n_classes: int = 10):
    """Images (N, 28, 28) uint8 and labels (N,) uint8, checked against each other."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetCorrupt(f"{images_path}: expected unsigned bytes of shape (N, rows, cols); got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetCorrupt(f"{labels_path}: expected unsigned bytes of shape (N,); got {labels.dtype} {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DatasetCorrupt(f"{images_path} holds {images.shape[0]} images but {labels_path} {labels.shape[0]} labels")
    if labels.max() >= n_classes:
        raise DatasetCorrupt(f"{labels_path}: label {int(labels.max())} is not a class in [0, {n_classes})")
    return images, labels
