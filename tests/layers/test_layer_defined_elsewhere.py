"""A layer defined in this file, with a parameter, and one registration line: it saves and loads
through ``chainrule.io``, passes the gradient check (``chainrule.grad`` and the table that
``chainrule gradcheck`` runs), exports to ONNX (onnxruntime gives the same outputs) and converts
with ``to_torch`` (where PyTorch is installed; it is not a test dependency). No other file knows it."""
import numpy as np
import pytest

from chainrule import grad_cases, io, nn, registry
from chainrule.cli import main
from chainrule.grad import check_gradients
from chainrule.io.pytorch import Call, calls


def prelu_forward(x, a):
    """y = x for x > 0, a_c x otherwise (one slope per feature c); the cache is x."""
    return np.where(x > 0, x, a * x), x


def prelu_backward(g, x, a):
    """dL/dx = g (x > 0) + g a (x <= 0); dL/da_c = sum over the batch of g x (x <= 0)."""
    neg = x <= 0
    return np.where(neg, g * a, g), (g * x * neg).sum(axis=0)


class PReLU(nn.Module):
    """A leaky ReLU whose negative slopes, one per feature, are learned (torch.nn.PReLU)."""

    def __init__(self, num_parameters: int, init: float = 0.25, dtype=np.float32):
        super().__init__()
        self.weight = nn.Parameter(np.full(num_parameters, init, dtype=dtype))

    def forward(self, x):
        y, self._cache = prelu_forward(np.asarray(x, dtype=self.weight.value.dtype), self.weight.value)
        return y

    def backward(self, grad_output, *, need_input_grad=True):
        dx, da = prelu_backward(grad_output, self._cached(), self.weight.value)
        self.weight.accumulate(da)
        return dx if need_input_grad else None

    def get_config(self):
        return {"num_parameters": int(self.weight.value.size), "dtype": str(self.weight.value.dtype)}

    @staticmethod
    def state_shapes(config, shapes_of=None):
        return {"weight": (int(config["num_parameters"]),)}

    grad_cases = (("PReLU", lambda d, r: _slopes(PReLU(d, dtype=np.float64), r),
                   lambda s, r: grad_cases.away_from_zero(r, s)),)

    @staticmethod
    def onnx_nodes(g, config, state, prefix, x):
        return g.node("PRelu", [x, g.const(state[prefix + "weight"], f"{prefix}weight")], f"{prefix}prelu")

    @staticmethod
    def torch_modules(config):
        return [("PReLU", (int(config["num_parameters"]),), {})]


def _slopes(layer, rng):
    layer.weight.value = rng.uniform(-0.5, 0.5, layer.weight.value.size)
    return layer


@pytest.fixture
def registered():
    registry.register_layer(PReLU)                     # the one registration line
    yield
    del registry.LAYERS["PReLU"]


def _net(dtype=np.float32):
    net = nn.Sequential(nn.Linear(4, 3, rng=0, dtype=dtype), PReLU(3, dtype=dtype), nn.Linear(3, 2, rng=1, dtype=dtype))
    net[1].weight.value = np.array([0.1, -0.2, 0.3], dtype=dtype)
    return net


def _x(dtype=np.float32):
    return np.random.default_rng(0).standard_normal((16, 4)).astype(dtype)


def test_it_saves_and_loads_through_chainrule_io(registered, tmp_path):
    net = _net()
    io.save(net, tmp_path / "net.safetensors")
    loaded = io.load(tmp_path / "net.safetensors")
    assert isinstance(loaded[1], PReLU) and loaded.spec() == net.spec()
    np.testing.assert_array_equal(loaded[1].weight.value, net[1].weight.value)
    np.testing.assert_array_equal(loaded.forward(_x()), net.forward(_x()))


def test_an_unregistered_layer_is_refused_by_model_files(tmp_path):
    with pytest.raises(ValueError, match="layer type must be one of .*; got 'PReLU'"):
        io.save(_net(), tmp_path / "net.safetensors")
        io.load(tmp_path / "net.safetensors")


def test_it_passes_the_gradient_check_alone_in_a_network_and_in_the_table(registered, capsys):
    x = np.random.default_rng(1).standard_normal((5, 3))
    layer = _slopes(PReLU(3, dtype=np.float64), np.random.default_rng(2))
    report = check_gradients(layer, x)
    assert report.passed and set(report.errors) == {"input", "weight"}, str(report)
    assert check_gradients(_net(np.float64), _x(np.float64)).passed
    rows = [case for case in grad_cases.cases() if case[0] == "PReLU"]
    assert len(rows) == 1 and check_gradients(*rows[0][1:3]).passed
    assert main(["gradcheck"]) == 0
    assert "PReLU" in capsys.readouterr().out


def test_a_wrong_gradient_in_it_would_be_caught():
    layer = PReLU(3, dtype=np.float64)
    layer.backward = lambda g, need_input_grad=True: g        # forgets the slope on the negative side
    assert not check_gradients(layer, -np.abs(np.random.default_rng(3).standard_normal((4, 3)))).passed


def test_it_exports_to_onnx_with_the_same_outputs(registered, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = _net().eval()
    io.export_onnx(net, tmp_path / "net.onnx")
    session = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": _x()})[0]
    np.testing.assert_allclose(out, net.forward(_x()), rtol=1e-5, atol=1e-6)


def test_it_converts_with_to_torch(registered, tmp_path):
    assert calls(PReLU(3).spec()) == [Call("PReLU", (3,))]       # the declaration, without PyTorch
    torch = pytest.importorskip("torch")
    net = _net()
    io.save(net, tmp_path / "net.safetensors")
    for source in (net, tmp_path / "net.safetensors"):
        theirs = io.to_torch(source)
        with torch.no_grad():
            np.testing.assert_allclose(theirs(torch.from_numpy(_x())).numpy(), net.forward(_x()), rtol=1e-5, atol=1e-6)
