"""CIFAR-10 readers. The binary version is plain records; the python version is pickles, read
with a restricted unpickler (``unpickle.py``: plain containers and NumPy arrays, no code, bounded
size). Archives are streamed once, member by member, into memory: nothing is extracted to disk.

A hostile archive is refused at a bounded cost: the archive must be a regular file; its gzip
stream is decompressed with a hard cap (what 60,000 images of 3,073 bytes plus headers need, and
never more than 2 x the archive's size + 16 MiB: the real archive expands 1.08-fold); a wanted
member whose header declares more than a batch (10,000 records) is refused before it is read;
each member is parsed as soon as it is read, so at most one raw batch is held at a time.
"""
from __future__ import annotations

import os
import posixpath
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..io.safe import UnsafeFileError, open_gzip_capped, open_regular, read_capped
from ..errors import DatasetCorrupt
from .unpickle import RestrictedUnpickler, safe_unpickle  # noqa: F401  (re-exported)

RECORD = 1 + 3072          # one label byte, then 1024 red, 1024 green, 1024 blue pixel bytes
BIN_TRAIN = tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6))
BIN_TEST = ("cifar-10-batches-bin/test_batch.bin",)
BIN_META = "cifar-10-batches-bin/batches.meta.txt"
PY_TRAIN = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
PY_TEST = ("cifar-10-batches-py/test_batch",)
MAX_MEMBER = 10_000 * RECORD + (1 << 20)      # a batch: 10,000 records (+ ~0.3 MB of names in the pickles)
MAX_ARCHIVE = 60_000 * RECORD + (8 << 20)     # every image, plus tar headers, names, meta and readme
EXPANSION_SLACK = 16 << 20                     # a small archive may expand to 2 x its size + this


def decompression_cap(archive_size: int) -> int:
    """The most decompressed bytes an archive of ``archive_size`` bytes may yield."""
    return min(MAX_ARCHIVE, 2 * archive_size + EXPANSION_SLACK)


def parse_binary_batch(data: bytes, name: str = "batch"):
    """Images (N, 32, 32, 3) uint8 (height, width, channel) and labels (N,) from binary records."""
    if len(data) == 0:
        raise DatasetCorrupt(f"{name}: the batch is empty")
    if len(data) % RECORD:
        raise DatasetCorrupt(f"{name}: {len(data):,} bytes is not a whole number of {RECORD}-byte records")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        raise DatasetCorrupt(f"{name}: label {int(labels.max())} is not a CIFAR-10 class (0-9)")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def _check_name(name: str, archive) -> None:
    parts = posixpath.normpath(name).split("/")
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or parts[0] == "..":
        raise DatasetCorrupt(f"{archive}: refusing the archive: member {name!r} points outside its folder")


def read_members(archive, names, parse=None, *, root=None) -> dict:
    """``{name: parse(bytes, name)}`` (or the bytes) for the named regular-file members of a
    tar(.gz) archive, streamed once with the caps of the module docstring. Every member name is
    checked (no absolute path, no '..'); a missing or repeated wanted member is an error."""
    archive = Path(archive)
    wanted, out = set(names), {}
    try:
        with open_regular(archive, root=root) as raw:
            size = os.fstat(raw.fileno()).st_size
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = open_gzip_capped(raw, decompression_cap(size), name=str(archive)) if gz else raw
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for m in tar:
                    _check_name(m.name, archive)
                    if m.name not in wanted:
                        continue
                    if m.name in out:
                        raise DatasetCorrupt(f"{archive}: member {m.name!r} must appear once; got it twice")
                    if not m.isfile():
                        raise DatasetCorrupt(f"{archive}: member {m.name!r} is not a regular file")
                    if m.size > MAX_MEMBER:
                        raise DatasetCorrupt(f"{archive}: member {m.name!r} must be at most {MAX_MEMBER:,} bytes "
                                             f"(10,000 records); got a header declaring {m.size:,} (refused before "
                                             "reading)")
                    data = read_capped(tar.extractfile(m), m.size, name=f"{archive}:{m.name}")
                    if len(data) != m.size:
                        raise DatasetCorrupt(f"{archive}: member {m.name!r} is truncated")
                    out[m.name] = parse(data, m.name) if parse is not None else data
                    del data
    except UnsafeFileError as exc:
        raise DatasetCorrupt(f"{archive}: refusing the archive: {exc.reason}") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DatasetCorrupt(f"{archive}: not a readable tar archive: {exc}") from None
    for n in names:
        if n not in out:
            raise DatasetCorrupt(f"{archive}: has no member {n!r}")
    return out


def _assemble(parts, subset, train_names, test_names):
    Xtr = ytr = Xte = yte = None
    if subset in (None, "train"):
        Xtr = np.concatenate([parts[n][0] for n in train_names])
        ytr = np.concatenate([parts[n][1] for n in train_names])
    if subset in (None, "test"):
        Xte = np.concatenate([parts[n][0] for n in test_names])
        yte = np.concatenate([parts[n][1] for n in test_names])
    return Xtr, ytr, Xte, yte


def load_binary_archive(archive, subset=None, *, root=None):
    """(X_train, y_train, X_test, y_test, class_names) from cifar-10-binary.tar.gz."""
    names = (BIN_TRAIN if subset in (None, "train") else ()) + (BIN_TEST if subset in (None, "test") else ())

    def parse(data, member):
        if member == BIN_META:
            return tuple(line.strip() for line in data.decode("ascii", "replace").splitlines() if line.strip())
        return parse_binary_batch(data, f"{archive}:{member}")

    parts = read_members(archive, names + (BIN_META,), parse, root=root)
    return _assemble(parts, subset, BIN_TRAIN, BIN_TEST) + (parts[BIN_META],)


def parse_python_batch(data: bytes, name: str = "batch"):
    d = safe_unpickle(data, name)
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DatasetCorrupt(f"{name}: expected a dict with b'data' and b'labels'")
    pixels = d[b"data"]
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072:
        what = f"{pixels.dtype} {pixels.shape}" if isinstance(pixels, np.ndarray) else type(pixels).__name__
        raise DatasetCorrupt(f"{name}: data must be uint8 of shape (N, 3072); got {what}")
    if pixels.shape[0] == 0:
        raise DatasetCorrupt(f"{name}: the batch is empty")
    labels = d[b"labels"]
    if isinstance(labels, list) and all(type(v) is int for v in labels):
        labels = np.asarray(labels)
    if not isinstance(labels, np.ndarray):
        raise DatasetCorrupt(f"{name}: labels must be {pixels.shape[0]} integers in 0-9")
    if labels.shape != (pixels.shape[0],) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise DatasetCorrupt(f"{name}: labels must be {pixels.shape[0]} integers in 0-9")
    return pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels.astype(np.uint8)


def load_python_archive(archive, subset=None, *, root=None):
    names = (PY_TRAIN if subset in (None, "train") else ()) + (PY_TEST if subset in (None, "test") else ())
    parts = read_members(archive, names, lambda data, member: parse_python_batch(data, f"{archive}:{member}"),
                         root=root)
    return _assemble(parts, subset, PY_TRAIN, PY_TEST)
