"""A trainer counts its completed epochs: after ``fit`` it is ``epochs``, a second ``fit`` trains no
more, and ``save_checkpoint`` records that count.

Planted bug this catches (``scripts/plant_bugs.py``): training-16, ``completed_epochs = epoch``
(one short), which survived every other fast test: the checkpoint callback passes its own count.
"""
import numpy as np

from chainrule import losses, nn, optim
from chainrule.training import Trainer


def test_completed_epochs_after_fit_and_in_a_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    t = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1), batch_size=10, epochs=3, rng=0)
    t.fit(X, y)
    assert t.completed_epochs == 3 and t.start_epoch == 3
    weights = net.state_dict()
    assert len(t.fit(X, y)) == 3                                       # nothing left to train
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, weights[k])
    t.save_checkpoint(tmp_path / "c.npz")
    assert Trainer.read_checkpoint(tmp_path / "c.npz")[1]["completed_epochs"] == 3
