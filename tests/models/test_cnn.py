"""CNNClassifier beyond scikit-learn's checks: the three forms of images, the errors for wrong
shapes, the architectures' options, model files, checkpoints and the MLP's training options.
Small data (scikit-learn's 8 x 8 digits, a few hundred images, one to three epochs)."""
import doctest
import os
import signal
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import chainrule.models.cnn
from chainrule import io
from chainrule.architectures import linear_decay
from chainrule.layers import Conv2d, Residual
from chainrule.models import CNNClassifier
from chainrule.optim.base import Optimizer

QUICK = dict(max_iter=2, random_state=0, tol=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:400], X[1500:], y[:400], y[1500:]


@pytest.fixture(autouse=True)
def no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer: Maximum iterations")
        yield


def test_flat_rows_images_and_channels_give_the_same_network(digits):
    Xtr, Xte, ytr, _ = digits
    flat = CNNClassifier(image_shape=(8, 8), **QUICK).fit(Xtr, ytr)
    hw = CNNClassifier(**QUICK).fit(Xtr.reshape(-1, 8, 8), ytr)
    chw = CNNClassifier(image_shape=(1, 8, -1), **QUICK).fit(Xtr.reshape(-1, 1, 8, 8), ytr)
    for clf in (flat, hw, chw):
        assert clf.image_shape_ == (1, 8, 8) and clf.n_features_in_ == 64
        np.testing.assert_array_equal(clf.model_[0].weight.value, flat.model_[0].weight.value)
    p = flat.predict(Xte)
    for X in (Xte.reshape(-1, 8, 8), Xte.reshape(-1, 1, 8, 8)):
        np.testing.assert_array_equal(flat.predict(X), p)
        np.testing.assert_array_equal(hw.predict(X), p)
    assert flat.predict_proba(Xte).shape == (len(Xte), 10)


def test_colour_images_keep_their_channels():
    rng = np.random.default_rng(0)
    X = rng.random((64, 3, 8, 8)).astype(np.float32)
    y = (X[:, 0].mean(axis=(1, 2)) > X[:, 2].mean(axis=(1, 2))).astype(int)
    clf = CNNClassifier(**QUICK).fit(X, y)
    assert clf.image_shape_ == (3, 8, 8) and clf.model_[0].weight.value.shape == (32, 3, 3, 3)
    np.testing.assert_array_equal(clf.predict(X.reshape(64, -1)), clf.predict(X))


@pytest.mark.parametrize("make, X_shape, message", [
    (dict(), (20, 64), r"X is flat rows of shape \(20, 64\); pass image_shape=\(C, H, W\)"),
    (dict(image_shape=(7, 7)), (20, 64), r"image_shape \(7, 7\) cannot hold rows of 64 values|image_shape .* 49"),
    (dict(image_shape=(1, 9, -1)), (20, 64), r"image_shape \(1, 9, -1\) cannot hold rows of 64 values"),
    (dict(image_shape=(2, 8, 8)), (20, 8, 8), r"image_shape is \(2, 8, 8\) .* but X holds images of shape \(1, 8, 8\)"),
    (dict(image_shape=(0, 8)), (20, 64), r"image_shape must be \(C, H, W\) or \(H, W\) of positive integers .* got \(0, 8\)"),
    (dict(image_shape="8x8"), (20, 64), r"image_shape must be .* got '8x8'"),
    (dict(image_shape=(1, 2, 3, 4)), (20, 24), r"image_shape must be .* got \(1, 2, 3, 4\)"),
    (dict(), (20, 2, 2), r"architecture='lenet'\) needs images of at least 4 x 4 pixels .* \(1, 2, 2\)"),
    (dict(architecture="vgg"), (20, 8, 8), r"architecture must be one of 'lenet', 'resnet'; got 'vgg'"),
    (dict(architecture="resnet", p_last=0), (20, 8, 8), r"p_last must be"),
    (dict(architecture="resnet", width=0), (20, 8, 8), r"width must be"),
    (dict(architecture="resnet", stochastic_depth_mode="col"), (20, 8, 8), r"stochastic_depth_mode must be one of"),
    (dict(), (20, 1, 1, 8, 8), r"Found array with dim 5"),
])
def test_wrong_shapes_and_options_get_one_clear_error(make, X_shape, message):
    X = np.zeros(X_shape, dtype=np.float32)
    y = np.arange(X_shape[0]) % 2
    with pytest.raises(ValueError, match=message):
        CNNClassifier(max_iter=1, **make).fit(X, y)


