"""A network trained on the fused path exports as on the reference path: its ONNX graph and its
PyTorch module compute what both chainrule paths compute (1e-5, float32)."""
import numpy as np
import pytest

from chainrule import io
from chainrule.architectures import lenet
from fused_helpers import rel

pytest.importorskip("numba")


def both_paths(build):
    fused = build(lambda: lenet(1, 10, 12, rng=0), True)
    ref = build(lambda: lenet(1, 10, 12, rng=0), False)
    x = np.random.default_rng(0).standard_normal((6, 1, 12, 12)).astype(np.float32)
    y_f, y_r = fused.forward(x), ref.forward(x)
    assert fused._fused_ran and not ref.__dict__.get("_fused_ran")
    return fused, x, y_f, y_r


def test_onnx_export_agrees_with_both_paths(build, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    fused, x, y_f, y_r = both_paths(build)
    path = tmp_path / "lenet.onnx"
    io.export_onnx(fused, path, input_shape=(1, 12, 12))
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert rel(y_f, out) <= 1e-5 and rel(y_r, out) <= 1e-5


def test_to_torch_agrees_with_both_paths(build):
    torch = pytest.importorskip("torch")
    fused, x, y_f, y_r = both_paths(build)
    with torch.no_grad():
        out = io.to_torch(fused)(torch.from_numpy(x)).numpy()
    assert rel(y_f, out) <= 1e-5 and rel(y_r, out) <= 1e-5
