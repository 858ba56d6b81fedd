"""lenet and resnet: PyTorch's names and parameter counts, the decay rule along the blocks, model
files that round-trip bit for bit, and a few steps of training that lower the loss."""
import numpy as np
import pytest

from chainrule import io, losses, nn, optim
from chainrule.architectures import lenet, linear_decay, resnet
from chainrule.training import Trainer

pytest.importorskip("safetensors")


def conv_params(c, o, k, bias=True):
    return c * o * k * k + (o if bias else 0)


def test_lenet_matches_the_issue_and_pytorch_names():
    net = lenet(1, 10, 28, rng=0)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU",
                     "Linear"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias",
                                      "9.weight", "9.bias"]
    n = sum(p.size for p in net.parameters())
    assert n == conv_params(1, 32, 3) + conv_params(32, 64, 3) + (3136 * 128 + 128) + (128 * 10 + 10) == 421642
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    assert net.forward(x).shape == (5, 10) == net.output_shape(x.shape)
    colour = lenet(3, 4, (32, 30), rng=0)
    assert colour[7].in_features == 64 * 8 * 7 and colour.forward(np.zeros((2, 3, 32, 30), np.float32)).shape == (2, 4)


def test_resnet_stages_blocks_and_decay():
    net = resnet(3, 10, width=16, blocks_per_stage=3, rng=0)
    blocks = [m for m in net if isinstance(m, nn.Residual)]
    assert len(blocks) == 9 and [b.survival_prob for b in blocks] == linear_decay(9, 0.5)
    assert [b.shortcut is None for b in blocks] == [True] * 3 + [False, True, True] * 2
    n = sum(p.size for p in net.parameters())
    bn = lambda c: 2 * c  # noqa: E731 (gamma and beta)
    same = lambda c: 2 * (conv_params(c, c, 3, False) + bn(c))  # noqa: E731
    down = lambda c: conv_params(c, 2 * c, 3, False) + conv_params(2 * c, 2 * c, 3, False) + 2 * bn(2 * c) \
        + conv_params(c, 2 * c, 1, False) + bn(2 * c)  # noqa: E731
    expected = conv_params(3, 16, 3, False) + bn(16) + 3 * same(16) + down(16) + 2 * same(32) + down(32) \
        + 2 * same(64) + 64 * 10 + 10
    assert n == expected == 272474                                   # ResNet-20 with projection shortcuts
    x = np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32)
    assert net.forward(x).shape == (2, 10) == net.output_shape(x.shape)
    assert "3.block.0.weight" in net.state_dict() and "9.shortcut.1.running_var" in net.state_dict()
    plain = resnet(3, 10, width=4, blocks_per_stage=1, p_last=1.0, rng=0)
    assert all(b.survival_prob == 1.0 for b in plain if isinstance(b, nn.Residual))


@pytest.mark.parametrize("build,shape", [(lambda: lenet(1, 10, 28, rng=0), (1, 28, 28)),
                                         (lambda: resnet(3, 10, width=4, blocks_per_stage=2, rng=0), (3, 32, 32))],
                         ids=["lenet", "resnet"])
@pytest.mark.slow     # make test stays under 3 minutes on 2 cores (issue 22.5); make test-slow runs it
def test_model_files_round_trip_bit_for_bit(tmp_path, build, shape):
    rng = np.random.default_rng(1)
    net = build()
    opt = optim.SGD(net, lr=0.01, momentum=0.9)
    loss = losses.SoftmaxLogLikelihood()
    for _ in range(2):                         # trained weights and non-trivial running statistics
        x = rng.random((8,) + shape, dtype=np.float32)
        opt.zero_grad()
        loss.forward(net.forward(x), rng.integers(0, 10, 8))
        net.backward(loss.backward())
        opt.step()
    path = tmp_path / "net.safetensors"
    io.save(net, path)
    back = io.load(path)
    assert back.spec() == net.spec()
    for (k, a), (k2, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and a.tobytes() == b.tobytes(), k
    x = rng.random((5,) + shape, dtype=np.float32)
    net.eval()
    assert net.forward(x).tobytes() == back.forward(x).tobytes()
    assert set(io.network_state(path)) == set(net.state_dict())


def test_a_few_steps_of_training_lower_the_loss():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    X = (rng.random((120, 1, 8, 8)) * 0.5).astype(np.float32)
    X[np.arange(120), 0, 2 * y, 2 * y] += 2.0                    # the class is where the bright pixel is
    net = lenet(1, 3, 8, rng=0)
    trainer = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.05, momentum=0.9),
                      batch_size=20, epochs=6, rng=0)
    trainer.fit(X, y)
    assert trainer.history["loss"][-1] < 0.5 * trainer.history["loss"][0]
    assert (trainer.predict_scores(X).argmax(1) == y).mean() > 0.9
