"""Model files: safetensors for the arrays, JSON for the architecture and preprocessing. No pickle.

``save(obj, path)`` writes a network (any ``Module``, nested containers included), a fitted
chainrule estimator, or a scikit-learn ``Pipeline`` of saveable steps ending in one, to a single
``.safetensors`` file; ``load(path)`` rebuilds it. Writes are atomic.

Layout of the file:

- The network's parameters and buffers keep their PyTorch names and layouts (``0.weight`` of
  shape (out, in), ``1.running_mean``...), so the same tensors load into the equivalent
  ``torch.nn`` model (the mapping: user guide, Model files).
- Every other array (preprocessing statistics, numeric class labels...) is named ``extra.<path>``.
- The metadata entry ``chainrule`` holds the JSON description; ``chainrule.sha256`` a SHA-256 over
  that description and every tensor, so a truncated or altered file is refused with one error.

How objects describe themselves (no class ladders here): a module by ``Module.spec()``, rebuilt
by ``registry.build_module``; an estimator or transformer by ``get_params()`` and the fitted
attributes its class lists in ``_fitted_attributes`` (or the registry lists for scikit-learn's
scalers), rebuilt from the class the registry names. That encoding and decoding lives in
``format.py``; this module owns the file around it (safetensors container, checksum, atomic
write) and the public functions. It imports neither the estimators nor scikit-learn.

Hostile files are refused before they cost memory: only regular files are read; the declared
shapes of a network are checked against the tensors actually present before anything is built;
tensor dtypes come from a closed list; the description's size and nesting depth are bounded; a
stored attribute can only be one its class declares, never a method.
"""
from __future__ import annotations

import hashlib
import json
import math
import os

import numpy as np

from .atomic import atomic_write_bytes
from .format import ModelFileError, _legacy_spec, _Reader, _Writer
from .safe import UnsafeFileError, cap, loads_json, open_regular, read_capped
from ..core.module import Module

__all__ = ["save", "load", "read", "network_state", "architecture", "FORMAT", "VERSION"]

FORMAT = "chainrule-model"
VERSION = 2
MAX_DESCRIPTION_BYTES = 16 * 2**20
TENSOR_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
                 "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64, "F16": np.float16,
                 "F32": np.float32, "F64": np.float64}


# ---- files --------------------------------------------------------------------------------------------
def _digest(description: str, tensors: dict) -> str:
    h = hashlib.sha256(description.encode("utf-8"))
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key])    # (a 0-d array hashes as shape (1,), as in 0.1's files)
        h.update(f"\0{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(obj, path) -> None:
    """Write a network, a fitted estimator or a Pipeline ending in one to a ``.safetensors`` file.

    The arrays go in as tensors (a network's under PyTorch's names), everything else as a JSON
    description with a SHA-256 over both, so ``load`` rebuilds the object without pickle and
    refuses a damaged file. The write is atomic: an interrupted save leaves any old file intact.

    Parameters
    ----------
    obj : Module, estimator or Pipeline
        A chainrule network (any nesting of containers), a fitted chainrule estimator or
        transformer, or a scikit-learn ``Pipeline`` of saveable steps (chainrule's, and
        scikit-learn's ``StandardScaler`` and ``MinMaxScaler``).
    path : str or path-like
        The file to write (conventionally ``model.safetensors``).

    Raises
    ------
    TypeError
        If ``obj``, or something it holds, is not saveable (the message names its path inside
        ``obj`` and chainrule's equivalent when there is one).
    """
    from safetensors.numpy import save as st_save

    w = _Writer()
    if isinstance(obj, Module):
        body = w.module(obj, "model")
    elif hasattr(obj, "get_params") or hasattr(obj, "steps"):
        body = w.estimator(obj, "model")
    else:
        raise TypeError(f"save takes a Module, a chainrule estimator or a Pipeline; got {type(obj).__name__}")
    description = json.dumps({"format": FORMAT, "version": VERSION, "object": body}, sort_keys=True)
    metadata = {"chainrule": description, "chainrule.sha256": _digest(description, w.tensors), "format": "np"}
    atomic_write_bytes(path, st_save(w.tensors, metadata=metadata))


def _read_bytes(path) -> bytes:
    """The bytes of a regular file inside its folder (no FIFO, device, folder, or link leading out
    of the folder: ``safe.open_regular``) of at most ``safe.cap("model")`` bytes
    (``CHAINRULE_MAX_MODEL_BYTES``); ModelFileError otherwise."""
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a folder; give the model file (model.safetensors) inside it")
    try:
        limit = cap("model")
        with open_regular(path, root=os.path.dirname(os.path.abspath(path)), max_size=limit, kind="model") as f:
            return read_capped(f, limit, name=os.fspath(path))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except UnsafeFileError as exc:
        raise ModelFileError(f"{path} is refused: {exc.reason}") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None


def _parse_header(data: bytes, path):
    """safetensors' own header (tensor names, dtypes, shapes, offsets), checked before any tensor
    is copied: dtypes from a closed list, offsets inside the file, sizes that match the shapes."""
    if len(data) < 8:
        raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): {len(data)} bytes")
    n = int.from_bytes(data[:8], "little")
    if n > min(len(data) - 8, MAX_DESCRIPTION_BYTES + 2**20):
        raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): a header of {n} bytes")
    try:
        header = loads_json(data[8:8 + n], "its header")
    except UnsafeFileError as exc:
        raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): {exc}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} is not a valid model file: its header is not a mapping")
    body = len(data) - 8 - n
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(entry, dict) or entry.get("dtype") not in TENSOR_DTYPES:
            raise ModelFileError(f"{path}: tensor {key!r} has an unsupported dtype "
                                 f"{entry.get('dtype') if isinstance(entry, dict) else entry!r}")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
                and isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) for o in offsets) and 0 <= offsets[0] <= offsets[1] <= body):
            raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): tensor {key!r} "
                                 "has an invalid shape or lies beyond the end of the file")
        size = math.prod(shape) * np.dtype(TENSOR_DTYPES[entry["dtype"]]).itemsize
        if size != offsets[1] - offsets[0]:
            raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): tensor {key!r} "
                                 f"declares shape {tuple(shape)} but holds {offsets[1] - offsets[0]} bytes")
    meta = header.get("__metadata__", {})
    return meta if isinstance(meta, dict) else {}


