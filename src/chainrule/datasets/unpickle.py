"""A restricted unpickler for the CIFAR-10 python version: plain data and NumPy arrays, nothing
that runs code, at a cost bounded by the size of the pickle.

``pickle.load`` can call any function a file names; the standard ``find_class`` restriction stops
that but not a pickle that builds too much: a list holding itself many times (``np.asarray`` of
it asks for n^32 elements), a chain of tuples each holding the previous one twice (2^k leaves
from k opcodes), ``numpy.ndarray((10**12,))`` called directly, a dtype with a huge sub-array, or
millions of one-byte ``EMPTY_LIST`` opcodes (64 bytes of memory each). This unpickler runs the
standard library's pure-Python one opcode by opcode and adds, before each object is kept:

- only the globals numpy.ndarray (as an argument, never called), numpy.dtype (closed list of
  numeric types), numpy's ``_reconstruct`` (only its empty placeholder) and ``_codecs.encode``
  (latin-1 only, how Python 3 writes bytes in protocol 2);
- opcodes that make instances, sets, out-of-band or preallocated buffers, or call persistent
  ids and extension codes are refused;
- a second reference (memo ``GET`` or ``DUP``) to a list, dict or array is refused (that is how
  self-referencing and shared structures are built; plain data never needs one), and a second
  reference to an immutable value is charged its full expanded size again;
- every object built is charged its size, and loading stops with ``UnpicklingError`` once the
  total passes ``max_bytes`` (default twice the pickle plus 1 MiB; a CIFAR batch needs ~1.1x);
- array data is checked against its shape and dtype and wrapped without a copy (read-only).
"""
from __future__ import annotations

import io
import pickle
import sys

import numpy as np

from ..errors import DatasetCorrupt

