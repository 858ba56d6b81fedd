"""Model files written by chainrule 0.1 (commit 80b69ee, the last main before the engine rewrite)
still load and predict exactly as they did. The fixtures in tests/fixtures/v0.1 were written by that
commit; expected_v1.npz holds its predictions on the same rows."""
from pathlib import Path

import numpy as np
import pytest

from chainrule import io

HERE = Path(__file__).parent / "fixtures" / "v0.1"


@pytest.fixture(scope="module")
def expected():
    with np.load(HERE / "expected_v1.npz") as f:
        return {k: f[k] for k in f.files}


def test_classifier_with_dropout_and_batch_norm(expected):
    clf = io.load(HERE / "mlp_classifier_v1.safetensors")
    np.testing.assert_array_equal(clf.predict_proba(expected["X"]), expected["mlp"])
    assert [type(m).__name__ for m in clf.model_] == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert len(clf.history_) == 3 and clf.classes_.tolist() == list(range(10))


def test_pipeline_network_and_regressors(expected):
    X = expected["X"]
    np.testing.assert_array_equal(io.load(HERE / "pipeline_v1.safetensors").decision_function(X), expected["pipe"])
    net = io.load(HERE / "sequential_v1.safetensors")
    np.testing.assert_array_equal(net.forward(X[:, :4].astype(np.float32)), expected["net"])
    np.testing.assert_array_equal(io.load(HERE / "mlp_regressor_v1.safetensors").predict(X[:, :5]), expected["reg"])
    np.testing.assert_array_equal(io.load(HERE / "linear_regression_v1.safetensors").predict(X[:, :3]), expected["lr"])
    np.testing.assert_array_equal(io.load(HERE / "polynomial_regression_v1.safetensors").predict(X[:, :1]),
                                  expected["pr"])


def test_a_run_folder_model_of_the_command_line(expected):
    from chainrule.datasets import load_digits
    pipe = io.load(HERE / "cli_digits_run.safetensors")
    d = load_digits()
    assert pipe.score(d.X_test, d.y_test) > 0.5          # a 2-epoch run; it predicts, with its preprocessing
    assert [name for name, _ in pipe.steps] == ["scale", "flatten", "model"]


def test_legacy_files_resave_in_the_current_format(tmp_path, expected):
    clf = io.load(HERE / "mlp_classifier_v1.safetensors")
    io.save(clf, tmp_path / "again.safetensors")
    desc, _ = io.read(tmp_path / "again.safetensors")
    assert desc["version"] == io.VERSION
    np.testing.assert_array_equal(io.load(tmp_path / "again.safetensors").predict_proba(expected["X"]),
                                  expected["mlp"])
