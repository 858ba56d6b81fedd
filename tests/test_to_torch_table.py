"""``chainrule.io.to_torch``'s mapping, checked WITHOUT PyTorch: every layer type a model file may
hold (``registry.LAYERS``) declares its ``torch.nn`` equivalent (``torch_modules``) or is a container;
each declaration turns a real layer's ``get_config()`` into PyTorch's constructor arguments (written
out here by hand from torch.nn's signatures). Without PyTorch, ``to_torch`` says how to install it.
Where PyTorch is installed (not a test dependency) the converted networks are also run."""
import sys

import numpy as np
import pytest

from chainrule import io, nn, registry
from chainrule.core.module import Module
from chainrule.io.pytorch import TORCH_CONTAINERS, Call, calls, convertible
from chainrule.architectures import lenet, resnet

#: one real layer per table row, and the torch.nn calls that compute the same function
EXAMPLES = {
    "Linear": (nn.Linear(7, 3, bias=False, rng=0), [Call("Linear", (7, 3), {"bias": False})]),
    "Conv2d": (nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), rng=0),
               [Call("Conv2d", (3, 5, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "bias": True})]),
    "BatchNorm1d": (nn.BatchNorm1d(6, eps=1e-3, momentum=0.2), [Call("BatchNorm1d", (6,), {"eps": 1e-3,
                                                                                           "momentum": 0.2})]),
    "BatchNorm2d": (nn.BatchNorm2d(4), [Call("BatchNorm2d", (4,), {"eps": 1e-5, "momentum": 0.1})]),
    "MaxPool2d": (nn.MaxPool2d(3, stride=2), [Call("MaxPool2d", ((3, 3),), {"stride": (2, 2)})]),
    "AvgPool2d": (nn.AvgPool2d((2, 3)), [Call("AvgPool2d", ((2, 3),), {"stride": (2, 3)})]),
    "GlobalAvgPool2d": (nn.GlobalAvgPool2d(), [Call("AdaptiveAvgPool2d", (1,)), Call("Flatten")]),
    "Flatten": (nn.Flatten(), [Call("Flatten")]),
    "Dropout": (nn.Dropout(0.3, rng=0), [Call("Dropout", (0.3,))]),
    "Identity": (nn.Identity(), [Call("Identity")]),
    "ReLU": (nn.ReLU(), [Call("ReLU")]),
    "LeakyReLU": (nn.LeakyReLU(0.2), [Call("LeakyReLU", (0.2,))]),
    "Sigmoid": (nn.Sigmoid(), [Call("Sigmoid")]),
    "Tanh": (nn.Tanh(), [Call("Tanh")]),
    "Softmax": (nn.Softmax(), [Call("Softmax", (), {"dim": -1})]),
}


def _declares(cls):
    return cls.torch_modules is not Module.torch_modules


def test_every_registered_layer_type_converts_one_way():
    for kind, cls in registry.LAYERS.items():
        assert (kind in TORCH_CONTAINERS) != _declares(cls), f"{kind}: declare torch_modules, or be a container"
    assert set(TORCH_CONTAINERS) <= set(registry.LAYERS)            # no stale rows
    assert convertible() == list(registry.LAYERS)[:1] + ["Residual"] + [k for k in registry.LAYERS
                                                                         if k not in TORCH_CONTAINERS]


@pytest.mark.parametrize("kind", sorted(k for k, c in registry.LAYERS.items() if _declares(c)))
def test_each_declaration_maps_a_real_layers_config(kind):
    assert kind in EXAMPLES, f"add an example of {kind} to EXAMPLES"
    layer, expected = EXAMPLES[kind]
    assert type(layer).__name__ == kind
    got = calls(layer.spec())
    assert got == expected
    # names as torch.nn spells them (no import of torch: the names are checked against the table's own list)
    assert all(c.name[0].isupper() for c in got)


def test_a_layer_type_without_an_equivalent_is_named(monkeypatch):
    class Upsample(Module):
        """A layer whose torch_modules says why it has no PyTorch equivalent."""

        @staticmethod
        def torch_modules(config):
            raise NotImplementedError("to_torch cannot convert a Upsample layer: there is no such layer in torch.nn")

    class Mystery(Module):
        """A layer that declares nothing."""

    for cls in (Upsample, Mystery):
        monkeypatch.setitem(registry.LAYERS, cls.__name__, cls)
    with pytest.raises(NotImplementedError, match="cannot convert a Upsample layer: there is no such"):
        calls({"type": "Upsample", "config": {}})
    with pytest.raises(NotImplementedError, match="no PyTorch equivalent for a Mystery layer; it converts Sequential"):
        calls({"type": "Mystery", "config": {}})
    with pytest.raises(NotImplementedError, match="no PyTorch equivalent for a Residual layer"):
        calls({"type": "Residual", "config": {}})                   # a container is built by to_torch itself


def test_without_pytorch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)            # import torch raises ImportError
    with pytest.raises(ImportError, match=r"needs PyTorch, which is not a chainrule dependency: pip install torch"):
        io.to_torch(lenet(1, 10, 8, rng=0))


def test_what_is_not_a_network_is_refused_by_name():
    from chainrule.models import MLPClassifier
    with pytest.raises(TypeError, match="a fitted chainrule estimator; got MLPClassifier that is not fitted"):
        io.to_torch(MLPClassifier())
    with pytest.raises(TypeError, match="got dict"):
        io.to_torch({"0.weight": np.zeros((2, 2))})


def test_a_pipeline_or_its_model_file_gives_the_network_only(tmp_path, monkeypatch):
    """A run's model file is a Pipeline (ScaleToUnit, Flatten, MLP): its network is what converts,
    the same description and tensors from the object and from the file."""
    from sklearn.pipeline import Pipeline
    from chainrule.io import pytorch as _torch
    from chainrule.datasets import ScaleToUnit
    from chainrule.models import MLPClassifier
    X = np.random.default_rng(0).random((20, 4))
    pipe = Pipeline([("scale", ScaleToUnit()), ("mlp", MLPClassifier((4,), max_iter=2))]).fit(X, np.arange(20) % 2)
    io.save(pipe, tmp_path / "model.safetensors")
    for source in (pipe, tmp_path / "model.safetensors", str(tmp_path / "model.safetensors")):
        spec, state = _torch._network_and_state(source)
        assert spec == pipe[-1].model_.spec()
        assert state.keys() == pipe[-1].model_.state_dict().keys()
        for k, v in pipe[-1].model_.state_dict().items():
            np.testing.assert_array_equal(state[k], v)


@pytest.mark.parametrize("make, shape", [
    (lambda: lenet(1, 10, 12, rng=0), (6, 1, 12, 12)),
    (lambda: resnet(2, 10, width=4, blocks_per_stage=1, p_last=0.5, rng=0, dtype=np.float64), (6, 2, 16, 16)),
])
def test_converted_networks_compute_the_same_outputs(make, shape, tmp_path):
    torch = pytest.importorskip("torch")
    net = make()
    rng = np.random.default_rng(1)
    net.train()
    for _ in range(2):                                  # running statistics that are not the initial ones
        net.forward(rng.standard_normal(shape).astype(net.dtype))
    net.eval()
    io.save(net, tmp_path / "net.safetensors")
    x = rng.standard_normal(shape).astype(net.dtype)
    for source in (net, tmp_path / "net.safetensors"):
        theirs = io.to_torch(source)
        assert not theirs.training
        with torch.no_grad():
            np.testing.assert_allclose(theirs(torch.from_numpy(x)).numpy(), net.forward(x), rtol=1e-5, atol=1e-5)