DTYPES = frozenset(np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"))
OBJECT_COST = 64          # an upper bound on a small object, a list slot, a dict entry or a memo entry
_LEAVES = (bytes, str, int, float, bool, type(None))


class _NdarrayClass:
    """Stands for numpy.ndarray where a pickle names it (as ``_reconstruct``'s first argument)."""

    def __repr__(self):
        return "numpy.ndarray"


class _PendingArray:
    """What ``_reconstruct`` returns: an array waiting for its state (shape, dtype, data)."""


_NDARRAY = _NdarrayClass()
_RECONSTRUCT_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


def _as_text(value, what: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin1")
    if not isinstance(value, str) or len(value) > 16:
        raise pickle.UnpicklingError(f"{what} must be a short string; got {type(value).__name__}")
    return value


def _latin1_encode(text, encoding="latin1"):
    """What protocol-2 pickles written by Python 3 use to rebuild bytes; only latin-1 is admitted."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _reconstruct(pending: list, cls, shape, typecode):
    """numpy's ``_reconstruct(ndarray, (0,), b'b')`` only: a placeholder that BUILD fills."""
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError(f"refused numpy _reconstruct({cls!r}, {shape!r}, {typecode!r})")
    pending[0] += 1
    return _PendingArray()


def _make_dtype(name, align=False, copy=True):
    """numpy.dtype(name, align, copy) for a plain numeric type only (a fresh instance: BUILD sets it)."""
    name = _as_text(name, "a dtype name")
    if align not in (False, 0) or copy not in (True, 1):
        raise pickle.UnpicklingError(f"refused numpy.dtype({name!r}, align={align!r}, copy={copy!r})")
    try:
        dt = np.dtype(name)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.fields is not None or dt.subdtype is not None or dt.newbyteorder("=") not in DTYPES:
        raise pickle.UnpicklingError(f"refused numpy.dtype({name!r}): only bool, integer and float types are data")
    return np.dtype(name, False, True)


class RestrictedUnpickler(pickle._Unpickler):  # safe: plain data and arrays only, sizes bounded
    """Admits only dicts, lists, tuples, strings, bytes, numbers and NumPy arrays of numeric
    dtypes, and refuses a pickle that would build more than ``max_bytes`` (see the module;
    default 2 x ``size`` + 1 MiB, ``size`` being the pickle's length, or what is left of a
    seekable ``file``)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, *, encoding: str = "bytes", max_bytes: int | None = None, size: int | None = None):
        super().__init__(file, encoding=encoding)
        if max_bytes is None:
            if size is None:                  # what is left of the file, if it can tell
                here = file.tell()
                size = file.seek(0, io.SEEK_END) - here
                file.seek(here)
            max_bytes = 2 * size + (1 << 20)
        self.max_bytes = int(max_bytes)
        self.built = 0
        read = self._file_read

        def read_exactly(n):          # the pure-Python unpickler trusts declared lengths; we do not
            data = read(n)
            if len(data) < n:
                raise pickle.UnpicklingError("pickle data was truncated")
            return data

        self._file_read = read_exactly
        pending = self._pending_arrays = [0]            # a closure, not a bound method: no reference cycle
        self._reconstruct_fn = lambda cls, shape, typecode: _reconstruct(pending, cls, shape, typecode)
        self._callables = (self._reconstruct_fn, _make_dtype, _latin1_encode)

    # -- what may be named, and called -------------------------------------------------------
    def find_class(self, module, name):
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return _make_dtype
        if module in _RECONSTRUCT_MODULES and name == "_reconstruct":
            return self._reconstruct_fn
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise pickle.UnpicklingError(f"refused to load the global {module}.{name}")

    # -- accounting ----------------------------------------------------------------------------
    def _charge(self, n: int) -> None:
        self.built += n
        if self.built > self.max_bytes:
            raise pickle.UnpicklingError(f"the pickle builds more than {self.max_bytes:,} bytes of objects; "
                                         "refused before building the rest")

    def _second_reference(self, obj) -> None:
        """Charge one more reference to ``obj`` as if it were copied; refuse it if mutable."""
        total, todo = 0, [obj]
        while todo:
            o = todo.pop()
            if type(o) is tuple:
                total += OBJECT_COST + 8 * len(o)
                todo.extend(o)
            elif isinstance(o, _LEAVES):
                total += OBJECT_COST + sys.getsizeof(o)
            elif isinstance(o, np.dtype) or o is _NDARRAY or any(o is c for c in self._callables):
                total += OBJECT_COST
            else:
                raise pickle.UnpicklingError(f"refused a second reference to a {type(o).__name__}: self-referencing "
                                             "or shared structures are not plain data")
            if self.built + total > self.max_bytes:
                break
        self._charge(total)

    # -- the opcodes that need more than the standard behaviour ---------------------------------
    def load_get(self):
        pickle._Unpickler.load_get(self)
        self._second_reference(self.stack[-1])

    def load_binget(self):
        pickle._Unpickler.load_binget(self)
        self._second_reference(self.stack[-1])

    def load_long_binget(self):
        pickle._Unpickler.load_long_binget(self)
        self._second_reference(self.stack[-1])

    def load_dup(self):
        self._second_reference(self.stack[-1])
        self.append(self.stack[-1])

    def load_frame(self):
        size = int.from_bytes(self.read(8), "little")
        self._charge(size)                                  # the frame is copied into a buffer
        self._unframer.load_frame(size)

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if not any(func is c for c in self._callables) or type(args) is not tuple:
            raise pickle.UnpicklingError(f"refused to call {func!r}")
        self.stack[-1] = func(*args)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, _PendingArray):
            self.stack[-1] = self._array(state)
            self._pending_arrays[0] -= 1
        elif isinstance(inst, np.dtype):
            self._dtype_state(inst, state)
        else:
            raise pickle.UnpicklingError(f"refused to set the state of a {type(inst).__name__}")

    def _dtype_state(self, dt, state):
        if type(state) is not tuple or len(state) != 8 or state[0] != 3 \
                or any(s is not None for s in state[2:5]) or not all(type(s) is int for s in state[5:8]):
            raise pickle.UnpicklingError(f"refused the dtype state {state!r:.80}")
        order = _as_text(state[1], "a byte order")
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"refused the byte order {order!r}")
        itemsize = dt.itemsize
        dt.__setstate__((state[0], order) + state[2:])
        if dt.itemsize != itemsize or dt.fields is not None or dt.subdtype is not None:
            raise pickle.UnpicklingError("refused a dtype state that changes the type")

    def _array(self, state):
        if type(state) is tuple and len(state) == 5:
            state = state[1:]
        if type(state) is not tuple or len(state) != 4:
            raise pickle.UnpicklingError("refused an array state that is not (shape, dtype, fortran, data)")
        shape, dtype, fortran, data = state
        if type(shape) is not tuple or len(shape) > 32 or not all(type(d) is int and d >= 0 for d in shape):
            raise pickle.UnpicklingError(f"refused the array shape {shape!r:.80}")
        if not isinstance(dtype, np.dtype) or dtype.newbyteorder("=") not in DTYPES:
            raise pickle.UnpicklingError(f"refused the array dtype {dtype!r:.80}")
        if type(data) is not bytes:
            raise pickle.UnpicklingError(f"refused array data of type {type(data).__name__}")
        nbytes = dtype.itemsize
        for d in shape:
            nbytes *= d
        if nbytes != len(data):
            raise pickle.UnpicklingError(f"the array data must be {nbytes:,} bytes for shape {shape} of "
                                         f"{dtype.name}; got {len(data):,}")
        self._charge(OBJECT_COST)
        return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")

    def load(self):
        result = super().load()
        if self._pending_arrays[0]:
            raise pickle.UnpicklingError("refused an array that was never given its data")
        return result


def _charged(fn, sized: bool, cost: int = OBJECT_COST):
    if sized:
        def run(self):
            fn(self)
            self._charge(cost + sys.getsizeof(self.stack[-1]))
    else:
        def run(self):
            fn(self)
            self._charge(cost)
    run.__name__ = fn.__name__
    return run


def _refused(opname: str):
    def run(self):
        raise pickle.UnpicklingError(f"refused the pickle opcode {opname}: plain data does not need it")
    return run


def _build_dispatch():
    d = RestrictedUnpickler.dispatch
    names = {op.code.encode("latin1")[0]: op.name for op in __import__("pickletools").opcodes}
    refused = {"PERSID", "BINPERSID", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4",
               "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER", "EMPTY_SET", "ADDITEMS", "FROZENSET"}
    sized = {"INT", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES",
             "SHORT_BINBYTES", "BINBYTES8", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
             "EMPTY_LIST", "EMPTY_DICT", "LIST", "DICT", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "REDUCE"}
    own = {"GET": RestrictedUnpickler.load_get, "BINGET": RestrictedUnpickler.load_binget,
           "LONG_BINGET": RestrictedUnpickler.load_long_binget, "DUP": RestrictedUnpickler.load_dup,
           "FRAME": RestrictedUnpickler.load_frame, "REDUCE": RestrictedUnpickler.load_reduce,
           "BUILD": RestrictedUnpickler.load_build}
    for code in list(d):
        name = names[code]
        if name in refused:
            d[code] = _refused(name)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            d[code] = _charged(d[code], False, 2 * OBJECT_COST)
        else:
            d[code] = _charged(own.get(name, d[code]), name in sized)


_build_dispatch()


def safe_unpickle(data: bytes, name: str = "pickle", *, max_bytes: int | None = None):
    """Decode a pickle of plain data with ``RestrictedUnpickler`` (never ``pickle.load``); refuse
    anything else, or anything building more than ``max_bytes`` (default 2 x len(data) + 1 MiB),
    with ``DatasetCorrupt``. Arrays come back read-only, sharing the pickle's bytes."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), max_bytes=max_bytes, size=len(data)).load()
    except pickle.UnpicklingError as exc:
        raise DatasetCorrupt(f"{name}: {exc}; refusing the file") from None
    except Exception as exc:  # malformed stream: IndexError, KeyError, TypeError, ValueError, EOFError...
        raise DatasetCorrupt(f"{name}: not a valid CIFAR pickle: {exc}") from None
