"""A network trained on the fused path exports as on the reference path: its ONNX graph and its
PyTorch module compute what both chainrule paths compute (1e-5, float32)."""
import numpy as np
import pytest

from chainrule import io
from chainrule.architectures import lenet
from fused_helpers import rel

pytest.importorskip("numba")


def _mlp():
    from chainrule import nn
    return nn.Sequential(nn.Linear(20, 16, rng=0), nn.ReLU(), nn.Linear(16, 8, rng=1), nn.ReLU(),
                         nn.Linear(8, 3, rng=2))


def _resnet():
    from chainrule.architectures import resnet
    return resnet(3, 10, width=4, blocks_per_stage=1, rng=0).eval()


#: (build, input shape of one sample): the lenet chain, the ResNet chain (evaluation mode), an MLP
NETWORKS = {"lenet": (lambda: lenet(1, 10, 12, rng=0), (1, 12, 12)), "resnet": (_resnet, (3, 8, 8)),
            "mlp": (_mlp, (20,))}


@pytest.fixture(params=sorted(NETWORKS))
def network(request):
    return NETWORKS[request.param]


def both_paths(build, network):
    make, shape = network
    fused, ref = build(make, True), build(make, False)
    x = np.random.default_rng(0).standard_normal((6,) + shape).astype(np.float32)
    y_f, y_r = fused.forward(x), ref.forward(x)
    assert fused._fused_ran and not ref.__dict__.get("_fused_ran")
    return fused, x, y_f, y_r, shape


def test_onnx_export_agrees_with_both_paths(build, network, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    fused, x, y_f, y_r, shape = both_paths(build, network)
    path = tmp_path / "net.onnx"
    io.export_onnx(fused, path, input_shape=shape)
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert rel(y_f, out) <= 1e-5 and rel(y_r, out) <= 1e-5


def test_to_torch_agrees_with_both_paths(build, network):
    torch = pytest.importorskip("torch")
    fused, x, y_f, y_r, _ = both_paths(build, network)
    with torch.no_grad():
        out = io.to_torch(fused)(torch.from_numpy(x)).numpy()
    assert rel(y_f, out) <= 1e-5 and rel(y_r, out) <= 1e-5
