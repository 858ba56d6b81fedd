"""chainrule train --model cnn|resnet: images reshaped from each data set's shape (digits 8 x 8,
MNIST 28 x 28, CIFAR-10 32 x 32 x 3 channels-last), the two pictures of the convolutional
networks, model files that predict from the data set's raw images, and the refused options."""
import json

import numpy as np
import pytest
from PIL import Image

from chainrule import io
from chainrule.cli import data, main


def _png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    assert main(["train", "--model", "cnn", "--epochs", "2", "--batch-size", "64", "--quiet", "--out", str(out)]) == 0
    return out


def test_cnn_on_digits_writes_model_filters_and_feature_maps(cnn_run, capsys):
    config = json.loads((cnn_run / "config.json").read_text())
    assert config["settings"]["model"] == "cnn" and config["metrics"]["test_accuracy"] > 0.85
    for name in ("filters.png", "feature_maps.png", "curves.png", "confusion.png", "mistakes.png"):
        w, h = _png(cnn_run / name)
        assert w > 300 and h > 200, name
    model = io.load(cnn_run / "model.safetensors")            # ScaleToUnit, ChannelsFirst, CNNClassifier
    assert [name for name, _ in model.steps] == ["scale", "channels", "model"]
    d = data.load("digits")
    assert model[-1].image_shape_ == (1, 8, 8)
    assert np.mean(model.predict(d.X_test) == d.y_test) == pytest.approx(config["metrics"]["test_accuracy"])
    assert main(["evaluate", str(cnn_run)]) == 0
    assert "digits test set: 360 samples" in capsys.readouterr().out


def _stand_in(name, shape, n=120):
    """A small split of random images of a data set's shape whose class is one pixel statistic
    (the loaders themselves are tested on the real MNIST files and generated CIFAR archives in
    tests/datasets; here the CLI's reshaping of each shape is what is tested)."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    half = X[:, : shape[0] // 2].reshape(n, -1).mean(axis=1) > X[:, shape[0] // 2:].reshape(n, -1).mean(axis=1)
    y = half.astype(int)
    return data.Split(name, X[:100], y[:100], X[100:], y[100:], tuple(f"c{i}" for i in range(10)), "image", 255)


@pytest.mark.parametrize("dataset, model, channels_first", [
    ("mnist", "cnn", (1, 28, 28)), ("mnist10k", "resnet", (1, 28, 28)),
    ("cifar10", "resnet", (3, 32, 32)), ("cifar10", "cnn", (3, 32, 32)),
])
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_each_data_set_reaches_the_network_channels_first(dataset, model, channels_first, tmp_path, monkeypatch):
    split = _stand_in(dataset, data.SAMPLE_SHAPES[dataset])
    monkeypatch.setattr(data, "load", lambda *a, **k: split)
    resnet = ["--width", "4", "--blocks-per-stage", "1", "--p-last", "0.8"] if model == "resnet" else []
    assert main(["train", "--dataset", dataset, "--model", model, *resnet, "--epochs", "1", "--validation-fraction",
                 "0", "--quiet", "--out", str(tmp_path)]) == 0
    est = io.load(tmp_path / "model.safetensors")[-1]
    first = est.model_[0].weight.value.shape
    assert est.image_shape_ == channels_first and first[1] == channels_first[0]
    assert est.architecture == ("lenet" if model == "cnn" else "resnet")
    if model == "resnet":
        assert first[0] == 4 and est.p_last == 0.8
    assert (tmp_path / "filters.png").exists() and (tmp_path / "feature_maps.png").exists()
    assert io.load(tmp_path / "model.safetensors").predict(split.X_test).shape == (20,)


@pytest.mark.parametrize("argv, message", [
    (["--model", "cnn", "--hidden", "64"], "--hidden has no effect with --model cnn"),
    (["--model", "resnet", "--dropout", "0.1"], "--dropout has no effect with --model resnet"),
    (["--model", "cnn", "--batch-norm"], "--batch-norm has no effect with --model cnn"),
    (["--model", "cnn", "--width", "8"], "--width has no effect with --model cnn: it sets the resnet"),
    (["--model", "mlp", "--p-last", "0.7"], "--p-last has no effect with --model mlp"),
    (["--model", "cnn", "--dataset", "xor"], "--model cnn needs images; xor is points in the plane"),
    (["--model", "resnet", "--features", "hog"], "--features hog has no effect with --model resnet"),
])
def test_options_a_convolutional_network_would_ignore_are_refused(argv, message, tmp_path, capsys):
    assert main(["train", *argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
