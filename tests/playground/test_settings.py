"""Settings from the URL hash: every key parsed from strings or numbers, every bad value refused with
a message that names the key, what it must be and what was received."""
import pytest

from chainrule.playground.settings import Settings, SettingError, parse_settings

HASH_KEYS = ["dataset", "features", "hidden", "activation", "loss", "regularizer", "alpha", "dropout", "optimizer",
             "lr", "batch", "noise", "train_pct", "seed", "classes", "play"]


def test_every_key_the_issue_names_is_a_setting_and_round_trips_through_the_hash():
    s = Settings(dataset="spiral", classes=3, hidden=(16, 4), activation=("relu", "tanh"), loss="hinge",
                 regularizer="elasticnet", alpha=0.01, dropout=0.2, optimizer="sgd", momentum=0.9, nesterov=True,
                 lr=0.05, batch=25, noise=0.4, train_pct=70, seed=7, features=("x1", "x2", "x1x2"), play=True)
    h = s.to_hash()
    assert set(HASH_KEYS) <= set(h)
    assert parse_settings(h) == s
    assert h["hidden"] == "16,4" and h["play"] == "1" and h["features"] == "x1,x2,x1x2"


def test_strings_and_numbers_alike_and_empty_hidden_is_a_linear_model():
    s = parse_settings({"lr": "0.5", "batch": 32, "hidden": "", "activation": "relu", "batchnorm": "1"})
    assert (s.lr, s.batch, s.hidden, s.batchnorm) == (0.5, 32, (), True)
    assert parse_settings({"hidden": "4,4", "activation": "sigmoid"}).activations() == ("sigmoid", "sigmoid")


@pytest.mark.parametrize("values, key, words", [
    ({"lr": "-1"}, "lr", "lr must be in (0, 100]; got '-1'"),
    ({"lr": "fast"}, "lr", "lr must be a number; got 'fast'"),
    ({"lr": "nan"}, "lr", "finite"),
    ({"hidden": "8,64"}, "hidden", "hidden must be in [1, 32]; got '64'"),
    ({"hidden": "1,1,1,1,1,1,1"}, "hidden", "at most 6 layers; got 7"),
    ({"dataset": "moons"}, "dataset", "dataset must be one of xor, circle"),
    ({"loss": "mse"}, "loss", "got 'mse'"),
    ({"classes": "9", "dataset": "spiral"}, "classes", "classes must be in [2, 5]; got '9'"),
    ({"classes": "3"}, "classes", "the XOR data set has 2 classes; got classes=3"),
    ({"dataset": "curve", "loss": "softmax", "features": "x1"}, "loss", "needs class labels"),
    ({"dataset": "curve", "loss": "l2", "features": "x1,x2"}, "features", "feature 'x2' needs two inputs"),
    ({"features": "", "poly": "0"}, "features", "at least one input"),
    ({"hidden": "4,4", "activation": "relu,tanh,relu"}, "activation", "one name per hidden layer (2)"),
    ({"regularizer": "maxnorm", "alpha": "0"}, "alpha", "max-norm needs a bound"),
    ({"nesterov": "1"}, "nesterov", "momentum > 0"),
    ({"play": "yes"}, "play", "play must be 0 or 1"),
    ({"dataset": "upload"}, "dataset", "upload it again"),
    ({"path": "/etc/passwd"}, "path", "unknown setting 'path'"),
])
def test_bad_settings_name_the_key_and_what_was_received(values, key, words):
    with pytest.raises(SettingError) as info:
        parse_settings(values)
    assert info.value.key == key
    assert words in str(info.value)


def test_settings_must_be_an_object():
    with pytest.raises(SettingError, match="settings must be an object"):
        parse_settings(["lr", 1])
