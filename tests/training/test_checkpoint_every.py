"""``Checkpoint(path, every=k)`` writes after epochs k, 2k, 3k... (counted from 1), never after the others.

Planted bug this catches (``scripts/plant_bugs.py``): training-06, the test ``epoch % every == 0``
(writing after epochs 1, k + 1, ...), which survived every other fast test (they all used every=1).
"""
import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.training import Callback, Checkpoint, Trainer


class Written(Callback):
    """After each epoch, the completed epochs the checkpoint file holds (None: no file yet)."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def on_epoch_end(self, trainer, epoch, record):
        self.seen.append(Trainer.read_checkpoint(self.path)[1]["completed_epochs"] if self.path.exists() else None)


@pytest.mark.parametrize("every,expected", [(1, [1, 2, 3, 4, 5]), (2, [None, 2, 2, 4, 4]), (3, [None, None, 3, 3, 3])])
def test_a_checkpoint_is_written_every_k_epochs(tmp_path, every, expected):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)).astype(np.float32), rng.integers(0, 2, 30)
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    path = tmp_path / "ckpt.npz"
    spy = Written(path)
    Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=10, epochs=5, rng=0,
            callbacks=[Checkpoint(path, every=every), spy]).fit(X, y)
    assert spy.seen == expected
