"""A small builder over the ``onnx`` package's own helpers (``onnx.helper``, ``onnx.numpy_helper``):
unique tensor names, constants from NumPy arrays, nodes, a module's nodes (``emit``), and the final
``ModelProto`` at the stated opset. No PyTorch, no tracing: the graph is written from the model's description."""
from __future__ import annotations

import numpy as np

from .layers import emit

#: the ONNX operator set the exported files use (ONNX 1.12+, onnxruntime 1.12+)
OPSET = 17
#: the IR version matching opset 17, so that older runtimes accept the file
IR_VERSION = 8


def onnx_type(dtype) -> int:
    """The ONNX element type of a NumPy dtype (float32, float64, int64, bool, str)."""
    from onnx import TensorProto

    dt = np.dtype(dtype)
    table = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
             np.dtype(np.int64): TensorProto.INT64, np.dtype(np.bool_): TensorProto.BOOL}
    if dt.kind == "U":
        return TensorProto.STRING
    if dt not in table:
        raise TypeError(f"ONNX export handles float32, float64, int64, bool and string tensors; got {dt}")
    return table[dt]


class Graph:
    """Nodes and constants being collected for one ONNX graph."""

    def __init__(self, name: str):
        self.name = name
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet, derived from ``hint``."""
        hint = hint.replace("/", "_") or "t"
        name, i = hint, 1
        while name in self._used:
            i += 1
            name = f"{hint}_{i}"
        self._used.add(name)
        return name

    def const(self, value, hint: str, dtype=None) -> str:
        """A constant tensor (an initializer) holding ``value``; returns its name."""
        from onnx import numpy_helper

        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        if arr.dtype.kind == "U":                   # class names: a string tensor
            from onnx import helper
            self.initializers.append(helper.make_tensor(name, onnx_type(arr.dtype), arr.shape,
                                                        [s.encode("utf-8") for s in arr.ravel().tolist()]))
        else:
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list, hint: str, **attributes) -> str:
        """Add one node with one output; returns the output's name."""
        from onnx import helper

        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=self.fresh(f"{hint}_{op}"), **attributes))
        return out

    def emit(self, spec: dict, state: dict, x: str, prefix: str = "") -> str:
        """The nodes of the module ``spec`` describes (its type's ``onnx_nodes``) on tensor ``x``."""
        return emit(self, spec, state, x, prefix)

    def cast(self, x: str, dtype, hint: str) -> str:
        return self.node("Cast", [x], hint, to=onnx_type(dtype))

    def add_input(self, name: str, dtype, shape) -> str:
        from onnx import helper

        self._used.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, onnx_type(dtype), list(shape)))
        return name

    def add_output(self, x: str, name: str, dtype, shape) -> None:
        """Expose tensor ``x`` as the graph output ``name`` (through an Identity if named otherwise)."""
        from onnx import helper

        if x != name:
            self._used.add(name)
            self.nodes.append(helper.make_node("Identity", [x], [name], name=self.fresh(f"{name}_Identity")))
        self.outputs.append(helper.make_tensor_value_info(name, onnx_type(dtype), list(shape)))

    def model(self, doc: str, metadata: dict):
        """The checked ``ModelProto`` (``onnx.checker.check_model`` with ``full_check=True``)."""
        import onnx
        from onnx import helper

        from ... import __version__

        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers, doc_string=doc)
        model = helper.make_model(graph, producer_name="chainrule", producer_version=__version__,
                                  opset_imports=[helper.make_opsetid("", OPSET)], doc_string=doc)
        model.ir_version = IR_VERSION
        helper.set_model_props(model, {k: str(v) for k, v in metadata.items()})
        onnx.checker.check_model(model, full_check=True)
        return model
