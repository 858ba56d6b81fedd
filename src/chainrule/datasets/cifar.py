"""CIFAR-10 readers. The binary version is plain records; the python version is pickles, read
with an unpickler that admits only plain containers and NumPy arrays (no code can run). Archive
members are read by name into memory: nothing is extracted to disk."""
from __future__ import annotations

import io
import pickle
import posixpath
import tarfile
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt

RECORD = 1 + 3072          # one label byte, then 1024 red, 1024 green, 1024 blue pixel bytes
BIN_TRAIN = tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6))
BIN_TEST = ("cifar-10-batches-bin/test_batch.bin",)
BIN_META = "cifar-10-batches-bin/batches.meta.txt"
PY_TRAIN = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
PY_TEST = ("cifar-10-batches-py/test_batch",)


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


def safe_members(tar: tarfile.TarFile, archive: str) -> dict[str, tarfile.TarInfo]:
    """Members by name; refuses an archive holding any absolute path or '..' component."""
    members = {}
    for m in tar.getmembers():
        name = m.name
        parts = posixpath.normpath(name).split("/")
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or parts[0] == "..":
            raise DatasetCorrupt(f"{archive}: refusing the archive: member {name!r} points outside its folder")
        members[name] = m
    return members


def read_members(archive, names) -> dict[str, bytes]:
    """The bytes of the named regular-file members of a tar(.gz) archive, read into memory."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = safe_members(tar, str(archive))
            out = {}
            for n in names:
                m = members.get(n)
                if m is None:
                    raise DatasetCorrupt(f"{archive}: has no member {n!r}")
                if not m.isfile():
                    raise DatasetCorrupt(f"{archive}: member {n!r} is not a regular file")
                out[n] = tar.extractfile(m).read()
            return out
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetCorrupt(f"{archive}: not a readable tar archive: {exc}") from None


def load_binary_archive(archive, subset=None):
    """(X_train, y_train, X_test, y_test, class_names) from cifar-10-binary.tar.gz."""
    names = (BIN_TRAIN if subset in (None, "train") else ()) + (BIN_TEST if subset in (None, "test") else ())
    data = read_members(archive, names + (BIN_META,))
    class_names = tuple(line.strip() for line in data[BIN_META].decode("ascii", "replace").splitlines() if line.strip())
    parts = {n: parse_binary_batch(data[n], f"{archive}:{n}") for n in names}
    return _assemble(parts, subset, BIN_TRAIN, BIN_TEST) + (class_names,)


def _assemble(parts, subset, train_names, test_names):
    Xtr = ytr = Xte = yte = None
    if subset in (None, "train"):
        Xtr = np.concatenate([parts[n][0] for n in train_names])
        ytr = np.concatenate([parts[n][1] for n in train_names])
    if subset in (None, "test"):
        Xte = np.concatenate([parts[n][0] for n in test_names])
        yte = np.concatenate([parts[n][1] for n in test_names])
    return Xtr, ytr, Xte, yte


# ---- the python version ------------------------------------------------------------------------
def _latin1_encode(text, encoding="latin1"):
    """What protocol-2 pickles written by Python 3 use to rebuild bytes; only latin-1 is admitted."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_globals():
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_encode}
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]   # numpy's _reconstruct, wherever it lives
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Admits only dicts, lists, tuples, strings, bytes, numbers and NumPy arrays (the globals
    numpy.ndarray, numpy.dtype, numpy's _reconstruct, and _codecs.encode limited to latin-1).

    Any other global (``os.system``, ``builtins.eval``, a class with a ``__reduce__``) is refused
    before it can be called, so a hostile file cannot run code.
    """

    _allowed = None

    def find_class(self, module, name):
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _numpy_globals()
        try:
            return RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load the global {module}.{name}") from None


def safe_unpickle(data: bytes, name: str = "pickle"):
    """Decode a pickle of plain data with ``RestrictedUnpickler`` (never ``pickle.load``)."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()  # safe: restricted find_class
    except pickle.UnpicklingError as exc:
        raise DatasetCorrupt(f"{name}: {exc}; refusing the file") from None
    except Exception as exc:  # malformed stream
        raise DatasetCorrupt(f"{name}: not a valid CIFAR pickle: {exc}") from None


def parse_python_batch(data: bytes, name: str = "batch"):
    d = safe_unpickle(data, name)
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DatasetCorrupt(f"{name}: expected a dict with b'data' and b'labels'")
    pixels = np.asarray(d[b"data"])
    labels = np.asarray(d[b"labels"])
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072:
        raise DatasetCorrupt(f"{name}: data must be uint8 of shape (N, 3072); got {pixels.dtype} {pixels.shape}")
    if labels.shape != (pixels.shape[0],) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise DatasetCorrupt(f"{name}: labels must be {pixels.shape[0]} integers in 0-9")
    return pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels.astype(np.uint8)


def load_python_archive(archive, subset=None):
    names = (PY_TRAIN if subset in (None, "train") else ()) + (PY_TEST if subset in (None, "test") else ())
    data = read_members(archive, names)
    parts = {n: parse_python_batch(data[n], f"{archive}:{n}") for n in names}
    return _assemble(parts, subset, PY_TRAIN, PY_TEST)
