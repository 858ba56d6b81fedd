"""Everything chainrule writes and reads: model files, their safe reading, atomic writes and locks,
and the two ways out to other runtimes (ONNX and PyTorch).

- ``files.py``: ``save`` / ``load`` / ``read`` of ``.safetensors`` model files (no pickle); ``format.py``:
  what goes inside them (a JSON description and named tensors, and back);
- ``safe.py``: the guarded reader (regular files only, a size cap per kind, bounded JSON), used for
  every file chainrule opens on a user's or a file's say-so; ``safe_arrays.py``: ``.npy`` and ``.npz``
  checked before allocating; ``atomic.py``: writes that are whole or absent, and a folder replaced
  whole; ``lock.py``: one writer per run folder;
- ``export/``: ONNX graphs (``export_onnx``); ``pytorch.py``: the same network as ``torch.nn``
  (``to_torch``).

It depends on the core, the layers and the registry, never on the estimators or scikit-learn (the
registry names those classes as import paths, resolved when a file names them).
"""
from .export import export_onnx, to_onnx
from .files import FORMAT, VERSION, architecture, load, network_state, read, save
from .format import ModelFileError
from .pytorch import to_torch

__all__ = ["save", "load", "read", "network_state", "architecture", "export_onnx", "to_onnx", "to_torch",
           "ModelFileError", "FORMAT", "VERSION"]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
