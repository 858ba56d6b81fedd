"""Max-norm on convolution weights (issue 19.7: no test trained a CNN under max-norm): every filter
(one output channel: in_channels x kh x kw weights) keeps its norm <= c after every step, through
the optimizer, and through the estimator's penalty='maxnorm'."""
import numpy as np

from chainrule import losses, nn, optim
from chainrule.regularizers import MaxNorm
from chainrule.training import Callback, Trainer

C = 0.3


def _filter_norms(W):
    return np.sqrt((np.asarray(W, np.float64).reshape(W.shape[0], -1) ** 2).sum(axis=1))


class NormsAfterEachStep(Callback):
    def __init__(self, params):
        self.params, self.largest, self.steps = params, [], 0

    def on_batch_end(self, trainer, epoch, batch, loss):
        self.steps += 1
        self.largest.append(max(float(_filter_norms(p.value).max()) for p in self.params))


def test_every_filter_stays_in_the_ball_after_every_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=0), nn.ReLU(), nn.Conv2d(4, 5, 3, rng=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(5 * 4 * 4, 3, rng=2))
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    for p in convs:
        p.constraint = MaxNorm(C)
    assert max(_filter_norms(p.value).max() for p in convs) > 2 * C      # the constraint has work to do
    watch = NormsAfterEachStep(convs)
    Trainer(model, losses.SoftmaxLogLikelihood(), optim.SGD(model, lr=0.5, momentum=0.9), batch_size=8, epochs=2,
            rng=0, callbacks=[watch]).fit(X, y)
    assert watch.steps == 16 and max(watch.largest) <= C * (1 + 1e-6)
    norms = np.concatenate([_filter_norms(p.value) for p in convs])
    assert np.isclose(norms, C, rtol=1e-5).sum() >= 4                   # filters held on the sphere, not shrunk
    assert (norms > 0.2 * C).all()


def test_the_cnn_estimator_under_maxnorm_keeps_every_filter_in_the_ball():
    from chainrule.datasets import load_digits
    from chainrule.models import CNNClassifier
    d = load_digits()
    X = d.X_train[:200, None].astype(np.float32) / 16
    est = CNNClassifier("lenet", penalty="maxnorm", max_norm=C, max_iter=2, batch_size=32, random_state=0,
                        n_threads=1).fit(X, d.y_train[:200])
    convs = [m.weight.value for m in est.model_.modules() if isinstance(m, nn.Conv2d)]
    linears = [m.weight.value for m in est.model_.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 2 and len(linears) == 2
    for W in convs + linears:
        assert _filter_norms(W).max() <= C * (1 + 1e-5)
    assert any(np.isclose(_filter_norms(W), C, rtol=1e-4).any() for W in convs)
