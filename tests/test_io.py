"""Model files: bit-identical round trips, PyTorch names and layouts, and damaged files refused."""
import hashlib
import re
import json

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from sklearn.pipeline import make_pipeline

from chainrule import io, nn
from chainrule.datasets import Flatten, ScaleToUnit, Standardize, load_digits
from chainrule.features import HOGFeatures
from chainrule.io import ModelFileError
from chainrule.models import LinearClassifier, LinearRegression, MLPClassifier, PolynomialRegression


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _flat(d):
    return d.X_train.reshape(-1, 64) / 16.0, d.X_test.reshape(-1, 64) / 16.0


def _round_trip(obj, tmp_path, name="m.safetensors"):
    path = tmp_path / name
    io.save(obj, path)
    return io.load(path), path


def test_linear_model_round_trip_is_bit_identical(digits, tmp_path):
    Xtr, Xte = _flat(digits)
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = LinearClassifier(max_iter=5, class_weight={"one": 2.0}, random_state=0).fit(Xtr, labels[digits.y_train])
    back, _ = _round_trip(clf, tmp_path)
    assert type(back) is LinearClassifier and back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.decision_function(Xte), clf.decision_function(Xte))
    np.testing.assert_array_equal(back.predict(Xte), clf.predict(Xte))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.history_.records == clf.history_.records


def test_mlp_with_dropout_and_batch_norm_round_trip(digits, tmp_path):
    Xtr, Xte = _flat(digits)
    clf = MLPClassifier((32, 16), dropout=0.3, batch_norm=True, max_iter=5, random_state=0).fit(Xtr, digits.y_train)
    back, path = _round_trip(clf, tmp_path)
    assert not back.model_.training                                  # comes back in evaluation mode
    np.testing.assert_array_equal(back.predict_proba(Xte), clf.predict_proba(Xte))
    state = io.network_state(path)
    # PyTorch nn.Sequential names and layouts: Linear(64,32), BatchNorm1d(32), ReLU, Dropout, Linear(32,16), ...
    assert state["0.weight"].shape == (32, 64) and state["0.weight"].flags.c_contiguous
    assert state["1.running_var"].shape == (32,) and state["1.num_batches_tracked"].dtype == np.int64
    assert state["4.weight"].shape == (16, 32) and state["8.weight"].shape == (10, 16)
    assert not any(k.startswith("extra.") for k in state)
    # a second fit keeps learning from the loaded weights (warm start), not from a new initialisation
    loaded = back.model_.state_dict()
    back.set_params(warm_start=True, max_iter=1).fit(Xtr, digits.y_train)
    assert any(not np.array_equal(loaded[k], v) for k, v in back.model_.state_dict().items())
    # its epoch improves on the saved model's last one; a fresh start would begin near the first
    assert back.history_["loss"][0] < clf.history_["loss"][-1] < clf.history_["loss"][0]


def test_model_with_preprocessing_round_trip(digits, tmp_path):
    pipe = make_pipeline(ScaleToUnit(16), Flatten(), MLPClassifier((16,), max_iter=3, random_state=0))
    pipe.fit(digits.X_train, digits.y_train)
    back, path = _round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(back.predict_proba(digits.X_test), pipe.predict_proba(digits.X_test))
    hog = make_pipeline(HOGFeatures(resize_to=(24, 24), pixels_per_cell=(6, 6)), Standardize(),
                        LinearClassifier(max_iter=3, random_state=0)).fit(digits.X_train, digits.y_train)
    back, path = _round_trip(hog, tmp_path, "hog.safetensors")
    np.testing.assert_array_equal(back.decision_function(digits.X_test), hog.decision_function(digits.X_test))
    assert any(k.startswith("extra.") for k in st_load(path.read_bytes()))   # the standardiser's statistics


def test_regressors_and_bare_networks_round_trip(tmp_path):
    x = np.linspace(-1, 1, 40)[:, None]
    for reg in (PolynomialRegression(degree=5).fit(x, np.sin(3 * x[:, 0])),
                LinearRegression(max_iter=200, random_state=0).fit(x, 2 * x[:, 0] + 1)):
        back, _ = _round_trip(reg, tmp_path)
        np.testing.assert_array_equal(back.predict(x), reg.predict(x))
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.LeakyReLU(0.2), nn.Linear(4, 2, rng=1), nn.Softmax())
    back, _ = _round_trip(net, tmp_path)
    v = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.forward(v), net.forward(v))


@pytest.fixture
def saved(digits, tmp_path):
    Xtr, _ = _flat(digits)
    path = tmp_path / "model.safetensors"
    io.save(MLPClassifier((8,), max_iter=2, random_state=0).fit(Xtr, digits.y_train), path)
    return path