def test_prediction_refuses_images_of_another_shape(digits):
    Xtr, Xte, ytr, _ = digits
    clf = CNNClassifier(**QUICK).fit(Xtr.reshape(-1, 8, 8), ytr)
    with pytest.raises(ValueError, match=r"X must hold images of shape \(C, H, W\) = \(1, 8, 8\) as at fit .* "
                                         r"got X of shape \(5, 3, 8, 8\)"):
        clf.predict(np.zeros((5, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"X has 63 features, but CNNClassifier is expecting 64"):
        clf.predict(np.zeros((5, 63), np.float32))
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        import scipy.sparse
        clf.predict(scipy.sparse.csr_matrix(Xte))


def test_resnet_options_shape_the_network(digits):
    Xtr, Xte, ytr, _ = digits
    clf = CNNClassifier("resnet", image_shape=(8, 8), width=4, blocks_per_stage=2, p_last=0.6,
                        stochastic_depth_mode="batch", **QUICK).fit(Xtr, ytr)
    blocks = [m for m in clf.model_.modules() if isinstance(m, Residual)]
    assert [b.survival_prob for b in blocks] == pytest.approx(linear_decay(6, 0.6))
    assert {b.mode for b in blocks} == {"batch"}
    convs = [m for m in clf.model_.modules() if isinstance(m, Conv2d)]
    assert convs[0].weight.value.shape == (4, 1, 3, 3) and convs[-1].weight.value.shape[0] == 16
    assert clf.predict(Xte).shape == (len(Xte),)


@pytest.mark.parametrize("architecture", ["lenet", "resnet"])
def test_model_file_round_trip_gives_the_same_predictions(digits, tmp_path, architecture):
    Xtr, Xte, ytr, _ = digits
    clf = CNNClassifier(architecture, image_shape=(8, 8), width=4, blocks_per_stage=1, **QUICK).fit(Xtr, ytr)
    io.save(clf, tmp_path / "cnn.safetensors")
    back = io.load(tmp_path / "cnn.safetensors")
    assert type(back) is CNNClassifier and back.image_shape_ == (1, 8, 8)
    assert back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.predict_proba(Xte), clf.predict_proba(Xte))
    np.testing.assert_array_equal(back.predict(Xte.reshape(-1, 8, 8)), clf.predict(Xte))
    names = set(io.network_state(tmp_path / "cnn.safetensors"))
    assert names == set(clf.model_.state_dict())
    if architecture == "lenet":             # torch.nn.Sequential's names: index.weight / index.bias
        assert names == {f"{i}.{p}" for i in (0, 3, 7, 9) for p in ("weight", "bias")}
    else:
        assert "0.weight" in names and "1.running_mean" in names and "3.block.0.weight" in names


def test_training_options_of_the_mlp_apply(digits):
    Xtr, Xte, ytr, _ = digits
    base = CNNClassifier(image_shape=(8, 8), **QUICK).fit(Xtr, ytr)
    stopped = CNNClassifier(image_shape=(8, 8), early_stopping=True, validation_fraction=0.2, **QUICK).fit(Xtr, ytr)
    assert len(stopped.validation_scores_) == stopped.n_iter_ == 2
    decayed = CNNClassifier(image_shape=(8, 8), alpha=10.0, **QUICK).fit(Xtr, ytr)
    assert decayed.model_[0].weight.regularizer is not None
    assert np.linalg.norm(decayed.model_[0].weight.value) < np.linalg.norm(base.model_[0].weight.value)
    weighted = CNNClassifier(image_shape=(8, 8), class_weight={0: 50.0}, **QUICK).fit(Xtr, ytr)
    assert (weighted.predict(Xte) == 0).sum() > (base.predict(Xte) == 0).sum()
    sgd = CNNClassifier(image_shape=(8, 8), solver="sgd", learning_rate="invscaling", learning_rate_init=0.05,
                        lr_schedule=None, **QUICK).fit(Xtr, ytr)
    assert sgd.t_ == 2 * len(Xtr) and len(sgd.loss_curve_) == 2
    assert sgd.loss_curve_[1] < sgd.loss_curve_[0]


def test_partial_fit_continues_and_warm_start_keeps_the_weights(digits):
    Xtr, _, ytr, _ = digits
    clf = CNNClassifier(image_shape=(8, 8), random_state=0)
    clf.partial_fit(Xtr[:200], ytr[:200], classes=np.arange(10))
    first = clf.model_[0].weight.value.copy()
    clf.partial_fit(Xtr[200:], ytr[200:])
    assert len(clf.loss_curve_) == 2 and clf.t_ == 400
    assert not np.array_equal(first, clf.model_[0].weight.value)
    warm = CNNClassifier(image_shape=(8, 8), warm_start=True, **QUICK).fit(Xtr, ytr)
    model = warm.model_
    warm.fit(Xtr, ytr)
    assert warm.model_ is model and len(warm.loss_curve_) == 4


def test_interrupted_checkpointed_resnet_resumes_to_the_uninterrupted_weights(digits, tmp_path, monkeypatch,
                                                                               ctrl_c_as_in_a_terminal):
    """The stochastic-depth masks' generator is in the checkpoint: the resumed run draws the same masks."""
    Xtr, _, ytr, _ = digits
    settings = dict(architecture="resnet", image_shape=(8, 8), width=4, blocks_per_stage=1, p_last=0.5,
                    batch_size=100, max_iter=3, tol=0, random_state=5)
    full = CNNClassifier(**settings).fit(Xtr, ytr)
    original, calls = Optimizer.step, {"n": 0}

    def step_and_interrupt(self):
        original(self)
        calls["n"] += 1
        if calls["n"] == 6:                                   # during the second epoch (4 batches each)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Optimizer, "step", step_and_interrupt)
    path = tmp_path / "run.ckpt"
    with pytest.warns(UserWarning, match="interrupted"):
        CNNClassifier(**settings, checkpoint=str(path)).fit(Xtr, ytr)
    monkeypatch.setattr(Optimizer, "step", original)
    resumed = CNNClassifier(**settings, checkpoint=str(path)).fit(Xtr, ytr, resume_from=str(path))
    assert resumed.loss_curve_ == full.loss_curve_
    for k, v in full.model_.state_dict().items():
        np.testing.assert_array_equal(resumed.model_.state_dict()[k], v, err_msg=k)
    with pytest.raises(ValueError, match=r"trained on 64 features; X has 16"):
        CNNClassifier(**dict(settings, image_shape=(4, 4))).fit(Xtr[:, :16], ytr, resume_from=str(path))


def test_docstring_example_runs():
    result = doctest.testmod(chainrule.models.cnn, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_summary_of_a_fitted_cnn_starts_at_its_images():
    """summary() feeds the network one image (C, H, W), not the first Linear layer's inputs."""
    X = np.random.default_rng(0).random((40, 8, 8), dtype=np.float32)
    y = np.arange(40) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = CNNClassifier(max_iter=1, batch_size=20, random_state=0, n_threads=1).fit(X, y)
    text = str(clf.summary())
    assert text.splitlines()[2].split()[:3] == ["0", "Conv2d", "(N,"] and "(N, 32, 8, 8)" in text
    assert text.endswith("input (N, 1, 8, 8)")
    assert f"total parameters: {sum(p.value.size for p in clf.model_.parameters()):,}" in text
