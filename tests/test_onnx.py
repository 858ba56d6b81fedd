"""ONNX export: the files pass onnx.checker with full checking and give chainrule's predictions in
onnxruntime to 1e-5, on real MNIST test images (skipped when the files are absent), for linear
models, MLPs with dropout and batch norm, and preprocessing (chainrule's and scikit-learn's)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402

from chainrule import io, nn  # noqa: E402
from chainrule.core.module import Module  # noqa: E402
from chainrule.datasets import Flatten, ScaleToUnit, Standardize, SubtractMeanImage  # noqa: E402
from chainrule.io.export import OPSET  # noqa: E402
from chainrule.models import LinearClassifier, LinearRegression, MLPClassifier, MLPRegressor  # noqa: E402

N_TRAIN = 2000          # of the 8,000 training images: enough for real weights, quick to fit


def _run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": X})))


def _checked(path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    return model


@pytest.fixture(scope="module")
def mnist(mnist_split):
    Xtr, Xte, ytr, yte = mnist_split
    return Xtr[:N_TRAIN], Xte, ytr[:N_TRAIN], yte


def test_mlp_with_dropout_and_batch_norm_on_mnist(mnist, tmp_path):
    Xtr, Xte, ytr, yte = mnist
    clf = MLPClassifier((64, 32), dropout=0.2, batch_norm=True, max_iter=8, random_state=0).fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.8                                   # a trained network, not a random one
    io.export_onnx(clf, tmp_path / "mlp.onnx")
    model = _checked(tmp_path / "mlp.onnx")
    assert {n.op_type for n in model.graph.node} >= {"Gemm", "BatchNormalization", "Relu", "Softmax", "ArgMax"}
    out = _run(tmp_path / "mlp.onnx", Xte)
    np.testing.assert_array_equal(out["label"], clf.predict(Xte))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(Xte), rtol=0, atol=1e-5)
    np.testing.assert_allclose(out["scores"], clf.decision_function(Xte), rtol=1e-5, atol=1e-5)


def test_multilabel_and_binary_log_loss_classifiers(mnist, tmp_path):
    """scikit-learn's log_loss: one sigmoid per label for a 0/1 matrix y, one sigmoid for two classes."""
    Xtr, Xte, ytr, _ = mnist
    Y = np.column_stack([ytr % 2, ytr > 4, ytr == 0]).astype(int)         # three labels per image
    multi = MLPClassifier((32,), max_iter=5, random_state=0).fit(Xtr, Y)
    io.export_onnx(multi, tmp_path / "multi.onnx")
    _checked(tmp_path / "multi.onnx")
    out = _run(tmp_path / "multi.onnx", Xte)
    np.testing.assert_array_equal(out["label"], multi.predict(Xte))
    np.testing.assert_allclose(out["probabilities"], multi.predict_proba(Xte), rtol=0, atol=1e-5)
    binary = MLPClassifier((16,), max_iter=5, random_state=0).fit(Xtr, ytr > 4)
    io.export_onnx(binary, tmp_path / "binary.onnx")
    out = _run(tmp_path / "binary.onnx", Xte)
    np.testing.assert_array_equal(out["label"], binary.predict(Xte))
    np.testing.assert_allclose(out["probabilities"], binary.predict_proba(Xte), rtol=0, atol=1e-5)


def test_linear_classifier_with_chainrules_image_preprocessing(mnist, tmp_path):
    """Raw pixels (0..255, images 28 x 28) in; scaling, centring, standardising and flattening inside."""
    Xtr, Xte, ytr, yte = mnist
    raw_tr, raw_te = (Xtr * 255).reshape(-1, 28, 28), (Xte * 255).reshape(-1, 28, 28)
    pipe = Pipeline([("scale", ScaleToUnit(255)), ("centre", SubtractMeanImage()), ("std", Standardize()),
                     ("flatten", Flatten()), ("model", LinearClassifier(max_iter=3, random_state=0))]).fit(raw_tr, ytr)
    io.export_onnx(pipe, tmp_path / "linear.onnx")
    _checked(tmp_path / "linear.onnx")
    out = _run(tmp_path / "linear.onnx", raw_te.astype(np.float32))
    np.testing.assert_array_equal(out["label"], pipe.predict(raw_te))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(raw_te), rtol=0, atol=1e-5)


def test_sklearn_scalers_string_labels_and_a_sigmoid_output(mnist, tmp_path):
    Xtr, Xte, ytr, yte = mnist
    names = np.array(["even", "odd"])
    pipe = Pipeline([("std", StandardScaler()), ("mm", MinMaxScaler(clip=True)),
                     ("model", MLPClassifier((16,), loss="sigmoid", activation="tanh", max_iter=2, random_state=0))])
    pipe.fit(Xtr, names[ytr % 2])
    io.export_onnx(pipe, tmp_path / "binary.onnx")
    _checked(tmp_path / "binary.onnx")
    out = _run(tmp_path / "binary.onnx", Xte)
    assert out["label"].dtype.kind in "OU" and set(out["label"]) <= {"even", "odd"}
    np.testing.assert_array_equal(out["label"].astype(str), pipe.predict(Xte))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(Xte), rtol=0, atol=1e-5)


