"""A run of the playground without a server: the engine learns, a diverging run stops with its message,
memory stays bounded, the model file loads, and the chain-rule view's numbers are the engine's and
agree with a numerical derivative."""
import numpy as np
import pytest

from chainrule import io, nn
from chainrule.errors import TrainingDiverged
from chainrule.playground.chain import explain
from chainrule.playground.connection import model_file_bytes
from chainrule.playground.pictures import Pictures
from chainrule.playground.session import Curves, Session
from chainrule.playground.settings import SettingError, parse_settings


def run(**kw):
    return Session(parse_settings(kw))


def test_xor_learns_and_the_same_seed_gives_the_same_run():
    a = run()
    start = a.last["test_loss"]
    a.train_for(40, 60)
    assert a.epoch == 40 and a.last["test_loss"] < 0.3 * start and a.last["test_acc"] > 0.95
    b = run()
    b.train_for(40, 60)
    assert a.last == b.last


@pytest.mark.parametrize("kw", [
    dict(dataset="spiral", classes=3, loss="hinge", hidden="16,16", activation="relu", batchnorm=1, dropout=0.1,
         regularizer="l2", alpha=0.001, optimizer="adam", lr=0.01),
    dict(dataset="circle", loss="sigmoid", features="x1,x2,x1sq,x2sq", hidden="", optimizer="rmsprop", lr=0.05),
    dict(dataset="gauss", classes=4, loss="softmax_cross_entropy", regularizer="maxnorm", alpha=2,
         optimizer="sgd", momentum=0.9, nesterov=1, lr=0.05),
    dict(dataset="linear", classes=3, loss="l2", regularizer="elasticnet", alpha=0.001, optimizer="adagrad", lr=0.1),
    dict(dataset="xor", loss="hinge", features="xor", hidden="", regularizer="l1", alpha=0.001),
    dict(dataset="curve", loss="l1", features="x1", poly=3, hidden="8", activation="sigmoid", points=60),
])
def test_every_loss_penalty_and_optimizer_trains(kw):
    s = run(**kw)
    before = s.last["train_loss"]
    s.train_for(15, 60)
    assert s.last["train_loss"] < before


def test_one_batch_and_one_epoch():
    s = run(batch=50)                     # 250 training points: 5 batches an epoch
    assert s.step() is False and (s.epoch, s.cursor, s.batches) == (0, 1, 1)
    s.run_epoch()
    assert (s.epoch, s.cursor, s.batches) == (1, 0, 5)


def test_a_diverging_run_stops_with_a_message_naming_the_epoch_and_learning_rate():
    s = run(dataset="curve", loss="l2", features="x1", poly=8, hidden="", lr=50, batch=1000)
    with pytest.raises(TrainingDiverged) as info:
        s.train_for(100, 60)
    msg = str(info.value)
    assert "overflowed" in msg and f"at epoch {s.epoch + 1}" in msg and "with learning rate 50" in msg
    assert "e.g. 5" in msg
    assert all(np.isfinite(p.value).all() for p in s.net.parameters())    # the last good weights are back
    frame = Pictures(s).frame()
    assert frame["diverged"] == msg
    with pytest.raises(TrainingDiverged):
        s.step()


def test_loss_curves_stay_bounded():
    c = Curves(cap=10)
    for e in range(1000):
        c.add(e, 1.0, 2.0)
    assert len(c.epoch) <= 11 and c.epoch[0] == 0 and c.epoch[-1] > 999 - c.stride
    assert all(b - a == c.stride for a, b in zip(c.epoch, c.epoch[1:]))


def test_too_many_inputs_is_a_setting_error():
    with pytest.raises(SettingError, match="these features make 44 inputs; the playground draws at most 32"):
        run(poly=8)


