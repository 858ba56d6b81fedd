"""ONNX export of the convolutional networks (issue 13.5): lenet and a ResNet with stochastic depth,
trained briefly on real MNIST test images so that weights and batch-norm running statistics are
not their initial values, pass onnx.checker with full checking and give chainrule's outputs in
onnxruntime to 1e-5, on real images and on random inputs. An estimator whose input rule turns
flat rows (or channels-last images) into (N, C, H, W) is exported with that rule in the graph."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from chainrule import io, losses, nn, optim  # noqa: E402
from chainrule.architectures import lenet, resnet  # noqa: E402
from chainrule.io.export import OPSET  # noqa: E402
from chainrule.training import Trainer  # noqa: E402

N_TRAIN = 600


def _run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(float)"
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": X})))


def _checked(path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    return model


def _input_dims(model):
    return [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def images(mnist_split):
    Xtr, Xte, ytr, yte = mnist_split
    return Xtr[:N_TRAIN].reshape(-1, 1, 28, 28), Xte[:500].reshape(-1, 1, 28, 28), ytr[:N_TRAIN], yte[:500]


def _train(net, X, y):
    Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.05, momentum=0.9), batch_size=20,
            epochs=1, rng=0).fit(X, y)
    return net.eval()


@pytest.fixture(scope="module")
def trained_lenet(images):
    Xtr, _, ytr, _ = images
    return _train(lenet(1, 10, 28, rng=0), Xtr, ytr)


@pytest.fixture(scope="module")
def trained_resnet(images):
    Xtr, _, ytr, _ = images
    net = resnet(1, 10, width=4, blocks_per_stage=1, p_last=0.5, rng=0)
    return _train(net, Xtr, ytr)


def _compare(net, path, X):
    ours = net.eval().forward(X)
    theirs = _run(path, X)["output"]
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    return ours


def test_lenet_matches_onnxruntime_on_mnist_and_random_images(trained_lenet, images, tmp_path):
    _, Xte, _, yte = images
    net = trained_lenet
    assert (net.forward(Xte).argmax(1) == yte).mean() > 0.6             # trained, not random weights
    proto = io.export_onnx(net, tmp_path / "lenet.onnx", input_shape=(1, 28, 28))
    model = _checked(tmp_path / "lenet.onnx")
    assert proto.graph.name == model.graph.name
    assert _input_dims(model) == ["N", 1, 28, 28]
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2 and "Flatten" in ops and ops.count("Gemm") == 2
    _compare(net, tmp_path / "lenet.onnx", Xte)
    rand = np.random.default_rng(1).standard_normal((64, 1, 28, 28)).astype(np.float32)
    _compare(net, tmp_path / "lenet.onnx", rand)


def test_resnet_with_stochastic_depth_in_eval_form(trained_resnet, images, tmp_path):
    _, Xte, _, _ = images
    net = trained_resnet
    stats = {k: v for k, v in net.state_dict().items() if "running_" in k}
    assert any("shortcut" in k for k in stats)                           # projection shortcuts are exported
    assert all(not np.allclose(v, 0.0 if "mean" in k else 1.0) for k, v in stats.items())   # trained statistics
    assert any(m.survival_prob < 1 for m in net.modules() if isinstance(m, nn.Residual))
    io.export_onnx(net, tmp_path / "resnet.onnx", input_shape=(1, 28, 28))
    model = _checked(tmp_path / "resnet.onnx")
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Add") == 3 and "GlobalAveragePool" in ops and "BatchNormalization" in ops
    _compare(net, tmp_path / "resnet.onnx", Xte)
    rand = np.random.default_rng(2).uniform(0, 1, (32, 1, 28, 28)).astype(np.float32)
    _compare(net, tmp_path / "resnet.onnx", rand)


def test_average_pooling_strides_and_padding_on_random_inputs(tmp_path):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 2), rng=0),
                        nn.AvgPool2d(3, stride=2), nn.ReLU(), nn.MaxPool2d((2, 3), stride=(1, 2)),
                        nn.Residual(nn.Sequential(nn.Conv2d(5, 5, 1, rng=1), nn.Tanh()), survival_prob=0.7, rng=2),
                        nn.GlobalAvgPool2d(), nn.Linear(5, 4, rng=3))
    net.train()
    for _ in range(3):
        net.forward(rng.standard_normal((16, 3, 13, 11)).astype(np.float32) * 2 + 1)
    io.export_onnx(net, tmp_path / "net.onnx", input_shape=(3, 13, 11))
    _checked(tmp_path / "net.onnx")
    _compare(net, tmp_path / "net.onnx", rng.standard_normal((20, 3, 13, 11)).astype(np.float32))


def test_an_image_network_needs_its_input_shape(tmp_path):
    with pytest.raises(ValueError, match=r"starts with Conv2d\(in_channels=1\): input_shape=\(C, H, W\)"):
        io.export_onnx(lenet(1, 10, 28, rng=0), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


class _ImageEstimator:
    """The contract CNNClassifier follows (models/_estimator.py): a fitted network in ``model_``,
    ``classes_``, and ``_model_input`` turning raw samples into (N, C, H, W)."""

    loss = "softmax"

    def __init__(self, net, layout):
        self.model_, self.classes_, self.layout = net, np.arange(10) * 3, layout
        self.n_features_in_ = 784
        self.sample_shape_ = (784,) if layout == "rows" else (28, 28, 1)

    def _model_input(self, X):
        X = np.asarray(X, dtype=np.float32)
        if X.shape[1:] != self.sample_shape_:
            raise ValueError(f"X has samples of shape {X.shape[1:]}, expected {self.sample_shape_}")
        if self.layout == "rows":
            return X.reshape(-1, 1, 28, 28)
        return np.ascontiguousarray(X.transpose(0, 3, 1, 2))

    def _scores(self, X):
        return self.model_.eval().forward(self._model_input(X))

    def predict(self, X):
        return self.classes_[self._scores(X).argmax(1)]


@pytest.mark.parametrize("layout, op", [("rows", "Reshape"), ("channels_last", "Gather")])
def test_an_estimators_input_rule_is_exported(trained_lenet, images, layout, op, tmp_path):
    _, Xte, _, _ = images
    est = _ImageEstimator(trained_lenet, layout)
    raw = Xte.reshape(-1, 784) if layout == "rows" else np.ascontiguousarray(Xte.transpose(0, 2, 3, 1))
    io.export_onnx(est, tmp_path / "est.onnx")
    model = _checked(tmp_path / "est.onnx")
    assert _input_dims(model) == ["N", *est.sample_shape_]
    assert op in [n.op_type for n in model.graph.node]
    out = _run(tmp_path / "est.onnx", raw)
    np.testing.assert_array_equal(out["label"], est.predict(raw))
    np.testing.assert_allclose(out["scores"], est._scores(raw), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["probabilities"].sum(1), 1.0, atol=1e-6)


def test_an_input_rule_that_changes_values_is_refused(trained_lenet, tmp_path):
    est = _ImageEstimator(trained_lenet, "rows")
    est._model_input = lambda X: np.asarray(X, np.float32).reshape(-1, 1, 28, 28) / 255.0
    with pytest.raises(NotImplementedError, match="changes values"):
        io.export_onnx(est, tmp_path / "x.onnx")


@pytest.mark.parametrize("architecture", ["lenet", "resnet"])
def test_a_fitted_cnn_classifier_exports_with_its_labels_and_probabilities(images, architecture, tmp_path):
    """CNNClassifier end to end: its ONNX file takes flat rows (N, C H W) as the estimator does, and
    gives its labels and probabilities on real MNIST test images."""
    import warnings

    from chainrule.models import CNNClassifier
    Xtr, Xte, ytr, _ = images
    clf = CNNClassifier(architecture, width=4, blocks_per_stage=1, max_iter=1, batch_size=64, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr[:300], ytr[:300])
    io.export_onnx(clf, tmp_path / "cnn.onnx")
    model = _checked(tmp_path / "cnn.onnx")
    assert _input_dims(model)[1:] == [28 * 28]
    flat = np.ascontiguousarray(Xte.reshape(len(Xte), -1), dtype=np.float32)
    out = _run(tmp_path / "cnn.onnx", flat)
    np.testing.assert_array_equal(out["label"].ravel(), clf.predict(Xte))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(Xte), atol=1e-5)