def test_regressors_float32_and_float64(mnist, tmp_path):
    Xtr, Xte, ytr, _ = mnist
    mlp = MLPRegressor((16,), activation="sigmoid", max_iter=2, random_state=0).fit(Xtr, ytr.astype(float))
    io.export_onnx(mlp, tmp_path / "mlp_reg.onnx")
    out = _run(tmp_path / "mlp_reg.onnx", Xte)["predictions"]
    assert out.shape == (len(Xte),)
    np.testing.assert_allclose(out, mlp.predict(Xte), rtol=1e-5, atol=1e-5)
    lin = Pipeline([("mm", MinMaxScaler()), ("model", LinearRegression(solver="lstsq", alpha=1.0, penalty="l2"))])
    lin.fit(Xtr[:, ::8], np.column_stack([ytr, ytr % 2]).astype(float))
    io.export_onnx(lin, tmp_path / "lstsq.onnx")
    assert onnx.load(str(tmp_path / "lstsq.onnx")).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    out = _run(tmp_path / "lstsq.onnx", Xte[:, ::8].astype(np.float64))["predictions"]
    np.testing.assert_allclose(out, lin.predict(Xte[:, ::8].astype(np.float64)), rtol=1e-9, atol=1e-9)


def test_a_bare_network_with_every_exportable_layer(tmp_path):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(12, 16, rng=0), nn.BatchNorm1d(16), nn.LeakyReLU(0.1), nn.Dropout(0.5, rng=1),
                        nn.Linear(16, 8, bias=False, rng=2), nn.Tanh(), nn.Linear(8, 8, rng=3), nn.Sigmoid(),
                        nn.Identity(), nn.Linear(8, 5, rng=4), nn.ReLU(), nn.Softmax())
    net.train()
    for _ in range(3):                                 # running statistics that are not the initial ones
        net.forward(rng.standard_normal((32, 12)).astype(np.float32) * 3 + 1)
    net.eval()
    io.export_onnx(net, tmp_path / "net.onnx")
    _checked(tmp_path / "net.onnx")
    x = rng.standard_normal((100, 12)).astype(np.float32)
    np.testing.assert_allclose(_run(tmp_path / "net.onnx", x)["output"], net.forward(x), rtol=1e-5, atol=1e-6)


class Upsample(Module):
    """A module whose type has no row in chainrule.io.export.layers.LAYERS."""

    def forward(self, x):
        return x


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Sequential(nn.Linear(4, 4), Upsample()), r"cannot export a Upsample layer to ONNX; layers with an "
                                                         r"export: Sequential, Linear, .*Conv2d.*Residual"),
    (lambda: _fit(Pipeline([("poly", __import__("chainrule.features", fromlist=["x"]).PolynomialFeatures(2)),
                            ("model", LinearClassifier(max_iter=1))])), "PolynomialFeatures step is not supported"),
    (lambda: _fit(__import__("chainrule.models", fromlist=["x"]).PolynomialRegression(2), y=np.arange(8.0)),
     "PolynomialRegression is not supported"),
    (lambda: MLPClassifier(), "that is not fitted"),
])
def test_what_cannot_be_exported_is_named(make, match, tmp_path):
    with pytest.raises((NotImplementedError, TypeError), match=match):
        io.export_onnx(make(), tmp_path / "x.onnx", input_shape=(4,))
    assert not (tmp_path / "x.onnx").exists()


def _fit(est, y=None):
    X = np.random.default_rng(0).standard_normal((8, 4))
    return est.fit(X, np.array([0, 1] * 4) if y is None else y)


def test_chainrule_export_onnx_of_a_run_folder(tmp_path, capsys):
    from chainrule.cli import main

    run = tmp_path / "run"
    assert main(["train", "--quiet", "--epochs", "1", "--hidden", "32", "--batch-norm", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", "--onnx", str(run)]) == 0
    text = capsys.readouterr().out
    assert f"ONNX opset {OPSET}" in text and "labels identical" in text
    _checked(run / "model.onnx")
    from chainrule.datasets import load_digits
    d = load_digits()
    model = io.load(run / "model.safetensors")
    out = _run(run / "model.onnx", d.X_test.astype(np.float32))                  # raw 8 x 8 images, 0..16
    np.testing.assert_array_equal(out["label"], model.predict(d.X_test))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(d.X_test), rtol=0, atol=1e-5)
    assert main(["export", "--onnx", str(tmp_path / "nothing")]) == 2
