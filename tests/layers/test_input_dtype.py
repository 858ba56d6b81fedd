"""A layer's input dtype: what is converted and what is refused (``_array.as_input``).

A float64 batch into a float32 layer is a TypeError naming the layer and both dtypes, as in
PyTorch: converting it silently threw away half its digits. Conversions that lose nothing are
made: integers and booleans (uint8 images), and a float32 batch into a float64 layer. The
estimators and the Trainer convert the data to the network's dtype once, on purpose, so they
take float64 data as before.
"""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.training import Trainer

LAYERS = [
    (lambda dt: nn.Linear(3, 2, rng=0, dtype=dt), (4, 3), "Linear"),
    (lambda dt: nn.Conv2d(2, 3, 3, rng=0, dtype=dt), (2, 2, 5, 5), r"Conv2d\(2, 3, kernel_size=3\)"),
    (lambda dt: nn.BatchNorm1d(3, dtype=dt), (4, 3), "BatchNorm1d"),
    (lambda dt: nn.BatchNorm2d(2, dtype=dt), (4, 2, 3, 3), "BatchNorm2d"),
]


@pytest.mark.parametrize("make, shape, name", LAYERS, ids=[n.split("\\")[0] for _, _, n in LAYERS])
def test_a_float64_batch_into_a_float32_layer_is_refused_naming_both_dtypes(make, shape, name):
    layer = make(np.float32)
    with pytest.raises(TypeError, match=rf"^{name}: the input is float64 and the layer's parameters are float32; "
                                        r"convert the input \(x.astype\(np.float32\)\) or build the layer with "
                                        r"dtype=np.float64"):
        layer.forward(np.ones(shape))
    assert layer.forward(np.ones(shape, np.float32)).dtype == np.float32


@pytest.mark.parametrize("make, shape, name", LAYERS, ids=[n.split("\\")[0] for _, _, n in LAYERS])
def test_lossless_conversions_are_made(make, shape, name):
    assert make(np.float64).forward(np.ones(shape, np.float32)).dtype == np.float64     # float32 -> float64
    assert make(np.float32).forward(np.ones(shape, np.uint8)).dtype == np.float32       # images as bytes
    assert make(np.float32).forward(np.ones(shape, bool)).dtype == np.float32


def test_a_network_refuses_at_its_first_layer_with_weights():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=0))
    with pytest.raises(TypeError, match="^Linear: the input is float64"):
        net.forward(np.ones((3, 2, 2)))
    with pytest.raises(TypeError, match="^Linear: the input is float64"):   # NumPy reads Python floats as float64
        nn.Linear(2, 1, rng=0).forward([[0.5, 1.5]])


def test_the_trainer_converts_float64_data_once_on_purpose():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 3)), rng.integers(0, 2, 32)          # float64, NumPy's default
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), epochs=1, batch_size=8).fit(X, y)
    assert net[0].weight.value.dtype == np.float32


def test_a_sparse_batch_follows_the_same_rule():
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(6, 3, density=0.5, format="csr", random_state=0)          # float64
    with pytest.raises(TypeError, match="^Linear: the input is float64 and the layer's parameters are float32"):
        nn.Linear(3, 2, rng=0).forward(X)
    assert nn.Linear(3, 2, rng=0).forward(X.astype(np.float32)).dtype == np.float32
    assert nn.Linear(3, 2, rng=0, dtype=np.float64).forward(X.astype(np.float32)).dtype == np.float64