def read(path):
    """The JSON description and the tensors of a model file, verified but not rebuilt.

    Every check happens here, before anything is built: a regular file only, safetensors' header
    (dtypes from a closed list, offsets inside the file), the checksum over description and
    tensors, the format name and a version this chainrule can read.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.

    Returns
    -------
    description : dict
        The decoded description (``format``, ``version`` and ``object``).
    tensors : dict of str to ndarray
        Every tensor of the file, by name.

    Raises
    ------
    ModelFileError
        If the file is missing, not a regular file, truncated, altered, not a chainrule model,
        or written by a newer chainrule.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    data = _read_bytes(path)
    metadata = _parse_header(data, path)
    description = metadata.get("chainrule")
    if description is None:
        raise ModelFileError(f"{path} is a safetensors file but not a chainrule model (no description); "
                             "load its tensors with safetensors directly")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a valid model file (truncated or damaged?): {exc}") from None
    del data
    if _digest(description, tensors) != metadata.get("chainrule.sha256"):
        raise ModelFileError(f"{path} has been altered or damaged: its checksum does not match its contents")
    try:
        desc = loads_json(description, "the model description")
    except UnsafeFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: unknown format {desc.get('format') if isinstance(desc, dict) else None!r}")
    version = desc.get("version", 1)
    if not isinstance(version, int) or version > VERSION:
        raise ModelFileError(f"{path} was written by a newer chainrule (format version {version!r})")
    return desc, tensors


def load(path):
    """Rebuild what ``save`` wrote.

    Classes are looked up in ``registry.SAVEABLE`` (never imported by name from the file), and a
    network's declared shapes are checked against its tensors before it is allocated. Files of
    chainrule 0.1 (format version 1) load too.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.

    Returns
    -------
    Module, estimator or Pipeline
        The saved object; networks come back in evaluation mode (dropout off, batch norm on
        its running statistics), ready for ``predict``.

    Raises
    ------
    ModelFileError
        If the file fails ``read``'s checks, or its description does not fit its tensors or
        names a class or attribute chainrule does not load.
    """
    desc, tensors = read(path)
    reader = _Reader(tensors, legacy=desc.get("version", 1) < 2)
    try:
        return reader.value(desc["object"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the model description does not fit the tensors: {exc}") from None


def network_state(path) -> dict:
    """The network's tensors of a model file, under their PyTorch names, without rebuilding it.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.

    Returns
    -------
    dict of str to ndarray
        ``0.weight``, ``1.running_mean``... in PyTorch's layouts (``torch.nn.Module.load_state_dict``
        takes them after ``torch.from_numpy``); the ``extra.`` entries (preprocessing, labels)
        are left out.

    Raises
    ------
    ModelFileError
        If the file fails ``read``'s checks.
    """
    _, tensors = read(path)
    return {k: v for k, v in tensors.items() if not k.startswith("extra.")}


def architecture(path_or_module) -> dict:
    """The description of a network (``Module.spec()``), from a model file or a module.

    Lets a tool show or rebuild an architecture (``registry.build_module``) without loading the
    weights or the estimator around it.

    Parameters
    ----------
    path_or_module : str, path-like or Module
        A file written by ``save`` (its first network, breadth first: an estimator's
        ``model_``), or a network.

    Returns
    -------
    dict
        ``{"type": ..., "config": ...}``, nested for containers; chainrule 0.1 files are
        translated to the current form.

    Raises
    ------
    ModelFileError
        If the file fails ``read``'s checks or holds no network.
    """
    if isinstance(path_or_module, Module):
        return path_or_module.spec()
    desc, _ = read(path_or_module)
    obj = desc["object"]
    stack = [obj]
    while stack:                              # the first network in the description
        v = stack.pop(0)
        if isinstance(v, dict):
            if "__module__" in v:
                return _legacy_spec(v["__module__"]) if desc.get("version", 1) < 2 else v["__module__"]
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    raise ModelFileError(f"{path_or_module} holds no network")