@pytest.mark.parametrize("cut", [0, 7, 50, 0.5, -1])
def test_truncated_file_raises_one_clear_error(saved, cut):
    data = saved.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) + cut)
    saved.write_bytes(data[:n])
    with pytest.raises(ModelFileError, match=r"is not a valid model file \(truncated or damaged\?\)"):
        io.load(saved)


def test_tampered_tensor_bytes_are_detected(saved):
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0x40                                    # one bit of one weight
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"has been altered or damaged: its checksum does not match"):
        io.load(saved)


def test_tampered_description_is_detected(saved):
    data = saved.read_bytes()
    n = int.from_bytes(data[:8], "little")
    original = data[8:8 + n]
    header = original.replace(b'\\"max_iter\\": 2', b'\\"max_iter\\": 9')
    assert len(header) == n and header != original            # one setting of the description changed
    saved.write_bytes(data[:8] + header + data[8 + n:])
    with pytest.raises(ModelFileError, match=r"altered or damaged"):
        io.load(saved)


def test_a_forged_description_cannot_name_other_classes(saved):
    """Even with a recomputed checksum, only chainrule's own classes can be built."""
    tensors = st_load(saved.read_bytes())
    desc = {"format": "chainrule-model", "version": 1,
            "object": {"__estimator__": "system", "params": {"command": "touch /tmp/pwned"}, "attrs": {}}}
    text = json.dumps(desc)
    forged = st_save(tensors, metadata={"chainrule": text, "chainrule.sha256": io.files._digest(text, tensors)})
    saved.write_bytes(forged)
    with pytest.raises(ModelFileError, match=r"names a class 'system' that chainrule does not load"):
        io.load(saved)


def test_other_files_are_refused_clearly(tmp_path):
    plain = tmp_path / "plain.safetensors"
    plain.write_bytes(st_save({"w": np.zeros(2, np.float32)}))
    with pytest.raises(ModelFileError, match=r"not a chainrule model \(no description\)"):
        io.load(plain)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(hashlib.sha256(b"x").digest() * 10)
    with pytest.raises(ModelFileError, match=r"not a valid model file"):
        io.load(junk)
    with pytest.raises(ModelFileError, match=r"no such model file"):
        io.load(tmp_path / "missing.safetensors")
    with pytest.raises(ModelFileError, match=r"is a folder"):
        io.load(tmp_path)


def test_unsupported_objects_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match=r"save takes a Module, a chainrule estimator or a Pipeline; got dict"):
        io.save({"a": 1}, tmp_path / "x.safetensors")
    from sklearn.linear_model import LogisticRegression
    with pytest.raises(TypeError, match=r"got LogisticRegression \(use chainrule's equivalent: chainrule.models.LinearClassifier\(loss='softmax'\)\)"):
        io.save(make_pipeline(ScaleToUnit(), LogisticRegression()), tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("scaler", ["StandardScaler", "MinMaxScaler"])
def test_scikit_learn_scalers_in_a_pipeline_keep_their_fitted_arrays(tmp_path, digits, scaler):
    import sklearn.preprocessing as skp
    (Xtr, Xte), ytr = _flat(digits), digits.y_train
    pipe = make_pipeline(getattr(skp, scaler)(), LinearClassifier(max_iter=3, random_state=0)).fit(Xtr, ytr)
    back, _ = _round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(back.decision_function(Xte), pipe.decision_function(Xte))
    fitted = back.steps[0][1]
    assert type(fitted) is getattr(skp, scaler)
    np.testing.assert_array_equal(fitted.scale_, pipe.steps[0][1].scale_)


@pytest.mark.parametrize("name,hint", [("Normalizer", "chainrule.datasets.preprocessing.ScaleToUnit"),
                                       ("RobustScaler", "chainrule.datasets.preprocessing.Standardize"),
                                       ("PolynomialFeatures", "chainrule.features.PolynomialFeatures")])
def test_other_transformers_are_refused_naming_chainrules_equivalent(tmp_path, digits, name, hint):
    import sklearn.preprocessing as skp
    (Xtr, _), ytr = _flat(digits), digits.y_train
    pipe = make_pipeline(getattr(skp, name)(), LinearClassifier(max_iter=1, random_state=0)).fit(Xtr[:200], ytr[:200])
    with pytest.raises(TypeError, match=rf"got {name} \(use chainrule's equivalent: {re.escape(hint)}"):
        io.save(pipe, tmp_path / "x.safetensors")


def test_save_is_atomic(saved, monkeypatch):
    good = saved.read_bytes()
    import chainrule.io as io_mod

    def boom(tensors, metadata=None):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.numpy.save", boom)
    with pytest.raises(OSError, match="disk full"):
        io_mod.save(nn.Sequential(nn.Linear(2, 2)), saved)
    assert saved.read_bytes() == good
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.safetensors"]