def test_the_model_file_loads_and_predicts_what_the_run_shows(tmp_path):
    s = run(dataset="spiral", classes=3, batchnorm=1, dropout=0.2)
    s.train_for(5, 60)
    path = tmp_path / "m.safetensors"
    path.write_bytes(model_file_bytes(s.net))
    net = io.load(path)
    assert isinstance(net, nn.Sequential)
    assert np.allclose(net.forward(s.F_test), s.scores(s.F_test), atol=1e-6)


def test_the_pictures_cover_every_neuron():
    s = run(hidden="3,5", features="x1,x2,sin1")
    p = Pictures(s)
    frame = p.frame()
    assert [len(c) for c in frame["neurons"]] == [3, 3, 5, 2]
    assert len(frame["weights"]) == 3 and np.array(frame["weights"][1]["w"]).shape == (5, 3)
    layout = p.layout()
    assert layout["inputs"] == ["x1", "x2", "sin x1"] and layout["grid"] == 64


# ---- the chain rule ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    {}, dict(dataset="spiral", classes=3, hidden="6,5", activation="relu,sigmoid", batchnorm=1, dropout=0.3,
             regularizer="l2", alpha=0.01),
    dict(dataset="gauss", classes=3, loss="l2", regularizer="elasticnet", alpha=0.01, hidden="4"),
    dict(dataset="circle", loss="sigmoid", hidden="5", activation="tanh"),
])
def test_chain_rule_numbers_are_the_engines_and_agree_with_central_differences(kw):
    s = run(**kw)
    s.train_for(2, 60)
    last = s.linears[-1][1]
    for layer, out, inp in [(0, 0, 1), (len(s.linears) - 1, last.out_features - 1, 0), (0, 2, None)]:
        c = explain(s, layer, out, inp)
        rows = s.current_batch()
        assert c["batch_size"] == len(rows) and [r["n"] for r in c["rows"]] == rows[:12].tolist()
        assert sum(r["product"] for r in c["rows"]) == pytest.approx(
            sum(r["upstream"] * r["local"] for r in c["rows"]), abs=1e-12)
        assert c["engine_agrees"] and c["total"] == pytest.approx(c["engine_grad"], rel=1e-12, abs=1e-15)
        assert c["total"] == pytest.approx(c["sum"] + c["penalty"])
        assert c["relative_error"] < 1e-5, c
        # the float32 network's own gradient on the same batch points the same way (dropout aside)
        if not s.settings.dropout:
            s.optimizer.zero_grad()
            x, t = s.F_train[rows], s.T_train[rows]
            s.loss.forward(s.net.forward(x), t)
            s.net.backward(s.loss.backward())
            p = s.linears[layer][1].weight if inp is not None else s.linears[layer][1].bias
            g = p.grad[(out, inp) if inp is not None else (out,)]
            assert g == pytest.approx(c["sum"], rel=1e-3, abs=1e-6)


def test_chain_rule_refuses_indices_out_of_range():
    s = run()
    with pytest.raises(ValueError, match=r"layer must be an index of a Linear layer in \[0, 3\); got 3"):
        explain(s, 3, 0, 0)
    with pytest.raises(ValueError, match=r"out must be in \[0, 8\); got 8"):
        explain(s, 0, 8, 0)
    with pytest.raises(ValueError, match=r"in must be in \[0, 2\)"):
        explain(s, 0, 0, 5)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_a_run_blown_up_by_any_optimizer_is_a_divergence_not_a_crash(optimizer):
    s = run(dataset="spiral", classes=3, hidden="32,32", activation="relu", optimizer=optimizer, lr=100,
            regularizer="l2", alpha=1, batch=250)
    try:
        s.train_for(200, 60)
    except TrainingDiverged as exc:
        assert "with learning rate 100" in str(exc) and s.diverged == str(exc)
    else:                    # Adam's steps are bounded by the learning rate: large, finite weights
        assert optimizer != "sgd", "SGD at lr=100 with a strong penalty must overflow"
    assert all(np.isfinite(p.value).all() for p in s.net.parameters())
    frame = Pictures(s).frame()
    assert frame["diverged"] == s.diverged
